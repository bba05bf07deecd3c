"""Benchmarks, each measured against a baseline in the same run (run with `derbridge bench NAME`)."""
