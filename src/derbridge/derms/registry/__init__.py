"""The device registry: subscriptions and devices from enrollment syncs (F5) and bulk initial syncs, and their
registration with the head ends."""
