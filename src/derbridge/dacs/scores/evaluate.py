"""One device's score, step by step: what it would score and why.

The rule for unknown values, the same in frames.py, where a test holds both to it:
- an input that is missing from the data (None), not a number (NaN) or infinite is unknown;
- any operation with an unknown operand is unknown, except that 'false and unknown' is false and 'true or
  unknown' is true; an 'if' whose condition is unknown is unknown;
- dividing by zero, and a result too large for a number (overflow), are unknown;
- an unknown score SC counts as 0 and makes the device ineligible (SCORE_UNDEFINED); an eligibility condition
  that is unknown makes it ineligible too (ELIGIBILITY_UNDEFINED).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import assert_never

from derbridge.dacs.scores.formula import ELIGIBILITY_UNDEFINED, SCORE, SCORE_UNDEFINED, RuleSet
from derbridge.dacs.scores.syntax import Binary, Call, Conditional, Factor, Name, Node, Number, Unary
from derbridge.errors import InvalidInput

Value = float | bool | None  # a number, a condition's truth, or unknown

_ARITHMETIC: dict[str, Callable[[float, float], float]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}
_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq, "!=": operator.ne}


@dataclass(frozen=True)
class Evaluation:
    """`inputs` as the rules saw them (unknown as None), every rule's value in order, the score (0 when
    unknown) and the eligibility with the reason code when not eligible."""

    inputs: dict[str, float | None]
    steps: dict[str, Value]
    score: float
    eligible: bool
    reason: str | None


def evaluate(rule_set: RuleSet, variables: Mapping[str, float | int | None]) -> Evaluation:
    """Scores one device from its variables (the rule set's inputs; None where unknown)."""
    missing = [name for name in rule_set.inputs if name not in variables]
    if missing:
        raise InvalidInput({f"variables.{name}": "missing: the rules use it (give null when it is unknown)"
                            for name in missing})
    inputs = {name: _known(variables[name]) for name in rule_set.inputs}
    values: dict[str, Value] = dict(inputs)
    for step in rule_set.steps:
        values[step.name] = _value(step.formula, values, rule_set.factors)
    reason = _reason(rule_set, values)
    score = values[SCORE]
    return Evaluation(inputs, {step.name: values[step.name] for step in rule_set.steps},
                      0.0 if score is None else float(score), reason is None, reason)


def _reason(rule_set: RuleSet, values: Mapping[str, Value]) -> str | None:
    """The first eligibility condition that does not hold gives the reason; then an unknown score."""
    for check in rule_set.checks:
        holds = _value(check.formula, values, rule_set.factors)
        if holds is None:
            return ELIGIBILITY_UNDEFINED
        if not holds:
            return check.reason
    return SCORE_UNDEFINED if values[SCORE] is None else None


def _known(value: float | int | None) -> float | None:
    """An input as a number, or None when it is unknown, not a number or infinite."""
    if value is None:
        return None
    try:
        number = float(value)
    except OverflowError:  # a whole number beyond any float
        return None
    return number if math.isfinite(number) else None


def _value(node: Node, values: Mapping[str, Value], factors: Mapping[str, tuple[float, ...]]) -> Value:
    def value(inner: Node) -> Value:
        return _value(inner, values, factors)

    match node:
        case Number(value=number):
            return number
        case Name(name=name):
            return values[name]
        case Factor(factors=name, index=index):
            return _factor(factors[name], value(index))
        case Unary(op="-", operand=operand):
            negated = value(operand)
            return None if negated is None else -negated
        case Unary(operand=operand):
            denied = value(operand)
            return None if denied is None else not denied
        case Binary(op="and", left=left, right=right):
            return _and(value(left), value(right))
        case Binary(op="or", left=left, right=right):
            return _or(value(left), value(right))
        case Binary(op=op, left=left, right=right):
            return _binary(op, value(left), value(right))
        case Call(function=function, args=args):
            return _call(function, [value(arg) for arg in args])
        case Conditional(condition=condition, then=then, otherwise=otherwise):
            holds = value(condition)
            if holds is None:
                return None
            return value(then) if holds else value(otherwise)
    assert_never(node)


def _finite(number: float) -> float | None:
    return number if math.isfinite(number) else None


def _binary(op: str, left: Value, right: Value) -> Value:
    if left is None or right is None:
        return None
    if op in _COMPARISONS:
        return _COMPARISONS[op](left, right)
    if op == "/" and right == 0:
        return None
    return _finite(_ARITHMETIC[op](left, right))


def _and(left: Value, right: Value) -> Value:
    if left is False or right is False:
        return False
    return None if left is None or right is None else True


def _or(left: Value, right: Value) -> Value:
    if left is True or right is True:
        return True
    return None if left is None or right is None else False


def _factor(factors: tuple[float, ...], position: Value) -> float | None:
    """Positions count from 1; a fraction counts its whole part; before the first is the first, past the last
    is the last."""
    if position is None:
        return None
    return factors[math.floor(min(max(position, 1.0), float(len(factors)))) - 1]


def _call(function: str, args: list[Value]) -> Value:
    if any(arg is None for arg in args):
        return None
    numbers = [float(arg) for arg in args if arg is not None]
    match function:
        case "min":
            return min(numbers)
        case "max":
            return max(numbers)
        case "abs":
            return abs(numbers[0])
        case "clamp":
            return min(max(numbers[0], numbers[1]), numbers[2])
        case "round":
            return _round(numbers[0], int(numbers[1]))
    raise ValueError(f"no function {function!r}")


def _round(number: float, digits: int) -> float | None:
    """Halves to even (0.5 -> 0, 1.5 -> 2), on the value scaled by 10**digits, as frames.py does."""
    scale = 10.0 ** digits
    scaled = _finite(number * scale)
    return None if scaled is None else float(round(scaled)) / scale
