"""Score rule sets in the program system, on SQLite and PostgreSQL: checked on every save (a refusal names the
field and the position in its formula), versioned, attached to at most one per program."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from derbridge.dacs.scores import rule_sets
from derbridge.dacs.scores.formula import FormulaError
from derbridge.errors import Conflict, InvalidInput, NotFound
from tests.score_seed import add_programs

BODY = {"rules": [{"name": "REST", "formula": "min(DE / DP, 1)"}, {"name": "SC", "formula": "100 * AV * REST"}],
        "eligibility": [{"formula": "AV > 0", "reason": "NOT_AVAILABLE"}]}


@pytest.fixture
def dacs_db(dacs_db: Engine) -> Iterator[Engine]:
    """The migrated database (contract/conftest.py), seeded."""
    with dacs_db.begin() as connection:
        add_programs(connection)
    yield dacs_db


def create(engine: Engine, name: str = "rested", **changes: Any) -> dict[str, Any]:
    return rule_sets.create(engine, rule_sets.RuleSetCreate.model_validate({"name": name, **BODY, **changes}),
                            "Pat Manager")


def body(**changes: Any) -> rule_sets.RuleSetBody:
    return rule_sets.RuleSetBody.model_validate({**BODY, **changes})


def test_a_saved_rule_set_shows_its_rules_inputs_version_and_author(dacs_db: Engine) -> None:
    created = create(dacs_db)

    assert (created["version"], created["createdBy"], created["programCodes"]) == (1, "Pat Manager", [])
    assert created["rules"] == BODY["rules"] and created["inputs"] == ["AV", "DE", "DP"]
    assert rule_sets.get(dacs_db, "rested") == created


def test_a_change_raises_the_version_and_a_save_without_one_does_not(dacs_db: Engine) -> None:
    create(dacs_db)

    changed = rule_sets.update(dacs_db, "rested", body(factors={"SN": [1, 0.5]}), "Lee Analyst")
    unchanged = rule_sets.update(dacs_db, "rested", body(factors={"SN": [1, 0.5]}), "Someone Else")

    assert (changed["version"], changed["updatedBy"]) == (2, "Lee Analyst")
    assert (unchanged["version"], unchanged["updatedBy"]) == (2, "Lee Analyst")


def test_a_bad_formula_is_refused_naming_the_field_and_its_position_and_nothing_is_saved(dacs_db: Engine) -> None:
    rules = [*BODY["rules"][:1], {"name": "X", "formula": "1"}, {"name": "SC", "formula": "AV * SN[1] + CUU"}]

    with pytest.raises(FormulaError) as refused:
        create(dacs_db, rules=rules, factors={"SN": [1]})

    assert refused.value.problems == {
        "rules.2.formula": "line 1, column 14: unknown variable 'CUU' (did you mean CU?)"}
    with pytest.raises(NotFound):
        rule_sets.get(dacs_db, "rested")


def test_an_update_that_does_not_compile_changes_nothing(dacs_db: Engine) -> None:
    create(dacs_db)

    with pytest.raises(FormulaError) as refused:
        rule_sets.update(dacs_db, "rested", body(eligibility=[{"formula": "AV + 1", "reason": "X"}]), "Lee")

    assert list(refused.value.problems) == ["eligibility.0.formula"]
    assert rule_sets.get(dacs_db, "rested")["version"] == 1


def test_the_default_name_is_reserved_and_the_default_is_listed_with_the_programs_it_scores(
        dacs_db: Engine) -> None:
    with pytest.raises(InvalidInput) as refused:
        create(dacs_db, name="default")
    create(dacs_db)
    rule_sets.attach(dacs_db, "rested", "PEAKWEEK", "Pat Manager")

    default, rested = rule_sets.list_all(dacs_db)

    assert list(refused.value.problems) == ["name"]
    assert (default["name"], default["builtIn"], default["programCodes"]) == ("DEFAULT", True, ["SMARTSTAT"])
    assert (rested["name"], rested["programCodes"]) == ("rested", ["PEAKWEEK"])


def test_attaching_replaces_a_programs_rule_set_and_detaching_returns_it_to_the_default(dacs_db: Engine) -> None:
    create(dacs_db)
    create(dacs_db, name="other")

    first = rule_sets.attach(dacs_db, "rested", "SMARTSTAT", "Pat")
    second = rule_sets.attach(dacs_db, "other", "SMARTSTAT", "Pat")
    with pytest.raises(NotFound):
        rule_sets.detach(dacs_db, "rested", "SMARTSTAT")
    rule_sets.detach(dacs_db, "other", "SMARTSTAT")

    assert (first["replaced"], second["replaced"]) == (None, "rested")
    assert rule_sets.get(dacs_db, "DEFAULT")["programCodes"] == ["PEAKWEEK", "SMARTSTAT"]


def test_a_rule_set_in_use_cannot_be_deleted_and_unknown_names_are_not_found(dacs_db: Engine) -> None:
    create(dacs_db)
    rule_sets.attach(dacs_db, "rested", "SMARTSTAT", "Pat")

    with pytest.raises(Conflict):
        rule_sets.delete(dacs_db, "rested")
    with pytest.raises(Conflict):
        create(dacs_db)
    with pytest.raises(NotFound):
        rule_sets.attach(dacs_db, "rested", "NOPROGRAM", "Pat")
    with pytest.raises(NotFound):
        rule_sets.attach(dacs_db, "missing", "SMARTSTAT", "Pat")
    rule_sets.detach(dacs_db, "rested", "SMARTSTAT")
    rule_sets.delete(dacs_db, "rested")

    with pytest.raises(NotFound):
        rule_sets.get(dacs_db, "rested")
