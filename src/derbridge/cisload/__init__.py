"""Loading a CIS extract into the running program system and DERMS (`derbridge cis`)."""
