"""Customer unavailability (F13): windows when a device cannot take part in events, versioned, synced to DERMS."""
