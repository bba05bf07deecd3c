"""derbridge: connects a utility's customer-program system with its DERMS."""

__version__ = "0.1.0"
