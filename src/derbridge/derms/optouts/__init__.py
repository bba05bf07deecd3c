"""Customers' opt-outs of events (F12), and the devices to drop from reservations that they and declared
unavailability (F13) name."""
