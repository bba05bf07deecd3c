"""Device scores (F7): the formula language a program's score and eligibility rules are written in.

A rule set is an ordered list of named formulas over the vendor's variables (AC, AV, BR, CA, CU, DE, DP) and
lists of factors (SN[...], BR[...]); the rule named SC is the score, and eligibility conditions give a reason
code when they do not hold. Reading order:

- syntax.py: the tokenizer and parser (never Python's eval) and the immutable tree they build;
- formula.py: `compile_rules`, which checks a rule set when it is saved and names each problem's position;
- evaluate.py: one device's score, every step of it, and why it is or is not eligible;
- frames.py: the same rule set as polars expressions, to score a million devices in one query.

The program system's scoring (F7) on top of it:

- variables.py: every scored device's variables, read in bulk (inputs.py: their names; cycles.py: a program's
  cycle in a time zone);
- default_rules.py: the rule set of programs without one; rule_sets.py: named rule sets, saved and attached;
- runs.py: score runs, daily (schedule.py, which also says where files go) and on demand; score_file.py: the
  score file's layout (version 1);
- explain.py: a rule set tried on one device, and a device's latest score; api.py: the operator's endpoints.

The language, the variables and the default rule set are described for program managers in docs/scores.md.
"""
