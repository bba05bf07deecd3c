"""The score formula language (F7): how formulas read, what saving refuses and where, and that one device's
evaluation and a frame's polars query give the same values, the ones the language defines."""

from __future__ import annotations

import pytest

from derbridge.dacs.scores.formula import INPUTS, Condition, Kind, Rule, compile_rules
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


def refusal(rules: list[Rule], eligibility: tuple[Condition, ...] = (),
            factors: dict[str, list[float]] | None = None) -> dict[str, str]:
    """The problems saving this rule set is refused with."""
    with pytest.raises(FormulaError) as refused:
        compile_rules(rules, eligibility, factors=factors)
    return refused.value.problems


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


# --- saving a rule set -------------------------------------------------------------------------------------------

def test_a_rule_set_compiles_to_its_steps_checks_factors_and_the_inputs_it_uses() -> None:
    rules = [Rule("REST", "min(DE / DP, 1)"), Rule("FRESH", "DE < 2"), Rule("SC", "SN[CU + 1] * REST")]
    rule_set = compile_rules(rules, [Condition("CU < CA", "CAP_REACHED")], factors={"SN": [1, 0.5]})
    assert [(step.name, step.formula, step.kind) for step in rule_set.steps] == [
        ("REST", Call("min", (Binary("/", DE, Name("DP")), num(1))), Kind.NUMBER),
        ("FRESH", Binary("<", DE, num(2)), Kind.CONDITION),
        ("SC", Binary("*", Factor("SN", Binary("+", CU, num(1))), Name("REST")), Kind.NUMBER)]
    assert [(check.formula, check.reason) for check in rule_set.checks] == [(Binary("<", CU, CA), "CAP_REACHED")]
    assert rule_set.factors == {"SN": (1.0, 0.5)}
    assert rule_set.inputs == ("CA", "CU", "DE", "DP")


@pytest.mark.parametrize(("formula", "problem"), [
    pytest.param("AV * SN[1] + CUU", "line 1, column 14: unknown variable 'CUU' (did you mean CU?)",
                 id="unknown variable"),
    pytest.param("AV +\n  FOO", "line 2, column 3: unknown variable 'FOO'", id="on the second line"),
    pytest.param("LATER * 2", "line 1, column 1: 'LATER' is defined by a later rule (rules.1); a formula can use only "
                              "the inputs and the rules before it", id="used before it is defined"),
    pytest.param("SC + 1", "line 1, column 1: 'SC' cannot be used in its own formula", id="itself"),
    pytest.param("CU / 0", "line 1, column 1: division by zero: 'CU / 0'", id="division by zero"),
    pytest.param("CU / -0.0", "line 1, column 1: division by zero: 'CU / -0.0'", id="division by minus zero"),
    pytest.param("AV + (CU > 1)", "line 1, column 7: '+' needs a number, not a condition: 'CU > 1'",
                 id="condition for a number"),
    pytest.param("if AV then 1 else 2", "line 1, column 4: 'if' needs a condition, not a number: 'AV'",
                 id="number for a condition"),
    pytest.param("if AV > 0 then 1 else AV > 0", "line 1, column 23: 'then' gives a number, so 'else' must too, "
                                                 "not a condition: 'AV > 0'", id="branches of two kinds"),
    pytest.param("(AV and CU > 1) * 2", "line 1, column 2: 'and' needs a condition, not a number: 'AV'",
                 id="and of a number"),
    pytest.param("1 + not AV > 1", "line 1, column 5: '+' needs a number, not a condition: 'not AV > 1'",
                 id="not inside arithmetic"),
    pytest.param("min(AV, CU < 1)", "line 1, column 9: min() needs a number, not a condition: 'CU < 1'",
                 id="condition as an argument"),
    pytest.param("SN[CU > 1]", "line 1, column 4: the position in SN[...] needs a number, not a condition: 'CU > 1'",
                 id="condition as a position"),
    pytest.param("SN + 1", "line 1, column 1: 'SN' is a list of factors: write SN[position]", id="list without [ ]"),
    pytest.param("CU[1]", "line 1, column 1: 'CU' is not a list of factors", id="[ ] on a variable"),
    pytest.param("SNN[1]", "line 1, column 1: 'SNN' is not a list of factors (did you mean SN?)",
                 id="unknown list"),
    pytest.param("round(AV, CU)", "line 1, column 11: round's digits must be a whole number from 0 to 10, written "
                                  "out: 'CU'", id="round to a variable"),
    pytest.param("round(AV, 11)", "line 1, column 11: round's digits must be a whole number from 0 to 10, written "
                                  "out: '11'", id="round too far"),
    pytest.param("AV > 1", "line 1, column 1: the score SC must be a number, not a condition: 'AV > 1'",
                 id="score as a condition"),
])
def test_a_formula_that_cannot_be_computed_is_refused_at_its_position(formula: str, problem: str) -> None:
    assert refusal([Rule("SC", formula), Rule("LATER", "1")], factors={"SN": [1]}) == {"rules.0.formula": problem}


