"""The electrical network model (substations, feeders, transformers, service points) and its exports to the
program system (F1)."""
