"""Names and kinds in one formula: every name it uses is known, and every operand is of the kind its operator
needs (a number, or a condition that is true or false); division by a zero written out is refused too."""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping, Sequence
from enum import Enum
from typing import assert_never

from derbridge.dacs.scores.syntax import (
    COMPARISONS,
    Binary,
    Call,
    Conditional,
    Factor,
    FormulaError,
    Name,
    Node,
    Number,
    Unary,
    located,
    quoted,
)


class Kind(Enum):
    """What a formula yields; the message text names it."""

    NUMBER = "a number"
    CONDITION = "a condition"


class Scope:
    """The names a formula may use: inputs and earlier rules (with their kinds), the rules that come later (to
    say so rather than 'unknown'), and the lists of factors."""

    def __init__(self, kinds: dict[str, Kind | None], defined_at: dict[str, int],
                 factors: Mapping[str, Sequence[float]]) -> None:
        self.kinds = kinds  # None: the rule defining it has its own error; its uses are not checked further
        self.defined_at = defined_at
        self.factors = factors
        self.current = 0  # the index of the rule being checked


def kind_of(node: Node, text: str, field_name: str, scope: Scope) -> Kind | None:
    """What the formula `text` (parsed as `node`) yields, or FormulaError at its first problem; None when that
    depends on a rule that has an error of its own."""
    return _Checker(text, field_name, scope).kind(node)


class _Checker:
    """Names and kinds of one formula: every name is known, every operand is of the kind its operator needs."""

    def __init__(self, text: str, field_name: str, scope: Scope) -> None:
        self.text = text
        self.field_name = field_name
        self.scope = scope

    def error(self, node: Node, message: str) -> FormulaError:
        return located(self.field_name, self.text, node.at, message)

    def need(self, node: Node, kind: Kind, user: str) -> None:
        found = self.kind(node)
        if found is not None and found is not kind:
            raise self.error(node, f"{user} needs {kind.value}, not {found.value}: {quoted(self.text, node)}")

    def kind(self, node: Node) -> Kind | None:
        match node:
            case Number():
                return Kind.NUMBER
            case Name(name=name):
                return self.name(node, name)
            case Factor(factors=factors, index=index):
                self.factor_list(node, factors)
                self.need(index, Kind.NUMBER, f"the position in {factors}[...]")
                return Kind.NUMBER
            case Unary(op="-", operand=operand):
                self.need(operand, Kind.NUMBER, "'-'")
                return Kind.NUMBER
            case Unary(operand=operand):
                self.need(operand, Kind.CONDITION, "'not'")
                return Kind.CONDITION
            case Binary(op=op, left=left, right=right):
                return self.binary(node, op, left, right)
            case Call(function=function, args=args):
                self.call(function, args)
                return Kind.NUMBER
            case Conditional(condition=condition, then=then, otherwise=otherwise):
                self.need(condition, Kind.CONDITION, "'if'")
                return self.branches(then, otherwise)
        assert_never(node)

    def name(self, node: Node, name: str) -> Kind | None:
        if name in self.scope.kinds:
            return self.scope.kinds[name]
        if name in self.scope.defined_at:
            index = self.scope.defined_at[name]
            if index == self.scope.current:
                raise self.error(node, f"{name!r} cannot be used in its own formula")
            raise self.error(node, f"{name!r} is defined by a later rule (rules.{index}); a formula can use only "
                                   "the inputs and the rules before it")
        if name in self.scope.factors:
            raise self.error(node, f"{name!r} is a list of factors: write {name}[position]")
        raise self.error(node, f"unknown variable {name!r}{_suggestion(name, self.scope.kinds)}")

    def factor_list(self, node: Node, name: str) -> None:
        if name not in self.scope.factors:
            raise self.error(node, f"{name!r} is not a list of factors{_suggestion(name, self.scope.factors)}")

    def binary(self, node: Node, op: str, left: Node, right: Node) -> Kind:
        if op in ("and", "or"):
            self.need(left, Kind.CONDITION, f"'{op}'")
            self.need(right, Kind.CONDITION, f"'{op}'")
            return Kind.CONDITION
        self.need(left, Kind.NUMBER, f"'{op}'")
        self.need(right, Kind.NUMBER, f"'{op}'")
        if op == "/" and _literal(right) == 0:
            raise self.error(node, f"division by zero: {quoted(self.text, node)}")
        return Kind.CONDITION if op in COMPARISONS else Kind.NUMBER

    def branches(self, then: Node, otherwise: Node) -> Kind | None:
        """Both branches of a conditional give numbers, or both give conditions."""
        then_kind, otherwise_kind = self.kind(then), self.kind(otherwise)
        if then_kind is not None and otherwise_kind is not None and then_kind is not otherwise_kind:
            raise self.error(otherwise, f"'then' gives {then_kind.value}, so 'else' must too, not "
                                        f"{otherwise_kind.value}: {quoted(self.text, otherwise)}")
        return then_kind or otherwise_kind

    def call(self, function: str, args: tuple[Node, ...]) -> None:
        if function == "round":
            digits = args[1].value if isinstance(args[1], Number) else None
            if digits is None or not digits.is_integer() or not 0 <= digits <= 10:
                raise self.error(args[1], f"round's digits must be a whole number from 0 to 10, written out: "
                                          f"{quoted(self.text, args[1])}")
            args = args[:1]
        for arg in args:
            self.need(arg, Kind.NUMBER, f"{function}()")


def _literal(node: Node) -> float | None:
    """The value of a number written out, with or without a minus sign; None for anything else."""
    match node:
        case Number(value=value):
            return value
        case Unary(op="-", operand=Number(value=value)):
            return -value
    return None


def _suggestion(name: str, known: Collection[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    return f" (did you mean {close[0]}?)" if close else ""
