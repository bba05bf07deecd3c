"""Driving the systems from outside, as their users do: the demo, a small utility's scenario, an aggregator
enrolling devices, a CIS extract loaded, systems run as processes. The demo, end-to-end tests and benchmarks
start here."""
