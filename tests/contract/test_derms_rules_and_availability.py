"""DERMS's rules (F2 receiver), participation and availability of registered devices, on SQLite and
PostgreSQL: versioned rule sets, acks through the outbox, the bulk history summary, overridable rules."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from derbridge.derms.availability import devices as device_availability
from derbridge.derms.availability import participation
from derbridge.derms.programs import rules as program_rules
from derbridge.derms.schema import outbound_messages
from derbridge.errors import Conflict, InvalidInput, NotFound
from tests.registry import DERMS_RULE, enroll, participate, program_message

EVENT = {"eventStart": "2026-07-15T19:00:00Z", "eventEnd": "2026-07-15T21:00:00Z"}  # Wed 14:00–16:00 Chicago
NOW = datetime(2026, 7, 15, 13, tzinfo=UTC)



def receive(engine: Engine, message: dict[str, Any]) -> str:
    parsed = program_rules.ProgramMessage.model_validate(message)
    return program_rules.apply(engine, parsed, program_rules.check_rules(parsed))


def acks(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        rows = connection.execute(sa.select(outbound_messages).order_by(outbound_messages.c.id)).all()
    return [{"key": row.message_key, **json.loads(row.payload)} for row in rows]


def record(engine: Engine, event_id: str, *entries: tuple[str, str, str, bool]) -> None:
    for nic, start, end, override in entries:
        participate(engine, event_id, nic, start, end, override)


def judge(engine: Engine, **request: Any) -> dict[tuple[str, str], dict[str, Any]]:
    parsed = device_availability.AvailabilityRequest.model_validate({**EVENT, **request})
    judged = device_availability.evaluate(engine, parsed, parsed.now or NOW)
    return {(row["head_end_system"], row["nic_id"]): row for row in judged.iter_rows(named=True)}


def test_a_newer_rule_set_replaces_the_held_one_and_each_message_is_acknowledged_once(derms_db: Engine) -> None:
    assert receive(derms_db, program_message("SMARTSTAT", 1, "SR1")) == "applied"
    assert receive(derms_db, program_message("SMARTSTAT", 1, "SR1")) == "duplicate"
    assert receive(derms_db, program_message("SMARTSTAT", 2, "SR2", {**DERMS_RULE, "allowedOverrides": 0})) == "applied"
    held = program_rules.get(derms_db, "SMARTSTAT")
    assert held["rulesVersion"] == 2 and held["lastMessageId"] == "SR2" and held["rules"][0]["allowedOverrides"] == 0
    assert [(a["key"], a["ackType"]) for a in acks(derms_db)] == [
        ("program-ack:SR1", "SUCCESS"), ("program-ack:SR2", "SUCCESS")]


def test_an_older_rule_set_arriving_late_is_acknowledged_but_never_undoes_the_newer(derms_db: Engine) -> None:
    receive(derms_db, program_message("SMARTSTAT", 5, "SR5", {**DERMS_RULE, "maxEventsPerWeek": 1}))
    assert receive(derms_db, program_message("SMARTSTAT", 4, "SR4")) == "stale"
    assert receive(derms_db, program_message("SMARTSTAT", 5, "SR5b")) == "stale"
    held = program_rules.get(derms_db, "SMARTSTAT")
    assert held["rulesVersion"] == 5 and held["rules"][0]["maxEventsPerWeek"] == 1
    assert [a["ackType"] for a in acks(derms_db)] == ["SUCCESS", "SUCCESS", "SUCCESS"]


def test_a_set_whose_rules_share_no_event_day_is_refused_with_an_error_ack(derms_db: Engine) -> None:
    weekend = {**DERMS_RULE, "ruleId": "2", "ruleCode": "WEEKEND", "allowedEventDays": ["SATURDAY", "SUNDAY"]}
    assert receive(derms_db, program_message("SMARTSTAT", 1, "SR1", DERMS_RULE, weekend)) == "refused"
    [ack] = acks(derms_db)
    assert ack["ackType"] == "ERROR"
    assert (ack["errors"][0]["messageCategory"], ack["errors"][0]["messageNumber"]) == (90200, 204)
    with pytest.raises(NotFound):
        program_rules.get(derms_db, "SMARTSTAT")


def test_bad_rule_values_are_named_by_their_wire_field(derms_db: Engine) -> None:
    message = program_rules.ProgramMessage.model_validate(program_message(
        "SMARTSTAT", 1, "SR1", {**DERMS_RULE, "allowedOverrides": -1, "eventWindowEnd": "11:00:00",
                                "maxConsecutiveDays": 0}))
    with pytest.raises(InvalidInput) as refused:
        program_rules.check_rules(message)
    assert set(refused.value.problems) == {"rules.0.allowedOverrides", "rules.0.eventWindowEnd",
                                           "rules.0.maxConsecutiveDays"}
    assert acks(derms_db) == []


def test_only_rules_that_may_be_overridden_can_be_marked_overridable(derms_db: Engine) -> None:
    with pytest.raises(NotFound):
        program_rules.set_overridable(derms_db, "SMARTSTAT", ["WEEKLY_CAP_REACHED"])
    receive(derms_db, program_message("SMARTSTAT", 1, "SR1"))
    with pytest.raises(InvalidInput) as refused:
        program_rules.set_overridable(derms_db, "SMARTSTAT", ["WEEKLY_CAP_REACHED", "LIFE_SUPPORT", "NAPPING"])
    assert set(refused.value.problems) == {"reasons.1", "reasons.2"}
    assert "never" in refused.value.problems["reasons.1"]
    marked = program_rules.set_overridable(derms_db, "SMARTSTAT", ["WEEKLY_CAP_REACHED", "EVENT_TOO_LONG"])
    assert marked["overridable"] == ["EVENT_TOO_LONG", "WEEKLY_CAP_REACHED"]
    assert program_rules.set_overridable(derms_db, "SMARTSTAT", [])["overridable"] == []


def test_history_is_summarised_per_device_for_the_events_local_periods(derms_db: Engine) -> None:
    enroll(derms_db, "SMARTSTAT", "S1", ["N1", "N2", "N3"])
    record(derms_db, "E1", ("N1", "2026-07-13T19:00:00Z", "2026-07-13T21:00:00Z", True),   # this week, overridden
           ("N2", "2026-07-01T19:00:00Z", "2026-07-01T22:00:00Z", False))                 # this month
    record(derms_db, "E2", ("N1", "2026-06-02T19:00:00Z", "2026-06-02T20:30:00Z", True),   # this season, last month
           ("N2", "2026-02-10T19:00:00Z", "2026-02-10T20:00:00Z", False))                 # this year only
    record(derms_db, "E3", ("N1", "2025-12-30T19:00:00Z", "2025-12-30T20:00:00Z", False))  # last year
    periods = participation.periods_of(datetime(2026, 7, 15, 19, tzinfo=UTC), "America/Chicago")
    named = device_availability.fleet_members(device_availability.AvailabilityRequest.model_validate(
        {**EVENT, "devices": [{"headEndSystem": "ECOCLOUD", "nicId": "N1"}]}))
    with derms_db.connect() as connection:
        summary = participation.history_frame(connection, None, periods, "MONTH")
        only_n1 = participation.history_frame(connection, named, periods, "MONTH")
    rows = {row["nic_id"]: row for row in summary.iter_rows(named=True)}
    assert set(rows) == {"N1", "N2"}, "a device without participation has no row"
    assert only_n1.rows() == summary.filter(summary["nic_id"] == "N1").rows(), "named devices: those only"
    assert {k: rows["N1"][k] for k in participation.HISTORY_COLUMNS} == {
        "events_this_week": 1, "events_this_month": 1, "events_this_season": 2, "event_hours_this_year": 3.5,
        "overrides_this_cycle": 1}
    assert {k: rows["N2"][k] for k in participation.HISTORY_COLUMNS} == {
        "events_this_week": 0, "events_this_month": 1, "events_this_season": 1, "event_hours_this_year": 4.0,
        "overrides_this_cycle": 0}


def test_a_programs_fleet_is_judged_with_the_history_of_each_device(derms_db: Engine) -> None:
    receive(derms_db, program_message("SMARTSTAT", 1, "SR1", {**DERMS_RULE, "maxEventsPerWeek": 1}))
    enroll(derms_db, "SMARTSTAT", "S1", ["N1", "N2"])
    enroll(derms_db, "SMARTSTAT", "S2", ["N3"], active=False)
    enroll(derms_db, "OTHER", "S3", ["N4"])
    record(derms_db, "E1", ("N1", "2026-07-13T19:00:00Z", "2026-07-13T21:00:00Z", False))
    judged = judge(derms_db, programCode="SMARTSTAT")
    assert list(judged) == [("ECOCLOUD", "N1"), ("ECOCLOUD", "N2")], "active devices of the program only"
    assert judged["ECOCLOUD", "N1"]["reasons"] == ["WEEKLY_CAP_REACHED"] and not judged["ECOCLOUD", "N1"]["available"]
    assert judged["ECOCLOUD", "N2"]["available"] and judged["ECOCLOUD", "N2"]["time_zone"] == "America/Chicago"


def test_an_overridable_rule_is_reported_but_does_not_make_the_device_unavailable(derms_db: Engine) -> None:
    receive(derms_db, program_message("SMARTSTAT", 1, "SR1", {**DERMS_RULE, "maxEventsPerWeek": 1}))
    enroll(derms_db, "SMARTSTAT", "S1", ["N1"])
    record(derms_db, "E1", ("N1", "2026-07-13T19:00:00Z", "2026-07-13T21:00:00Z", False))
    program_rules.set_overridable(derms_db, "SMARTSTAT", ["WEEKLY_CAP_REACHED"])
    [row] = judge(derms_db, programCode="SMARTSTAT").values()
    assert row["available"]
    assert row["reasons"] == ["WEEKLY_CAP_REACHED"] and row["overridable"] == ["WEEKLY_CAP_REACHED"]
    [row] = judge(derms_db, programCode="SMARTSTAT", eventEnd="2026-07-16T02:00:00Z").values()
    assert not row["available"] and row["overridable"] == ["WEEKLY_CAP_REACHED"]
    assert set(row["reasons"]) == {"OUTSIDE_EVENT_WINDOW", "EVENT_TOO_LONG", "WEEKLY_CAP_REACHED"}


def test_a_life_support_premise_is_excluded(derms_db: Engine) -> None:
    receive(derms_db, program_message("SMARTSTAT", 1, "SR1"))
    enroll(derms_db, "SMARTSTAT", "S1", ["N1"], premise_id="PR-LS")
    enroll(derms_db, "SMARTSTAT", "S2", ["N2"], time_zone=None, premise_id="PR-LS2")
    for premise in ("PR-LS", "PR-LS2"):
        participation.mark_sensitive(derms_db, premise, participation.SensitivePremise(kind="LIFE_SUPPORT"))
    judged = judge(derms_db, programCode="SMARTSTAT", defaultTimeZone="America/Chicago")
    assert [row["reasons"] for row in judged.values()] == [["LIFE_SUPPORT"], ["LIFE_SUPPORT"]]
    participation.unmark_sensitive(derms_db, "PR-LS")
    assert judge(derms_db, programCode="SMARTSTAT", defaultTimeZone="America/Chicago")["ECOCLOUD", "N1"]["available"]


def test_each_device_is_judged_in_its_own_time_zone_and_the_default_when_it_has_none(derms_db: Engine) -> None:
    receive(derms_db, program_message("SMARTSTAT", 1, "SR1"))
    enroll(derms_db, "SMARTSTAT", "S1", ["CHICAGO"])
    enroll(derms_db, "SMARTSTAT", "S2", ["LOS-ANGELES"], time_zone="America/Los_Angeles")
    enroll(derms_db, "SMARTSTAT", "S3", ["NOWHERE"], time_zone=None)
    judged = judge(derms_db, programCode="SMARTSTAT", eventStart="2026-07-15T18:00:00Z",
                   eventEnd="2026-07-15T19:30:00Z")  # 13:00 in Chicago, 11:00 in Los Angeles, 18:00 UTC
    assert judged["ECOCLOUD", "CHICAGO"]["reasons"] == []
    assert judged["ECOCLOUD", "LOS-ANGELES"]["reasons"] == ["OUTSIDE_EVENT_WINDOW"]
    assert judged["ECOCLOUD", "NOWHERE"]["time_zone"] == "UTC"
    assert judged["ECOCLOUD", "NOWHERE"]["reasons"] == ["OUTSIDE_EVENT_WINDOW"]


def test_named_devices_come_back_in_the_order_asked_and_unknown_ones_are_refused(derms_db: Engine) -> None:
    receive(derms_db, program_message("SMARTSTAT", 1, "SR1"))
    enroll(derms_db, "SMARTSTAT", "S1", ["N1", "N2"])
    enroll(derms_db, "SMARTSTAT", "S2", ["N3"], active=False)
    asked = [{"headEndSystem": "ECOCLOUD", "nicId": nic} for nic in ("N2", "N1")]
    assert list(judge(derms_db, devices=asked)) == [("ECOCLOUD", "N2"), ("ECOCLOUD", "N1")]
    with pytest.raises(InvalidInput) as refused:
        judge(derms_db, devices=[*asked, {"headEndSystem": "ECOCLOUD", "nicId": "N3"},
                                 {"headEndSystem": "OTHERCLOUD", "nicId": "N1"}])
    assert refused.value.problems == {"devices.2": "device ECOCLOUD/N3 is not active in a program",
                                      "devices.3": "no device OTHERCLOUD/N1 in the registry"}


def test_a_program_without_rules_or_unknown_to_derms_is_a_clear_error(derms_db: Engine) -> None:
    enroll(derms_db, "NORULES", "S1", ["N1"])
    with pytest.raises(Conflict, match="no rules for program NORULES"):
        judge(derms_db, programCode="NORULES")
    with pytest.raises(InvalidInput) as refused:
        judge(derms_db, programCode="NOPE")
    assert set(refused.value.problems) == {"programCode"}
    receive(derms_db, {**program_message("EMPTIED", 1, "SR1"), "rules": []})
    enroll(derms_db, "EMPTIED", "S2", ["N2"])
    with pytest.raises(Conflict, match="has no rules"):
        judge(derms_db, programCode="EMPTIED")


def test_a_program_with_rules_and_no_devices_has_an_empty_fleet(derms_db: Engine) -> None:
    receive(derms_db, program_message("SMARTSTAT", 1, "SR1"))
    parsed = device_availability.AvailabilityRequest.model_validate({**EVENT, "programCode": "SMARTSTAT"})
    answer = device_availability.answer(parsed, device_availability.evaluate(derms_db, parsed, NOW), NOW)
    assert answer["summary"] == {"devices": 0, "available": 0, "unavailable": 0, "reasons": []}
