"""Synthetic but realistic utility data (CIS extract, network model, aggregator fleets) for demos and benchmarks."""
