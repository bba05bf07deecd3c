"""Realistic synthetic utility data (CIS extract, network, aggregator fleets) for demos and benchmarks."""
