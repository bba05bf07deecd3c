"""Device scores (F7): the formula language a program's score and eligibility rules are written in.

A rule set is an ordered list of named formulas over the vendor's variables (AC, AV, BR, CA, CU, DE, DP) and
lists of factors (SN[...], BR[...]); the rule named SC is the score, and eligibility conditions give a reason
code when they do not hold. Reading order:

- syntax.py: the tokenizer and parser (never Python's eval) and the immutable tree they build;
- formula.py: `compile_rules`, which checks a rule set when it is saved and names each problem's position;
- evaluate.py: one device's score, every step of it, and why it is or is not eligible;
- frames.py: the same rule set as polars expressions, to score a million devices in one query.

The language is described for program managers in docs/scores.md.
"""
