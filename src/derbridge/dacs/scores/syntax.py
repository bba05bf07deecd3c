"""A formula's syntax: the tokenizer, the parser (recursive descent by precedence climbing) and the immutable
tree they build.

This parser is the only reader of a formula's text; nothing of it ever reaches Python's eval, exec, compile or
ast. Every node keeps the span of text it came from, so that an error can say where it is and quote it.

    expression  := "if" expression "then" expression "else" expression | disjunction
    disjunction := conjunction ("or" conjunction)*
    conjunction := negation ("and" negation)*
    negation    := "not" negation | comparison
    comparison  := sum (("<" | "<=" | ">" | ">=" | "==" | "!=") sum)?
    sum         := product (("+" | "-") product)*
    product     := unary (("*" | "/") unary)*
    unary       := "-" unary | primary
    primary     := NUMBER | NAME | NAME "[" expression "]" | FUNCTION "(" expression ("," expression)* ")"
                 | "(" expression ")"

The parser climbs these precedences rather than calling one method per line; it also accepts 'not' where a
number is expected (1 + not AV > 0), which the check of kinds then refuses with a clearer message.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import NamedTuple

from derbridge.errors import InvalidInput

MAX_LENGTH = 2_000
MAX_DEPTH = 100
KEYWORDS = frozenset({"if", "then", "else", "and", "or", "not"})
COMPARISONS = frozenset({"<", "<=", ">", ">=", "==", "!="})
# How tightly each operator binds: a prefix 'not' takes a comparison, a prefix '-' only what follows it.
_BINDING = {"or": 1, "and": 2, **dict.fromkeys(COMPARISONS, 4), "+": 5, "-": 5, "*": 6, "/": 6}
_PREFIX_BINDING = {"not": 3, "-": 7}
# name -> (fewest arguments, most arguments or None for any number, how it is called)
FUNCTIONS: dict[str, tuple[int, int | None, str]] = {
    "min": (2, None, "min(a, b, ...)"),
    "max": (2, None, "max(a, b, ...)"),
    "abs": (1, 1, "abs(x)"),
    "round": (2, 2, "round(x, digits)"),
    "clamp": (3, 3, "clamp(x, lowest, highest)"),
}

_TOKEN = re.compile(r"(?P<number>[0-9]+(?:\.[0-9]+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
                    r"|(?P<op><=|>=|==|!=|[-+*/()\[\]<>,])")
_STRAY_HINTS = {
    "'": "text in quotes is not part of the language",
    '"': "text in quotes is not part of the language",
    ".": "a point belongs only inside a number, such as 0.5",
    "=": "compare with '=='; a rule's name goes in its own field",
    "!": "write 'not' or '!='",
    "&": "write 'and'",
    "|": "write 'or'",
}


class FormulaError(InvalidInput):
    """A formula that cannot be saved: each field's message starts with the line and column of the problem and
    quotes the offending text, so that an API can answer 422 naming both."""


def position(text: str, at: int) -> str:
    """'line L, column C' (both from 1) of offset `at` in `text`."""
    line_start = text.rfind("\n", 0, at) + 1
    return f"line {text.count(chr(10), 0, at) + 1}, column {at - line_start + 1}"


def located(field_name: str, text: str, at: int, message: str) -> FormulaError:
    """The error for one problem at offset `at` of a formula given in `field_name`."""
    return FormulaError({field_name: f"{position(text, at)}: {message}"})


def quoted(text: str, node: Node) -> str:
    """A node's own text in quotes, shortened when long, for error messages."""
    snippet = " ".join(text[node.at:node.end].split())
    return repr(snippet if len(snippet) <= 40 else snippet[:39] + "…")


@dataclass(frozen=True)
class Spanned:
    """Where a node's text starts and ends in its formula; not part of a node's identity."""

    at: int = field(default=0, compare=False, kw_only=True)
    end: int = field(default=0, compare=False, kw_only=True)


@dataclass(frozen=True)
class Number(Spanned):
    value: float


@dataclass(frozen=True)
class Name(Spanned):
    name: str


