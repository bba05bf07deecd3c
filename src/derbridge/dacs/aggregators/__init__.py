"""Energy aggregators (service providers of type DER aggregator) and their sync to DERMS (F3)."""
