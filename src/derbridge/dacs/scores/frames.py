"""A rule set compiled to polars expressions, so that a frame of devices is scored in one query.

Each input column is read as a number (unknown where null, NaN or infinite), then every rule becomes a column
of the same name, then the outputs `score`, `eligible` and `reason`. The rule for unknown values is the one in
evaluate.py, expression for expression. An operand that an expression needs twice (an 'if' condition, the
arguments of min, max and clamp, an eligibility condition) is computed once into an intermediate column whose
name holds '#', so that nesting never multiplies the work; so is a numerator (see `_Compiler.divided`).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import assert_never

import polars as pl

from derbridge.dacs.scores.formula import (
    ELIGIBILITY_UNDEFINED,
    OUTPUT_COLUMNS,
    SCORE,
    SCORE_UNDEFINED,
    RuleSet,
)
from derbridge.dacs.scores.syntax import Binary, Call, Conditional, Factor, Name, Node, Number, Unary
from derbridge.errors import InvalidInput

SCORE_COLUMN, ELIGIBLE_COLUMN, REASON_COLUMN = OUTPUT_COLUMNS
_INFINITIES = [float("inf"), float("-inf")]
_OPERATORS: dict[str, Callable[[pl.Expr, pl.Expr], pl.Expr]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul,
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq, "!=": operator.ne,
    "and": operator.and_, "or": operator.or_}


def to_polars(rule_set: RuleSet) -> list[tuple[str, pl.Expr]]:
    """(column, expression) in the order to add them: each may use the columns before it, so add them one by
    one (as `score_frame` does); names holding '#' are intermediate columns to drop afterwards."""
    compiler = _Compiler(rule_set.factors)
    for name in rule_set.inputs:
        compiler.columns.append((name, _known(pl.col(name))))
    for step in rule_set.steps:
        compiler.owner = step.name
        compiler.columns.append((step.name, compiler.expr(step.formula)))
    compiler.owner = "eligibility"
    checks = [(compiler.shared(check.formula), check.reason) for check in rule_set.checks]
    compiler.columns += [(SCORE_COLUMN, pl.col(SCORE).fill_null(0.0)),
                         (REASON_COLUMN, _reason(checks)),
                         (ELIGIBLE_COLUMN, pl.col(REASON_COLUMN).is_null())]
    return compiler.columns


def score_frame(rule_set: RuleSet, frame: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """`frame` with every rule's column and the outputs added, in one query; it must have a column for each
    of the rule set's inputs (null where unknown)."""
    lazy = frame.lazy()
    present = set(lazy.collect_schema().names())
    missing = [name for name in rule_set.inputs if name not in present]
    if missing:
        raise InvalidInput({f"columns.{name}": "missing: the rules use it (null where it is unknown)"
                            for name in missing})
    columns = to_polars(rule_set)
    for name, expr in columns:
        lazy = lazy.with_columns(expr.alias(name))
    return lazy.drop([name for name, _ in columns if "#" in name]).collect()


def _known(expr: pl.Expr) -> pl.Expr:
    """An input as a number: null where it is null, NaN or infinite."""
    return expr.cast(pl.Float64).fill_nan(None).replace(_INFINITIES, None)


def _finite(expr: pl.Expr) -> pl.Expr:
    """Null where an arithmetic result overflowed."""
    return expr.replace(_INFINITIES, None)


def _reason(checks: list[tuple[pl.Expr, str]]) -> pl.Expr:
    """The first condition that does not hold gives the reason, then an unknown score; null when eligible."""
    clauses = [clause for holds, reason in checks
               for clause in ((holds.is_null(), ELIGIBILITY_UNDEFINED), (holds.not_(), reason))]
    clauses.append((pl.col(SCORE).is_null(), SCORE_UNDEFINED))
    reason = pl.lit(None, dtype=pl.String)
    for when, code in reversed(clauses):
        reason = pl.when(when).then(pl.lit(code)).otherwise(reason)
    return reason


