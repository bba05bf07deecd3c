"""A rule set: named formulas computed in order, the score SC among them, and the eligibility conditions.

`compile_rules` is what saving a rule set calls: it parses every formula, resolves every name and checks that
numbers and conditions are used where each is expected, and answers with every problem at once (FormulaError,
one message per field, each naming the line and column). A RuleSet that compiled is safe to evaluate for one
device (evaluate.py) or for a frame of devices (frames.py); both follow the same rule for unknown values.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from derbridge.dacs.scores.kinds import Kind, Scope, kind_of
from derbridge.dacs.scores.syntax import (
    FUNCTIONS,
    KEYWORDS,
    FormulaError,
    Name,
    Node,
    children,
    parse,
    position,
    quoted,
)

__all__ = ["Check", "Condition", "FormulaError", "Kind", "Rule", "RuleSet", "Step", "compile_rules", "INPUTS",
           "SCORE", "SCORE_UNDEFINED", "ELIGIBILITY_UNDEFINED", "OUTPUT_COLUMNS"]

INPUTS = ("AC", "AV", "BR", "CA", "CU", "DE", "DP")  # the vendor's per-device variables; SC is the result
SCORE = "SC"
SCORE_UNDEFINED = "SCORE_UNDEFINED"
ELIGIBILITY_UNDEFINED = "ELIGIBILITY_UNDEFINED"
OUTPUT_COLUMNS = ("score", "eligible", "reason")
MAX_RULES = 50
MAX_CONDITIONS = 20
MAX_FACTORS = 100
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,29}")
_REASON = re.compile(r"[A-Z][A-Z0-9_]{0,29}")
_RESERVED = KEYWORDS | set(FUNCTIONS) | set(OUTPUT_COLUMNS)


@dataclass(frozen=True)
class Rule:
    """One named step as written: `name = formula`."""

    name: str
    formula: str


@dataclass(frozen=True)
class Condition:
    """One eligibility condition as written, and the reason code a device gets when it is false."""

    formula: str
    reason: str


@dataclass(frozen=True)
class Step:
    """A rule as checked: its tree and what it yields."""

    name: str
    formula: Node
    kind: Kind


@dataclass(frozen=True)
class Check:
    """An eligibility condition as checked."""

    formula: Node
    reason: str


@dataclass(frozen=True)
class RuleSet:
    """A checked rule set. `inputs` are the per-device variables its formulas use; `factors` are its lists of
    factors (constants of the rule set, the same for every device)."""

    steps: tuple[Step, ...]
    checks: tuple[Check, ...]
    factors: Mapping[str, tuple[float, ...]]
    inputs: tuple[str, ...]


def compile_rules(rules: Sequence[Rule], eligibility: Sequence[Condition] = (), *,
                  factors: Mapping[str, Sequence[float]] | None = None,
                  extra_inputs: Collection[str] = ()) -> RuleSet:
    """The checked rule set, or FormulaError naming every bad field (`rules.N.name`, `rules.N.formula`,
    `eligibility.N.formula`, `eligibility.N.reason`, `factors.NAME`, `extra_inputs.N`).

    The per-device inputs are the vendor's variables (INPUTS) and `extra_inputs`, less any that a rule
    defines: a rule set may compute AV from other inputs instead of being given it."""
    factors = dict(factors or {})
    _check_sizes(rules, eligibility)
    problems = _factor_problems(factors) | _name_problems(rules, extra_inputs) | _reason_problems(eligibility)
    defined = {rule.name for rule in rules}
    scope = Scope({name: Kind.NUMBER for name in (*INPUTS, *extra_inputs) if name not in defined},
                  {rule.name: index for index, rule in reversed(list(enumerate(rules)))}, factors)
    steps = _steps(rules, scope, problems)
    if SCORE not in defined:
        problems.setdefault("rules", f"no rule defines the score {SCORE}")
    checks = _checks(eligibility, scope, problems)
    if problems:
        raise FormulaError(problems)
    used = {node.name for tree in [*(step.formula for step in steps), *(check.formula for check in checks)]
            for node in _walk(tree) if isinstance(node, Name)}
    return RuleSet(tuple(steps), tuple(checks),
                   {name: tuple(float(value) for value in values) for name, values in factors.items()},
                   tuple(sorted(used - defined)))


def _steps(rules: Sequence[Rule], scope: Scope, problems: dict[str, str]) -> list[Step]:
    """Each rule's formula checked against the inputs and the rules before it; the score must be a number."""
    steps = []
    for index, rule in enumerate(rules):
        scope.current = index
        field_name = f"rules.{index}.formula"
        node, kind = _checked(rule.formula, field_name, scope, problems)
        scope.kinds.setdefault(rule.name, kind)
        if node is not None and kind is Kind.CONDITION and rule.name == SCORE:
            problems[field_name] = _at(rule.formula, node, f"the score {SCORE} must be a number, not a condition")
        elif node is not None and kind is not None:
            steps.append(Step(rule.name, node, kind))
    return steps


