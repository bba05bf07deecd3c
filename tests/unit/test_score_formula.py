"""The score formula language (F7): how formulas read, what saving refuses and where, and that one device's
evaluation and a frame's polars query give the same values, the ones the language defines."""

from __future__ import annotations

import pytest

from derbridge.dacs.scores.syntax import (
    MAX_DEPTH,
    Binary,
    Call,
    Conditional,
    Factor,
    FormulaError,
    Name,
    Number,
    Unary,
    parse,
)

AV, CU, CA, DE = Name("AV"), Name("CU"), Name("CA"), Name("DE")


def num(value: float) -> Number:
    return Number(float(value))


# --- reading formulas -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "tree"), [
    pytest.param("1 + 2 * 3", Binary("+", num(1), Binary("*", num(2), num(3))), id="* before +"),
    pytest.param("(1 + 2) * 3", Binary("*", Binary("+", num(1), num(2)), num(3)), id="parentheses first"),
    pytest.param("2 - 3 - 4", Binary("-", Binary("-", num(2), num(3)), num(4)), id="- groups from the left"),
    pytest.param("8 / 4 / 2", Binary("/", Binary("/", num(8), num(4)), num(2)), id="/ groups from the left"),
    pytest.param("-AV * 2", Binary("*", Unary("-", AV), num(2)), id="minus binds tightest"),
    pytest.param("2 * -AV", Binary("*", num(2), Unary("-", AV)), id="minus after an operator"),
    pytest.param("AV - -1", Binary("-", AV, Unary("-", num(1))), id="minus of a minus"),
    pytest.param("0.25 + 10", Binary("+", num(0.25), num(10)), id="decimals and whole numbers"),
    pytest.param("AV\n  *\t2", Binary("*", AV, num(2)), id="spaces, tabs and new lines"),
    pytest.param("CU < CA", Binary("<", CU, CA), id="comparison"),
    pytest.param("AV + 1 >= CU * 2", Binary(">=", Binary("+", AV, num(1)), Binary("*", CU, num(2))),
                 id="arithmetic before comparison"),
    pytest.param("not AV > 0 and CU < CA or DE >= 7",
                 Binary("or", Binary("and", Unary("not", Binary(">", AV, num(0))), Binary("<", CU, CA)),
                        Binary(">=", DE, num(7))), id="not, then and, then or"),
    pytest.param("AV > 0 or CU > 0 and DE > 0",
                 Binary("or", Binary(">", AV, num(0)), Binary("and", Binary(">", CU, num(0)), Binary(">", DE, num(0)))),
                 id="and before or"),
    pytest.param("if CU < CA then AV else 0 + 1", Conditional(Binary("<", CU, CA), AV, Binary("+", num(0), num(1))),
                 id="else reaches to the end"),
    pytest.param("(if DE < 2 then 0.5 else 1) * AV",
                 Binary("*", Conditional(Binary("<", DE, num(2)), num(0.5), num(1)), AV),
                 id="conditional in parentheses"),
    pytest.param("if AV > 0 then if CU > 0 then 1 else 2 else 3",
                 Conditional(Binary(">", AV, num(0)), Conditional(Binary(">", CU, num(0)), num(1), num(2)), num(3)),
                 id="conditional inside a conditional"),
    pytest.param("min(AV, 1, CU / 2)", Call("min", (AV, num(1), Binary("/", CU, num(2)))), id="function"),
    pytest.param("round(AV * 100, 2)", Call("round", (Binary("*", AV, num(100)), num(2))), id="round"),
    pytest.param("clamp(AV, 0, 1)", Call("clamp", (AV, num(0), num(1))), id="clamp"),
    pytest.param("SN[CU + 1] * AV", Binary("*", Factor("SN", Binary("+", CU, num(1))), AV), id="factor by position"),
])
def test_formulas_read_with_the_usual_precedence(text: str, tree: object) -> None:
    assert parse(text) == tree


def test_every_node_keeps_the_span_of_its_text() -> None:
    tree = parse("AV +\n  SN[CU + 1]")
    assert isinstance(tree, Binary)
    assert (tree.at, tree.end) == (0, 17)
    assert (tree.right.at, tree.right.end) == (7, 17)


