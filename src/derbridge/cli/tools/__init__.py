"""Tools that drive or measure the systems: datasets, CIS extracts, the demo, benchmarks."""
