"""Customers' declared unavailability (F13): windows when a device must not be reserved, kept by version."""