def _checks(eligibility: Sequence[Condition], scope: Scope, problems: dict[str, str]) -> list[Check]:
    """Each eligibility condition checked against the inputs and all the rules; it must be a condition."""
    checks = []
    for index, condition in enumerate(eligibility):
        field_name = f"eligibility.{index}.formula"
        node, kind = _checked(condition.formula, field_name, scope, problems)
        if node is not None and kind is Kind.NUMBER:
            problems[field_name] = _at(condition.formula, node, "an eligibility condition must be a condition "
                                                                "(such as AV > 0), not a number")
        elif node is not None:
            checks.append(Check(node, condition.reason))
    return checks


def _check_sizes(rules: Sequence[Rule], eligibility: Sequence[Condition]) -> None:
    """Refuses a rule set too large to be worth reading field by field."""
    if len(rules) > MAX_RULES:
        raise FormulaError({"rules": f"{len(rules)} rules; the most is {MAX_RULES}"})
    if len(eligibility) > MAX_CONDITIONS:
        raise FormulaError({"eligibility": f"{len(eligibility)} conditions; the most is {MAX_CONDITIONS}"})


def _name_problems(rules: Sequence[Rule], extra_inputs: Collection[str]) -> dict[str, str]:
    """Rule names and extra inputs that are not names, are reserved words, or are defined twice."""
    problems = {f"extra_inputs.{index}": problem for index, name in enumerate(extra_inputs)
                if (problem := _bad_name(name))}
    first: dict[str, int] = {}
    for index, rule in enumerate(rules):
        problem = _bad_name(rule.name)
        if problem is None and rule.name in first:
            problem = f"{rule.name!r} is already defined by rules.{first[rule.name]}"
        if problem is not None:
            problems[f"rules.{index}.name"] = problem
        first.setdefault(rule.name, index)
    return problems


def _bad_name(name: str) -> str | None:
    if not _NAME.fullmatch(name):
        return f"{name!r} is not a name: letters, digits and '_', not starting with a digit, at most 30"
    if name in _RESERVED:
        return f"{name!r} is a reserved word"
    return None


def _reason_problems(eligibility: Sequence[Condition]) -> dict[str, str]:
    problems = {}
    for index, condition in enumerate(eligibility):
        if not _REASON.fullmatch(condition.reason):
            problems[f"eligibility.{index}.reason"] = (f"{condition.reason!r} is not a reason code: capital letters, "
                                                       "digits and '_', starting with a letter, at most 30")
        elif condition.reason in (SCORE_UNDEFINED, ELIGIBILITY_UNDEFINED):
            problems[f"eligibility.{index}.reason"] = f"{condition.reason} is reserved for unknown values"
    return problems


def _factor_problems(factors: Mapping[str, Sequence[float]]) -> dict[str, str]:
    problems = {}
    for name, values in factors.items():
        if (problem := _bad_name(name)) is not None:
            problems[f"factors.{name}"] = problem
        elif not 1 <= len(values) <= MAX_FACTORS:
            problems[f"factors.{name}"] = f"a list of factors holds 1 to {MAX_FACTORS} numbers, not {len(values)}"
        elif not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in values):
            problems[f"factors.{name}"] = "every factor must be a finite number"
    return problems


def _checked(text: str, field_name: str, scope: Scope, problems: dict[str, str]) -> tuple[Node | None, Kind | None]:
    """The tree and kind of one formula, or its first problem added to `problems`."""
    try:
        node = parse(text, field_name)
        return node, kind_of(node, text, field_name, scope)
    except FormulaError as error:
        problems.update(error.problems)
        return None, None


def _at(text: str, node: Node, message: str) -> str:
    """A message that starts with where `node` is and ends with its text."""
    return f"{position(text, node.at)}: {message}: {quoted(text, node)}"


def _walk(root: Node) -> list[Node]:
    """Every node of a tree, root first."""
    nodes, stack = [], [root]
    while stack:
        node = stack.pop()
        nodes.append(node)
        stack.extend(children(node))
    return nodes
