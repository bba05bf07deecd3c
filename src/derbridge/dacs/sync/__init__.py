"""Sync requests: the program system's outbox to the hub (F2, F3, F5), and the acknowledgements that complete
them."""
