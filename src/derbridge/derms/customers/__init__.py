"""Customers' contact and location from the CIS, which an enrollment sync is checked against."""