@pytest.mark.parametrize(("text", "problem"), [
    pytest.param("__import__('os')", "line 1, column 1: unknown function '__import__' (the functions are abs, "
                                     "clamp, max, min, round)", id="import"),
    pytest.param("AV.real", "line 1, column 3: unexpected '.': a point belongs only inside a number, such as 0.5",
                 id="attribute"),
    pytest.param("'SC'", "line 1, column 1: unexpected \"'\": text in quotes is not part of the language", id="text"),
    pytest.param("lambda x: x", "line 1, column 8: expected an operator or the end of the formula, found 'x'",
                 id="lambda"),
    pytest.param("AV; 1", "line 1, column 3: unexpected ';': it is not part of the language", id="statement"),
    pytest.param("AV ** 2", "line 1, column 5: expected a number, a name or '(', found '*'", id="power"),
    pytest.param("AV = 1", "line 1, column 4: unexpected '=': compare with '=='; a rule's name goes in its own field",
                 id="assignment"),
    pytest.param("(1 + 2", "line 1, column 7: expected ')' to close the '(' at line 1, column 1, found the end of "
                           "the formula", id="unclosed parenthesis"),
    pytest.param("1 + 2)", "line 1, column 6: this ')' closes no '('", id="unopened parenthesis"),
    pytest.param("1 2", "line 1, column 3: expected an operator or the end of the formula, found '2'",
                 id="trailing garbage"),
    pytest.param("AV +", "line 1, column 5: expected a number, a name or '(', found the end of the formula",
                 id="missing operand"),
    pytest.param("AV AND CU > 1", "line 1, column 4: expected an operator or the end of the formula, found 'AND' "
                                  "(keywords are written in lower case: 'and')", id="keyword in capitals"),
    pytest.param("1 < AV < 2", "line 1, column 8: comparisons do not chain: write 'a < b and b < c'",
                 id="chained comparison"),
    pytest.param("1 + if AV > 1 then 1 else 2", "line 1, column 5: put 'if ... then ... else ...' in parentheses "
                                                "when it is part of a larger formula", id="bare conditional"),
    pytest.param("if AV > 1 then 1", "line 1, column 17: expected 'else', found the end of the formula",
                 id="conditional without else"),
    pytest.param("round(AV)", "line 1, column 1: wrong number of arguments: round(x, digits) takes 2, found 1",
                 id="too few arguments"),
    pytest.param("min(AV)", "line 1, column 1: wrong number of arguments: min(a, b, ...) takes 2 or more, found 1",
                 id="too few for min"),
    pytest.param("abs(AV, CU)", "line 1, column 1: wrong number of arguments: abs(x) takes 1, found 2",
                 id="too many arguments"),
    pytest.param("min(AV, )", "line 1, column 9: expected a number, a name or '(', found ')'", id="trailing comma"),
    pytest.param("max + 1", "line 1, column 1: max is a function: write max(a, b, ...)", id="function as value"),
    pytest.param("SN[CU", "line 1, column 6: expected ']' to close SN[, found the end of the formula",
                 id="unclosed factor"),
    pytest.param("AV +\n  CU )", "line 2, column 6: this ')' closes no '('", id="second line"),
    pytest.param("   ", "the formula is empty", id="empty"),
])
def test_a_formula_that_does_not_read_is_refused_where_it_goes_wrong(text: str, problem: str) -> None:
    with pytest.raises(FormulaError) as refused:
        parse(text)
    assert refused.value.problems == {"formula": problem}


def test_a_formula_is_at_most_2000_characters() -> None:
    longest = "AV" + " " * 1995 + "+ 1"
    assert parse(longest) == Binary("+", AV, num(1))
    with pytest.raises(FormulaError) as refused:
        parse(longest + " ")
    assert refused.value.problems == {
        "formula": "line 1, column 2001: the formula is 2,001 characters long; the most is 2,000"}


@pytest.mark.parametrize("text", [
    pytest.param("(" * (MAX_DEPTH + 1) + "AV" + ")" * (MAX_DEPTH + 1), id="parentheses"),
    pytest.param("-" * (MAX_DEPTH + 1) + "AV", id="minus signs"),
    pytest.param("not " * (MAX_DEPTH + 1) + "AV > 0", id="not"),
    pytest.param("+".join(["AV"] * (MAX_DEPTH + 2)), id="a long chain"),
    pytest.param("min(" * (MAX_DEPTH + 1) + "AV" + ", 1)" * (MAX_DEPTH + 1), id="calls"),
])
def test_nesting_is_limited(text: str) -> None:
    with pytest.raises(FormulaError, match=f"nests more than {MAX_DEPTH} operations inside one another"):
        parse(text)


def test_nesting_up_to_the_limit_reads() -> None:
    assert parse("(" * (MAX_DEPTH - 1) + "AV" + ")" * (MAX_DEPTH - 1)) == AV
