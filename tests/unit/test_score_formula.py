"""The score formula language (F7): how formulas read, what saving refuses and where, and that one device's
evaluation and a frame's polars query give the same values, the ones the language defines."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from derbridge.dacs.scores.evaluate import Value, evaluate
from derbridge.dacs.scores.formula import INPUTS, Condition, Kind, Rule, RuleSet, compile_rules
from derbridge.dacs.scores.frames import score_frame, to_polars
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
from derbridge.errors import InvalidInput

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
    pytest.param("AV * " + "9" * 400, "line 1, column 6: the number 99999999999999999999… is too large",
                 id="number too large"),
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


# --- what a rule set computes, for one device and for a frame -----------------------------------------------------

def both(rule_set: RuleSet, devices: list[dict[str, float | None]]) -> list[tuple[dict[str, Value], float, bool,
                                                                                 str | None]]:
    """Each device's steps, score, eligibility and reason, as evaluate gives them; the polars query must give
    exactly the same."""
    names = sorted({name for device in devices for name in device})
    frame = score_frame(rule_set, pl.DataFrame(devices, schema=dict.fromkeys(names, pl.Float64)))
    results = []
    for device, row in zip(devices, frame.iter_rows(named=True), strict=True):
        one = evaluate(rule_set, device)
        assert (one.steps, one.score, one.eligible, one.reason) == (
            {step.name: row[step.name] for step in rule_set.steps}, row["score"], row["eligible"], row["reason"])
        results.append((one.steps, one.score, one.eligible, one.reason))
    return results


def value_of(formula: str, **variables: float | None) -> Value:
    rule_set = compile_rules([Rule("X", formula), Rule("SC", "0")], factors={"SN": [1.0, 0.8, 0.5]})
    [(steps, _, _, _)] = both(rule_set, [{name: variables.get(name) for name in INPUTS}])
    return steps["X"]


@pytest.mark.parametrize(("formula", "variables", "value"), [
    pytest.param("2 + 3 * 4", {}, 14.0, id="precedence"),
    pytest.param("1 - 2 - 3", {}, -4.0, id="from the left"),
    pytest.param("CU / CA", {"CU": 1, "CA": 4}, 0.25, id="division"),
    pytest.param("-AV * 2", {"AV": 0.5}, -1.0, id="minus"),
    pytest.param("CU / CA", {"CU": 1, "CA": 0}, None, id="division by zero is unknown"),
    pytest.param("AV * 2", {"AV": None}, None, id="unknown input"),
    pytest.param("AV * 2", {"AV": float("nan")}, None, id="NaN input is unknown"),
    pytest.param("AV * 2", {"AV": float("inf")}, None, id="infinite input is unknown"),
    pytest.param("AV * AV", {"AV": 1e200}, None, id="overflow is unknown"),
    pytest.param("AV > 0 or CU > 0", {"AV": None, "CU": 1}, True, id="true or unknown"),
    pytest.param("AV > 0 and CU > 0", {"AV": None, "CU": 0}, False, id="false and unknown"),
    pytest.param("AV > 0 and CU > 0", {"AV": None, "CU": 1}, None, id="true and unknown"),
    pytest.param("not AV > 0", {"AV": None}, None, id="not unknown"),
    pytest.param("if AV > 0 then 1 else 2", {"AV": None}, None, id="if unknown"),
    pytest.param("if AV > 0 then 1 else CU / CA", {"AV": 1, "CU": 1, "CA": 0}, 1.0, id="the branch not taken"),
    pytest.param("min(AV, 1)", {"AV": None}, None, id="min of unknown"),
    pytest.param("max(AV, CU, 0.5)", {"AV": 0.2, "CU": 0.1}, 0.5, id="max"),
    pytest.param("abs(AV)", {"AV": -0.5}, 0.5, id="abs"),
    pytest.param("clamp(AV, 0, 1)", {"AV": 1.7}, 1.0, id="clamp above"),
    pytest.param("clamp(AV, 0, 1)", {"AV": -3}, 0.0, id="clamp below"),
    pytest.param("round(AV, 0)", {"AV": 0.5}, 0.0, id="half to even, down"),
    pytest.param("round(AV, 0)", {"AV": 1.5}, 2.0, id="half to even, up"),
    pytest.param("round(AV, 2)", {"AV": 1.23456}, 1.23, id="round to digits"),
    pytest.param("SN[CU + 1]", {"CU": 0}, 1.0, id="first factor"),
    pytest.param("SN[CU + 1]", {"CU": 1}, 0.8, id="second factor"),
    pytest.param("SN[CU + 1]", {"CU": 7}, 0.5, id="past the end, the last"),
    pytest.param("SN[CU + 1]", {"CU": -3}, 1.0, id="below 1, the first"),
    pytest.param("SN[CU + 1]", {"CU": 1.9}, 0.8, id="the whole part of a fraction"),
    pytest.param("SN[CU + 1]", {"CU": None}, None, id="unknown position"),
])
def test_one_device_and_the_frame_compute_the_same_defined_value(formula: str, variables: dict[str, float | None],
                                                                 value: Value) -> None:
    assert value_of(formula, **variables) == value


DEFAULT_RULES = [  # the worked rule of docs/scores.md
    Rule("HEADROOM", "clamp(1 - CU / CA, 0, 1)"),
    Rule("REST", "min(DE / DP, 1)"),
    Rule("FATIGUE", "if DE < 2 then 0.5 else 1"),
    Rule("SC", "round(100 * AV * SN[CU + 1] * FATIGUE * (0.6 * HEADROOM + 0.4 * REST), 2)"),
]
DEFAULT_ELIGIBILITY = [Condition("AV > 0", "UNAVAILABLE"), Condition("CU < CA", "CAP_REACHED")]
DEFAULT_FACTORS = {"SN": [1.0, 0.8, 0.6, 0.4]}


def test_the_worked_rule_of_the_documentation_scores_as_the_page_says() -> None:
    rule_set = compile_rules(DEFAULT_RULES, DEFAULT_ELIGIBILITY, factors=DEFAULT_FACTORS)
    devices: list[dict[str, float | None]] = [
        {"AV": 1.0, "CU": 0, "CA": 4, "DE": 10, "DP": 30},
        {"AV": 0.5, "CU": 2, "CA": 4, "DE": 1, "DP": 30},
        {"AV": 1.0, "CU": 4, "CA": 4, "DE": 3, "DP": 30},
        {"AV": 0.0, "CU": 0, "CA": 4, "DE": 40, "DP": 30},
        {"AV": 1.0, "CU": 1, "CA": 0, "DE": 5, "DP": 30},
        {"AV": None, "CU": 1, "CA": 4, "DE": 5, "DP": 30},
        {"AV": 1.0, "CU": 1, "CA": 4, "DE": 5, "DP": 0},
    ]
    assert both(rule_set, devices) == [
        ({"HEADROOM": 1.0, "REST": 10 / 30, "FATIGUE": 1.0, "SC": 73.33}, 73.33, True, None),
        ({"HEADROOM": 0.5, "REST": 1 / 30, "FATIGUE": 0.5, "SC": 4.7}, 4.7, True, None),
        ({"HEADROOM": 0.0, "REST": 0.1, "FATIGUE": 1.0, "SC": 1.6}, 1.6, False, "CAP_REACHED"),
        ({"HEADROOM": 1.0, "REST": 1.0, "FATIGUE": 1.0, "SC": 0.0}, 0.0, False, "UNAVAILABLE"),
        ({"HEADROOM": None, "REST": 5 / 30, "FATIGUE": 1.0, "SC": None}, 0.0, False, "CAP_REACHED"),
        ({"HEADROOM": 0.75, "REST": 5 / 30, "FATIGUE": 1.0, "SC": None}, 0.0, False, "ELIGIBILITY_UNDEFINED"),
        ({"HEADROOM": 0.75, "REST": None, "FATIGUE": 1.0, "SC": None}, 0.0, False, "SCORE_UNDEFINED"),
    ]


def test_the_first_condition_that_does_not_hold_gives_the_reason() -> None:
    rule_set = compile_rules([Rule("SC", "AV")], [Condition("AV > 0.5", "LOW"), Condition("AV > 0.2", "VERY_LOW")])
    assert [reason for *_, reason in both(rule_set, [{"AV": 0.9}, {"AV": 0.4}, {"AV": 0.1}])] == [
        None, "LOW", "LOW"]


def test_a_whole_number_too_large_for_a_number_is_unknown() -> None:
    assert evaluate(compile_rules([Rule("SC", "AV * 2")]), {"AV": 10 ** 400}).steps == {"SC": None}


def test_evaluating_one_device_needs_every_input_the_rules_use() -> None:
    rule_set = compile_rules(DEFAULT_RULES, factors=DEFAULT_FACTORS)
    with pytest.raises(InvalidInput) as refused:
        evaluate(rule_set, {"AV": 1, "CU": 0, "CA": None})
    assert refused.value.problems == {
        "variables.DE": "missing: the rules use it (give null when it is unknown)",
        "variables.DP": "missing: the rules use it (give null when it is unknown)"}


def test_whole_numbers_in_a_frame_are_read_as_numbers() -> None:
    rule_set = compile_rules([Rule("SC", "CU / CA")])
    devices = pl.DataFrame({"CU": [1, 2], "CA": [3, None]}, schema={"CU": pl.Int64, "CA": pl.Int32})
    frame = score_frame(rule_set, devices)
    assert frame["score"].to_list() == [1 / 3, 0.0]
    assert frame["reason"].to_list() == [None, "SCORE_UNDEFINED"]


def test_scoring_a_frame_needs_a_column_for_every_input_the_rules_use() -> None:
    rule_set = compile_rules(DEFAULT_RULES, factors=DEFAULT_FACTORS)
    with pytest.raises(InvalidInput) as refused:
        score_frame(rule_set, pl.DataFrame({"AV": [1.0], "CU": [0], "CA": [4], "DE": [3]}))
    assert refused.value.problems == {"columns.DP": "missing: the rules use it (null where it is unknown)"}


def test_the_polars_columns_come_in_the_order_to_add_them() -> None:
    rule_set = compile_rules(DEFAULT_RULES, DEFAULT_ELIGIBILITY, factors=DEFAULT_FACTORS)
    assert [name for name, _ in to_polars(rule_set) if "#" not in name] == [
        "AV", "CA", "CU", "DE", "DP", "HEADROOM", "REST", "FATIGUE", "SC", "score", "reason", "eligible"]


def test_deep_nesting_of_operands_used_twice_is_computed_once() -> None:
    # An 'if' needs its condition twice and min its operands; copied instead of shared, 30 levels of them would
    # be 2**30 copies.
    formula = "AV"
    for _ in range(30):
        formula = f"min(if {formula} > 0 then AV else -AV, 2)"
    rule_set = compile_rules([Rule("SC", formula)])
    assert [score for _, score, _, _ in both(rule_set, [{"AV": 0.5}, {"AV": -1.0}, {"AV": None}])] == [0.5, -1.0, 0.0]


# --- properties: random formulas, the same values in Python, in polars and by definition ----------------------------

VARIABLES = ("AV", "CU", "CA", "DE")
FACTORS = (1.0, 0.75, 0.5)
Inputs = Mapping[str, float | None]
# How tightly a generated formula binds, to know when it needs parentheses as an operand.
CONDITIONAL, OR, AND, NOT, COMPARISON, SUM, PRODUCT, PREFIX, ATOM = range(9)


@dataclass(frozen=True)
class Written:
    """A generated formula: its text, how tightly it binds, whether it is a zero written out (which saving
    refuses as a divisor), and its value by the language's definition, computed here independently of both
    evaluators."""

    text: str
    binding: int
    value: Callable[[Inputs], Value]
    zero: bool = False


def operand(formula: Written, floor: int) -> str:
    return formula.text if formula.binding >= floor else f"({formula.text})"


def finite(number: float) -> float | None:
    return number if math.isfinite(number) else None


def literal(text: str) -> Written:
    return Written(text, ATOM, lambda _: float(text), zero=float(text) == 0)


def variable(name: str) -> Written:
    return Written(name, ATOM, lambda inputs: inputs[name])


ARITHMETIC = {"+": (SUM, operator.add), "-": (SUM, operator.sub), "*": (PRODUCT, operator.mul),
              "/": (PRODUCT, operator.truediv)}


def arithmetic(op: str, left: Written, right: Written) -> Written:
    if op == "/" and right.zero:
        op = "*"  # saving refuses a division by a zero written out
    binding, function = ARITHMETIC[op]

    def value(inputs: Inputs) -> Value:
        a, b = left.value(inputs), right.value(inputs)
        if a is None or b is None or (op == "/" and b == 0):
            return None
        return finite(function(a, b))
    return Written(f"{operand(left, binding)} {op} {operand(right, binding + 1)}", binding, value)


def negated(inner: Written) -> Written:
    def value(inputs: Inputs) -> Value:
        number = inner.value(inputs)
        return None if number is None else -number
    return Written(f"-{operand(inner, PREFIX)}", PREFIX, value, zero=inner.zero)


def function(name: str, args: list[Written]) -> Written:
    known: dict[str, Callable[..., float]] = {
        "min": min, "max": max, "abs": abs, "clamp": lambda x, lowest, highest: min(max(x, lowest), highest)}

    def value(inputs: Inputs) -> Value:
        numbers = [arg.value(inputs) for arg in args]
        return None if None in numbers else known[name](*numbers)
    return Written(f"{name}({', '.join(arg.text for arg in args)})", ATOM, value)


def rounded(inner: Written, digits: int) -> Written:
    def value(inputs: Inputs) -> Value:
        number = inner.value(inputs)
        scaled = None if number is None else finite(number * 10.0 ** digits)
        if scaled is None:
            return None
        return float(Decimal(scaled).to_integral_value(rounding=ROUND_HALF_EVEN)) / 10.0 ** digits
    return Written(f"round({inner.text}, {digits})", ATOM, value)


def factor(position: Written) -> Written:
    def value(inputs: Inputs) -> Value:
        number = position.value(inputs)
        if number is None:
            return None
        return FACTORS[max(0, min(len(FACTORS) - 1, math.floor(number) - 1))]
    return Written(f"SN[{position.text}]", ATOM, value)


def conditional(condition: Written, then: Written, otherwise: Written) -> Written:
    def value(inputs: Inputs) -> Value:
        holds = condition.value(inputs)
        if holds is None:
            return None
        return then.value(inputs) if holds else otherwise.value(inputs)
    return Written(f"if {condition.text} then {then.text} else {otherwise.text}", CONDITIONAL, value)


COMPARE = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq,
           "!=": operator.ne}


def comparison(op: str, left: Written, right: Written) -> Written:
    def value(inputs: Inputs) -> Value:
        a, b = left.value(inputs), right.value(inputs)
        return None if a is None or b is None else COMPARE[op](a, b)
    return Written(f"{operand(left, SUM)} {op} {operand(right, SUM)}", COMPARISON, value)


def logical(op: str, left: Written, right: Written) -> Written:
    binding = AND if op == "and" else OR

    def value(inputs: Inputs) -> Value:
        truths = {left.value(inputs), right.value(inputs)}
        decisive = op == "or"  # True decides 'or', False decides 'and'
        if decisive in truths:
            return decisive
        return None if None in truths else not decisive
    return Written(f"{operand(left, binding)} {op} {operand(right, binding + 1)}", binding, value)


def denied(inner: Written) -> Written:
    def value(inputs: Inputs) -> Value:
        truth = inner.value(inputs)
        return None if truth is None else not truth
    return Written(f"not {operand(inner, NOT)}", NOT, value)


literals = st.one_of(st.integers(0, 20).map(str),
                     st.tuples(st.integers(0, 99), st.integers(0, 99)).map(lambda pair: f"{pair[0]}.{pair[1]:02d}"))
leaves = st.one_of(literals.map(literal), st.sampled_from(VARIABLES).map(variable))


def comparisons_of(numbers: st.SearchStrategy[Written]) -> st.SearchStrategy[Written]:
    return st.builds(comparison, st.sampled_from(sorted(COMPARE)), numbers, numbers)


def logic_of(conditions: st.SearchStrategy[Written]) -> st.SearchStrategy[Written]:
    return st.one_of(st.builds(logical, st.sampled_from(["and", "or"]), conditions, conditions),
                     st.builds(denied, conditions), st.builds(conditional, conditions, conditions, conditions))


def compound(numbers: st.SearchStrategy[Written]) -> st.SearchStrategy[Written]:
    return st.one_of(
        st.builds(arithmetic, st.sampled_from(sorted(ARITHMETIC)), numbers, numbers),
        st.builds(negated, numbers),
        st.builds(function, st.sampled_from(["min", "max"]), st.lists(numbers, min_size=2, max_size=3)),
        st.builds(function, st.just("abs"), st.lists(numbers, min_size=1, max_size=1)),
        st.builds(function, st.just("clamp"), st.lists(numbers, min_size=3, max_size=3)),
        st.builds(rounded, numbers, st.integers(0, 3)),
        st.builds(factor, numbers),
        st.builds(conditional, st.one_of(comparisons_of(numbers), logic_of(comparisons_of(numbers))), numbers,
                  numbers))


numbers = st.recursive(leaves, compound, max_leaves=12)
conditions = st.recursive(comparisons_of(numbers), logic_of, max_leaves=4)
values = st.one_of(st.none(), st.integers(-3, 3).map(float), st.floats(-10, 10), st.floats())
devices = st.lists(st.fixed_dictionaries(dict.fromkeys(VARIABLES, values)), min_size=1, max_size=6)


@settings(max_examples=200, deadline=None)
@given(number=numbers, condition=conditions, rows=devices)
def test_random_formulas_compute_the_same_in_python_in_polars_and_by_definition(
        number: Written, condition: Written, rows: list[dict[str, float | None]]) -> None:
    rule_set = compile_rules([Rule("X", number.text), Rule("B", condition.text), Rule("SC", "X")],
                             [Condition(condition.text, "NOT_B")], factors={"SN": FACTORS})
    rows = rows * (40 // len(rows) + 1)  # polars computes short columns differently from long ones
    for (steps, score, eligible, reason), row in zip(both(rule_set, rows), rows, strict=True):
        inputs = {name: None if row[name] is None or not math.isfinite(row[name]) else row[name]
                  for name in VARIABLES}
        x, b = number.value(inputs), condition.value(inputs)
        assert steps == {"X": x, "B": b, "SC": x}
        assert score == (0.0 if x is None else x)
        expected = "ELIGIBILITY_UNDEFINED" if b is None else "NOT_B" if not b else "SCORE_UNDEFINED" if x is None \
            else None
        assert (eligible, reason) == (expected is None, expected)