def test_the_refusal_is_invalid_input_answered_422_naming_the_field_and_position() -> None:
    from derbridge.web.problems import problem_of

    with pytest.raises(FormulaError) as refused:
        compile_rules([Rule("AV", "1"), Rule("SC", "AV + CUU")])
    problem = problem_of(refused.value)
    assert problem.status == 422
    assert problem.errors == [{"field": "rules.1.formula", "type": "invalid_input",
                               "message": "line 1, column 6: unknown variable 'CUU' (did you mean CU?)"}]


def test_every_bad_field_is_named_at_once() -> None:
    rules = [Rule("AV", "1 +"), Rule("AV", "2"), Rule("if", "3"), Rule("2X", "4"), Rule("SC", "CU * 2")]
    eligibility = (Condition("CU < CA", "cap"), Condition("DE > 1", "SCORE_UNDEFINED"), Condition("CU * 2", "DOUBLE"))
    assert refusal(rules, eligibility) == {
        "rules.0.formula": "line 1, column 4: expected a number, a name or '(', found the end of the formula",
        "rules.1.name": "'AV' is already defined by rules.0",
        "rules.2.name": "'if' is a reserved word",
        "rules.3.name": "'2X' is not a name: letters, digits and '_', not starting with a digit, at most 30",
        "eligibility.0.reason": "'cap' is not a reason code: capital letters, digits and '_', starting with a "
                                "letter, at most 30",
        "eligibility.1.reason": "SCORE_UNDEFINED is reserved for unknown values",
        "eligibility.2.formula": "line 1, column 1: an eligibility condition must be a condition (such as AV > 0), "
                                 "not a number: 'CU * 2'",
    }


def test_a_rule_that_failed_is_not_blamed_again_where_it_is_used() -> None:
    assert refusal([Rule("RATE", "CU / CAA"), Rule("SC", "RATE * 2")], (Condition("RATE", "NO_RATE"),)) == {
        "rules.0.formula": "line 1, column 6: unknown variable 'CAA' (did you mean CA?)"}


def test_a_rule_set_must_define_the_score() -> None:
    assert refusal([Rule("X", "1")]) == {"rules": "no rule defines the score SC"}


@pytest.mark.parametrize(("factors", "problem"), [
    pytest.param({"SN": []}, "a list of factors holds 1 to 100 numbers, not 0", id="empty"),
    pytest.param({"SN": [1.0] * 101}, "a list of factors holds 1 to 100 numbers, not 101", id="too long"),
    pytest.param({"SN": [1.0, float("nan")]}, "every factor must be a finite number", id="not a number"),
])
def test_lists_of_factors_hold_finite_numbers(factors: dict[str, list[float]], problem: str) -> None:
    assert refusal([Rule("SC", "1")], factors=factors) == {"factors.SN": problem}


def test_a_rule_set_may_compute_a_vendor_variable_from_inputs_of_its_own() -> None:
    rule_set = compile_rules([Rule("AV", "1 - UNAVAILABLE_DAYS / DP"), Rule("SC", "AV * 10")],
                             extra_inputs=["UNAVAILABLE_DAYS"])
    assert rule_set.inputs == ("DP", "UNAVAILABLE_DAYS")
    assert refusal([Rule("SC", "AV * 10"), Rule("AV", "1")]) == {
        "rules.0.formula": "line 1, column 1: 'AV' is defined by a later rule (rules.1); a formula can use only the "
                           "inputs and the rules before it"}


def test_the_vendor_variables_are_the_inputs_unless_declared_otherwise() -> None:
    assert INPUTS == ("AC", "AV", "BR", "CA", "CU", "DE", "DP")
    assert refusal([Rule("SC", "TEMP")]) == {"rules.0.formula": "line 1, column 1: unknown variable 'TEMP'"}
    assert compile_rules([Rule("SC", "TEMP")], extra_inputs=["TEMP"]).inputs == ("TEMP",)


def test_the_size_of_a_rule_set_is_limited() -> None:
    assert refusal([Rule(f"X{index}", "1") for index in range(51)]) == {"rules": "51 rules; the most is 50"}
