"""Enrollments (F4 received from DERMS through the hub): validation, device setup with status checks (F6),
activation and the enrollment sync to DERMS (F5), and an agent's actions on them."""
