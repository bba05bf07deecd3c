"""Device status checks (F6): the program system asks DERMS for a device's latest communication status, for an
enrollment's device setup or an agent troubleshooting a device; the result comes back through the hub."""