@dataclass(frozen=True)
class Factor(Spanned):
    """`SN[CU + 1]`: a factor picked from a list of factors by its position (from 1)."""

    factors: str
    index: Node


@dataclass(frozen=True)
class Unary(Spanned):
    op: str  # "-" or "not"
    operand: Node


@dataclass(frozen=True)
class Binary(Spanned):
    op: str  # arithmetic, comparison, "and" or "or"
    left: Node
    right: Node


@dataclass(frozen=True)
class Call(Spanned):
    function: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Conditional(Spanned):
    condition: Node
    then: Node
    otherwise: Node


Node = Number | Name | Factor | Unary | Binary | Call | Conditional


class Token(NamedTuple):
    kind: str  # "number", "name", "end", or the operator or keyword itself
    text: str
    at: int
    end: int


def parse(text: str, field_name: str = "formula") -> Node:
    """The tree of one formula, or FormulaError naming `field_name` and where the formula goes wrong."""
    if not text.strip():
        raise FormulaError({field_name: "the formula is empty"})
    if len(text) > MAX_LENGTH:
        raise located(field_name, text, MAX_LENGTH,
                      f"the formula is {len(text):,} characters long; the most is {MAX_LENGTH:,}")
    parser = _Parser(text, field_name)
    node = parser.expression()
    if parser.token.kind == ")":
        raise parser.error(parser.token.at, "this ')' closes no '('")
    if parser.token.kind != "end":
        raise parser.error(parser.token.at,
                           f"expected an operator or the end of the formula, found {_described(parser.token)}")
    too_deep = _first_too_deep(node)
    if too_deep is not None:
        raise parser.error(too_deep.at, _TOO_DEEP)
    return node


def children(node: Node) -> tuple[Node, ...]:
    """The nodes directly inside `node`."""
    match node:
        case Factor(index=index):
            return (index,)
        case Unary(operand=operand):
            return (operand,)
        case Binary(left=left, right=right):
            return (left, right)
        case Call(args=args):
            return args
        case Conditional(condition=condition, then=then, otherwise=otherwise):
            return (condition, then, otherwise)
        case _:
            return ()


_TOO_DEEP = f"the formula nests more than {MAX_DEPTH} operations inside one another; split it into named rules"


def _first_too_deep(root: Node) -> Node | None:
    """The first node nested deeper than MAX_DEPTH (a long chain such as 1+1+1+... nests too), found without
    recursion so that any tree the parser built can be measured."""
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return node
        stack.extend((child, depth + 1) for child in children(node))
    return None


def _tokens(text: str, field_name: str) -> Iterator[Token]:
    """The tokens of `text`, read on demand so that the parser reports the first problem in reading order."""
    at = 0
    while True:
        while at < len(text) and text[at] in " \t\r\n":
            at += 1
        if at == len(text):
            yield Token("end", "", at, at)
            return
        match = _TOKEN.match(text, at)
        if match is None:
            stray = text[at]
            hint = _STRAY_HINTS.get(stray, "it is not part of the language")
            raise located(field_name, text, at, f"unexpected {stray!r}: {hint}")
        word = match.group()
        kind = match.lastgroup or ""
        if kind == "op" or (kind == "name" and word in KEYWORDS):
            kind = word
        yield Token(kind, word, at, match.end())
        at = match.end()


def _described(token: Token) -> str:
    """A token as an error message names it, with a hint for keywords written in capitals."""
    if token.kind == "end":
        return "the end of the formula"
    if token.kind == "name" and token.text.lower() in KEYWORDS:
        return f"{token.text!r} (keywords are written in lower case: {token.text.lower()!r})"
    return repr(token.text)


