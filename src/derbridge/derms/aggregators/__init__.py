"""Energy aggregators as the program system sends them (F3)."""
