"""Event outcomes (F11): each device's outcome of a DERMS event, applied to its event participation."""