class _Parser:
    """Precedence climbing over one formula's tokens: each operand is parsed by `expression(floor)`, which takes
    only the binary operators that bind tighter than `floor`, so a - b - c groups as (a - b) - c."""

    def __init__(self, text: str, field_name: str) -> None:
        self.text = text
        self.field_name = field_name
        self.tokens = _tokens(text, field_name)
        self.token = next(self.tokens)
        self.depth = 0

    def error(self, at: int, message: str) -> FormulaError:
        return located(self.field_name, self.text, at, message)

    def advance(self) -> Token:
        token = self.token
        self.token = next(self.tokens)
        return token

    def expect(self, kind: str, wanted: str) -> Token:
        if self.token.kind != kind:
            raise self.error(self.token.at, f"expected {wanted}, found {_described(self.token)}")
        return self.advance()

    @contextmanager
    def nested(self, at: int) -> Iterator[None]:
        """Guards the parser's own recursion: parentheses, calls, conditionals and prefixes nest."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(at, _TOO_DEEP)
        yield
        self.depth -= 1

    def expression(self, floor: int = 0) -> Node:
        node = self.prefixed(floor)
        while _BINDING.get(self.token.kind, 0) > floor:
            op = self.advance().kind
            right = self.expression(_BINDING[op])
            node = Binary(op, node, right, at=node.at, end=right.end)
            if op in COMPARISONS and self.token.kind in COMPARISONS:
                raise self.error(self.token.at, "comparisons do not chain: write 'a < b and b < c'")
        return node

    def prefixed(self, floor: int) -> Node:
        """An operand that may start with 'if', 'not' or '-'."""
        start = self.token
        if start.kind == "if" and floor > 0:
            raise self.error(start.at, "put 'if ... then ... else ...' in parentheses when it is part of a "
                                       "larger formula")
        if start.kind not in ("if", "not", "-"):
            return self.primary()
        self.advance()
        with self.nested(start.at):
            if start.kind == "if":
                return self.conditional(start)
            operand = self.expression(_PREFIX_BINDING[start.kind])
        return Unary(start.kind, operand, at=start.at, end=operand.end)

    def conditional(self, start: Token) -> Node:
        """`if condition then a else b`; the 'else' part reaches to the end of the formula or its parenthesis."""
        condition = self.expression()
        self.expect("then", "'then'")
        then = self.expression()
        self.expect("else", "'else'")
        otherwise = self.expression()
        return Conditional(condition, then, otherwise, at=start.at, end=otherwise.end)

    def primary(self) -> Node:
        token = self.token
        if token.kind == "number":
            self.advance()
            if not math.isfinite(float(token.text)):
                raise self.error(token.at, f"the number {token.text[:20]}… is too large")
            return Number(float(token.text), at=token.at, end=token.end)
        if token.kind == "name":
            return self.named()
        if token.kind == "(":
            self.advance()
            with self.nested(token.at):
                node = self.expression()
            self.expect(")", f"')' to close the '(' at {position(self.text, token.at)}")
            return node
        raise self.error(token.at, f"expected a number, a name or '(', found {_described(token)}")

    def named(self) -> Node:
        """A variable, a factor from a list (`SN[...]`) or a function call."""
        name = self.advance()
        if self.token.kind == "(":
            return self.call(name)
        if self.token.kind == "[":
            self.advance()
            with self.nested(name.at):
                index = self.expression()
            closing = self.expect("]", f"']' to close {name.text}[")
            return Factor(name.text, index, at=name.at, end=closing.end)
        if name.text in FUNCTIONS:
            raise self.error(name.at, f"{name.text} is a function: write {FUNCTIONS[name.text][2]}")
        return Name(name.text, at=name.at, end=name.end)

    def call(self, name: Token) -> Node:
        if name.text not in FUNCTIONS:
            raise self.error(name.at, f"unknown function {name.text!r} (the functions are "
                                      f"{', '.join(sorted(FUNCTIONS))})")
        opening = self.advance()
        args: list[Node] = []
        with self.nested(opening.at):
            if self.token.kind != ")":
                args.append(self.expression())
            while self.token.kind == ",":
                self.advance()
                args.append(self.expression())
        closing = self.expect(")", f"',' or ')' to close {name.text}(")
        fewest, most, usage = FUNCTIONS[name.text]
        if len(args) < fewest or (most is not None and len(args) > most):
            raise self.error(name.at, f"wrong number of arguments: {usage} takes "
                                      f"{fewest if most == fewest else f'{fewest} or more'}, found {len(args)}")
        return Call(name.text, tuple(args), at=name.at, end=closing.end)
