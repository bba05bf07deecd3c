"""The names of the variables the program system supplies for every scored device (variables.py computes them;
docs/scores.md defines them). Kept apart so that saving a rule set never loads polars."""

from __future__ import annotations

VARIABLES = ("AC", "AV", "BR", "CA", "CU", "DE", "DP", "CM", "OO", "IO", "ND")
EXTRA_INPUTS = ("CM", "OO", "IO", "ND")
"""The variables the program system supplies beyond the vendor's (formula.INPUTS)."""
WHOLE_NUMBERS = frozenset(VARIABLES) - {"BR"}
"""The variables that are always whole numbers (for writing them)."""