class _Compiler:
    """Builds the expressions of one rule set, adding intermediate columns to `columns` as it needs them."""

    def __init__(self, factors: Mapping[str, tuple[float, ...]]) -> None:
        self.factors = factors
        self.columns: list[tuple[str, pl.Expr]] = []
        self.owner = ""

    def shared(self, node: Node) -> pl.Expr:
        """An expression for `node` that can be used twice: a number or a name as it is, anything else as a
        reference to an intermediate column computed once."""
        expr = self.expr(node)
        return expr if isinstance(node, Number | Name) else self.materialized(expr)

    def materialized(self, expr: pl.Expr) -> pl.Expr:
        """A reference to `expr` computed once into an intermediate column."""
        name = f"{self.owner}#{len(self.columns)}"
        self.columns.append((name, expr))
        return pl.col(name)

    def divided(self, numerator: pl.Expr, divisor: pl.Expr) -> pl.Expr:
        """numerator / divisor, null where the divisor is zero. Polars divides by a value that is the same on
        every row (10, or a rule that is constant) by multiplying with its reciprocal, which can be off in the
        last digit (3 / 10 gives 0.30000000000000004); adding numerator * 0 makes the divisor a column of its
        own without changing it, so that every row divides exactly, as evaluate.py does. `numerator` must be
        a number, a name or a materialized column, as it is used twice."""
        return _finite(numerator / (numerator * 0.0 + divisor).replace(0.0, None))

    def expr(self, node: Node) -> pl.Expr:
        match node:
            case Number(value=value):
                return pl.lit(value, dtype=pl.Float64)
            case Name(name=name):
                return pl.col(name)
            case Factor(factors=name, index=index):
                return _factor(self.factors[name], self.expr(index))
            case Unary(op="-", operand=operand):
                return self.expr(operand).neg()
            case Unary(operand=operand):
                return self.expr(operand).not_()
            case Binary(op="/", left=left, right=right):
                return self.divided(self.shared(left), self.expr(right))
            case Binary(op=op, left=left, right=right) if op in ("+", "-", "*"):
                return _finite(_OPERATORS[op](self.expr(left), self.expr(right)))
            case Binary(op=op, left=left, right=right):
                return _OPERATORS[op](self.expr(left), self.expr(right))
            case Call(function="round", args=(number, Number(value=digits))):
                scale = 10.0 ** int(digits)
                return self.divided(self.materialized(_finite(self.expr(number) * scale).round(0)), pl.lit(scale))
            case Call(function=function, args=args):
                return self.call(function, args)
            case Conditional(condition=condition, then=then, otherwise=otherwise):
                holds = self.shared(condition)
                return pl.when(holds).then(self.expr(then)).when(holds.not_()).then(self.expr(otherwise))
        assert_never(node)

    def call(self, function: str, args: tuple[Node, ...]) -> pl.Expr:
        if function == "abs":
            return self.expr(args[0]).abs()
        numbers = [self.shared(arg) for arg in args]
        all_known = pl.all_horizontal([number.is_not_null() for number in numbers])
        if function == "min":
            return pl.when(all_known).then(pl.min_horizontal(numbers))
        if function == "max":
            return pl.when(all_known).then(pl.max_horizontal(numbers))
        if function == "clamp":
            number, lowest, highest = numbers
            return pl.when(all_known).then(pl.min_horizontal(pl.max_horizontal(number, lowest), highest))
        raise ValueError(f"no function {function!r}")


def _factor(factors: tuple[float, ...], position: pl.Expr) -> pl.Expr:
    """As evaluate.py: from 1, the whole part, the first before it and the last past it."""
    whole = position.clip(1.0, float(len(factors))).floor().cast(pl.Int64)
    return whole.replace_strict(list(range(1, len(factors) + 1)), list(factors), return_dtype=pl.Float64)
