"""Customers from the CIS: the extract imported in bulk, and what enrollment asks of it."""
