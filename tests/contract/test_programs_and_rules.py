"""The program system's programs and rules, on SQLite and PostgreSQL: the approval path, and exactly when a
rules sync (F2) is written — in the same transaction, only for ACTIVE programs, carrying the whole set."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from derbridge.dacs.programs import programs, rules
from derbridge.dacs.schema import sync_requests
from derbridge.errors import Conflict, InvalidInput, NotFound

PROGRAM_TYPE = programs.ProgramTypeCreate.model_validate({
    "programTypeCode": "DR", "description": "Demand response", "category": "DEMAND_RESPONSE",
    "deviceRequired": True, "preemptiveOptOutAllowed": True, "optOutCutoffMinutes": 60,
    "unavailabilityAllowed": True})
RULE = {
    "ruleCode": "SUMMER", "description": "Summer peak", "availableForEvents": True, "allowedOverrides": 2,
    "maxEventDurationMinutes": 240, "allowEventDays": ["MON", "TUE", "WED", "THU", "FRI"],
    "cycleFrequency": "MONTHLY", "maxEventsPerWeek": 3, "eventWindow": {"start": "12:00", "end": "19:00"},
    "minNoticeMinutes": 120,
}


@pytest.fixture
def dacs_db(dacs_db: Engine) -> Iterator[Engine]:
    """The migrated database (contract/conftest.py), seeded."""
    programs.create_type(dacs_db, PROGRAM_TYPE)
    yield dacs_db


def new_program(engine: Engine, code: str = "SMARTSTAT", **changes: Any) -> dict[str, Any]:
    return programs.create(engine, programs.ProgramCreate.model_validate({
        "programCode": code, "name": "Smart thermostat", "programTypeCode": "DR", "startDate": "2026-01-01",
        "eligibleSpecifications": ["ECOBEE3", "NEST-E"], "eligibleRates": ["R1"], **changes}))


def new_rule(engine: Engine, **changes: Any) -> str:
    return str(rules.create(engine, rules.RuleIn.model_validate({**RULE, **changes}))["ruleId"])


def move(engine: Engine, code: str, *statuses: str) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for status in statuses:
        result = programs.change_status(engine, code, programs.StatusChange(
            status=status, approvedBy="Pat Approver" if status == "ACTIVE" else None))  # type: ignore[arg-type]
    return result


def activated(engine: Engine, code: str = "SMARTSTAT") -> dict[str, Any]:
    return move(engine, code, "PENDING_APPROVAL", "ACTIVE")


def syncs(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        rows = connection.execute(sa.select(sync_requests).order_by(sync_requests.c.id)).all()
    return [{"id": row.sync_request_id, "kind": row.kind, "objectId": row.object_id, **json.loads(row.payload)}
            for row in rows]


def test_a_new_program_is_a_draft_with_its_eligibility(dacs_db: Engine) -> None:
    created = new_program(dacs_db)
    assert created["status"] == "DRAFT" and created["rules"] == [] and created["rulesVersion"] == 0
    with dacs_db.connect() as connection:
        program = programs.program_by_code(connection, "SMARTSTAT")
        assert programs.program_by_code(connection, "NOPE") is None
    assert program is not None and not program.is_active
    assert program.eligible_specifications == {"ECOBEE3", "NEST-E"} and program.eligible_rates == {"R1"}


def test_approval_makes_a_program_active_and_records_the_approver(dacs_db: Engine) -> None:
    new_program(dacs_db)
    result = activated(dacs_db)
    assert result["status"] == "ACTIVE" and result["approvedBy"] == "Pat Approver" and result["approvedAt"]
    with dacs_db.connect() as connection:
        program = programs.program_by_code(connection, "SMARTSTAT")
    assert program is not None and program.is_active


@pytest.mark.parametrize(("path", "refused"), [
    ((), "ACTIVE"), ((), "INACTIVE"), (("PENDING_APPROVAL",), "INACTIVE"),
    (("PENDING_APPROVAL", "ACTIVE"), "DRAFT"), (("PENDING_APPROVAL", "ACTIVE", "INACTIVE"), "ACTIVE"),
])
def test_a_status_change_outside_the_transitions_is_refused_naming_the_allowed_ones(
        dacs_db: Engine, path: tuple[str, ...], refused: str) -> None:
    new_program(dacs_db)
    move(dacs_db, "SMARTSTAT", *path)
    before = programs.get(dacs_db, "SMARTSTAT")
    with pytest.raises(Conflict, match="can become"):
        move(dacs_db, "SMARTSTAT", refused)
    assert programs.get(dacs_db, "SMARTSTAT") == before


def test_approval_without_an_approver_is_refused(dacs_db: Engine) -> None:
    new_program(dacs_db)
    move(dacs_db, "SMARTSTAT", "PENDING_APPROVAL")
    with pytest.raises(InvalidInput) as refused:
        programs.change_status(dacs_db, "SMARTSTAT", programs.StatusChange(status="ACTIVE"))
    assert set(refused.value.problems) == {"approvedBy"}
    assert programs.get(dacs_db, "SMARTSTAT")["status"] == "PENDING_APPROVAL"


def test_a_program_of_an_unknown_type_is_refused_naming_the_field(dacs_db: Engine) -> None:
    with pytest.raises(InvalidInput) as refused:
        new_program(dacs_db, programTypeCode="NOPE")
    assert set(refused.value.problems) == {"programTypeCode"}
    assert programs.list_all(dacs_db) == []


def test_rules_of_a_program_that_is_not_active_write_no_sync(dacs_db: Engine) -> None:
    new_program(dacs_db)
    rule_id = new_rule(dacs_db)
    assert rules.associate(dacs_db, rule_id, "SMARTSTAT")["syncRequestId"] is None
    assert rules.update(dacs_db, rule_id, rules.RuleIn.model_validate({**RULE, "allowedOverrides": 5}))[
        "syncRequestIds"] == []
    assert rules.disassociate(dacs_db, rule_id, "SMARTSTAT")["syncRequestId"] is None
    assert syncs(dacs_db) == []


def test_activation_sends_the_rules_already_associated(dacs_db: Engine) -> None:
    new_program(dacs_db)
    rule_id = new_rule(dacs_db)
    rules.associate(dacs_db, rule_id, "SMARTSTAT")
    result = activated(dacs_db)
    [sync] = syncs(dacs_db)
    assert sync["id"] == result["syncRequestId"] and sync["kind"] == "PROGRAM_RULES"
    assert sync["programCode"] == "SMARTSTAT" and sync["programStatus"] == "ACTIVE" and sync["rulesVersion"] == 1
    assert [rule["ruleId"] for rule in sync["rules"]] == [rule_id]
    assert sync["rules"][0]["allowEventDays"] == ["MON", "TUE", "WED", "THU", "FRI"]
    assert sync["rules"][0]["eventWindow"] == {"start": "12:00:00", "end": "19:00:00"}


def test_associate_change_and_disassociate_on_an_active_program_each_send_the_whole_set(dacs_db: Engine) -> None:
    new_program(dacs_db)
    activated(dacs_db)
    first, second = new_rule(dacs_db), new_rule(dacs_db, ruleCode="WEEKDAYS", allowedOverrides=1)
    rules.associate(dacs_db, first, "SMARTSTAT")
    rules.associate(dacs_db, second, "SMARTSTAT")
    rules.update(dacs_db, first, rules.RuleIn.model_validate({**RULE, "maxEventsPerWeek": 2}))
    rules.disassociate(dacs_db, second, "SMARTSTAT")
    sent = syncs(dacs_db)[1:]  # after the activation's
    assert [s["rulesVersion"] for s in sent] == [2, 3, 4, 5]
    assert [[r["ruleCode"] for r in s["rules"]] for s in sent] == [
        ["SUMMER"], ["SUMMER", "WEEKDAYS"], ["SUMMER", "WEEKDAYS"], ["SUMMER"]]
    assert sent[2]["rules"][0]["maxEventsPerWeek"] == 2
    assert programs.get(dacs_db, "SMARTSTAT")["rulesVersion"] == 5


def test_a_rule_change_syncs_every_active_program_it_belongs_to_and_no_other(dacs_db: Engine) -> None:
    for code in ("ALPHA", "BETA", "GAMMA"):
        new_program(dacs_db, code)
    activated(dacs_db, "ALPHA")
    activated(dacs_db, "BETA")
    rule_id = new_rule(dacs_db)
    for code in ("ALPHA", "BETA", "GAMMA"):
        rules.associate(dacs_db, rule_id, code)
    before = len(syncs(dacs_db))
    changed = rules.update(dacs_db, rule_id, rules.RuleIn.model_validate({**RULE, "minNoticeMinutes": 30}))
    written = syncs(dacs_db)[before:]
    assert sorted(s["programCode"] for s in written) == ["ALPHA", "BETA"]
    assert sorted(changed["syncRequestIds"]) == sorted(s["id"] for s in written)


def test_saving_a_rule_unchanged_sends_nothing(dacs_db: Engine) -> None:
    new_program(dacs_db)
    activated(dacs_db)
    rule_id = new_rule(dacs_db)
    rules.associate(dacs_db, rule_id, "SMARTSTAT")
    before = syncs(dacs_db)
    assert rules.update(dacs_db, rule_id, rules.RuleIn.model_validate(RULE))["syncRequestIds"] == []
    assert syncs(dacs_db) == before and rules.get(dacs_db, rule_id)["version"] == 1


def test_a_rule_that_leaves_a_program_no_common_window_is_refused_and_nothing_changes(dacs_db: Engine) -> None:
    new_program(dacs_db)
    activated(dacs_db)
    afternoon = new_rule(dacs_db)
    morning = new_rule(dacs_db, ruleCode="MORNING", eventWindow={"start": "06:00", "end": "10:00"})
    rules.associate(dacs_db, afternoon, "SMARTSTAT")
    before = syncs(dacs_db)
    with pytest.raises(Conflict, match="no time of day"):
        rules.associate(dacs_db, morning, "SMARTSTAT")
    assert syncs(dacs_db) == before
    weekend_only = rules.RuleIn.model_validate({**RULE, "allowEventDays": ["SAT", "SUN"]})
    rules.associate(dacs_db, new_rule(dacs_db, ruleCode="ALSO"), "SMARTSTAT")
    before = syncs(dacs_db)
    with pytest.raises(Conflict, match="no event day"):
        rules.update(dacs_db, afternoon, weekend_only)
    assert syncs(dacs_db) == before
    assert rules.get(dacs_db, afternoon)["allowEventDays"] == ["MON", "TUE", "WED", "THU", "FRI"]
    assert [r["ruleCode"] for r in programs.get(dacs_db, "SMARTSTAT")["rules"]] == ["ALSO", "SUMMER"]


def test_associating_with_an_unknown_program_names_the_field(dacs_db: Engine) -> None:
    rule_id = new_rule(dacs_db)
    with pytest.raises(InvalidInput) as refused:
        rules.associate(dacs_db, rule_id, "NOPE")
    assert set(refused.value.problems) == {"programCode"}
    with pytest.raises(NotFound):
        rules.associate(dacs_db, "000000000000", "SMARTSTAT")


def test_a_rule_in_use_cannot_be_deleted_and_a_rule_code_is_unique(dacs_db: Engine) -> None:
    new_program(dacs_db)
    rule_id = new_rule(dacs_db)
    rules.associate(dacs_db, rule_id, "SMARTSTAT")
    with pytest.raises(Conflict, match="SMARTSTAT"):
        rules.delete(dacs_db, rule_id)
    with pytest.raises(Conflict, match="taken"):
        new_rule(dacs_db)
    with pytest.raises(Conflict, match="already associated"):
        rules.associate(dacs_db, rule_id, "SMARTSTAT")
    rules.disassociate(dacs_db, rule_id, "SMARTSTAT")
    rules.delete(dacs_db, rule_id)
    assert rules.list_all(dacs_db) == []
