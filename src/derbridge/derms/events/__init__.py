"""Demand-response events as the grid operator plans them: type, program, target, window, zone and stages; their
lifecycle on the shared clock, an optional approval, and what the program system hears of them (F8, F10)."""
