"""Rules and availability over real HTTP (three systems in-process): bad input is refused naming each field
with nothing applied and the raw request kept; availability answers, rule by rule, through DERMS's API;
the CLI drives both."""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from derbridge.bootstrap import BackgroundSystems
from derbridge.cli import app as cli
from derbridge.scenario.processes import settings_env
from derbridge.store.db import make_engine
from derbridge.web.operator import checked, operator_client
from tests.registry import DERMS_RULE, WEEKDAYS, enroll, participate, program_message

RULE = {
    "ruleCode": "SUMMER", "description": "Summer peak", "availableForEvents": True, "allowedOverrides": 2,
    "maxEventDurationMinutes": 240, "allowEventDays": ["MON", "TUE", "WED", "THU", "FRI"],
    "cycleFrequency": "MONTHLY", "maxEventsPerWeek": 3, "eventWindow": {"start": "12:00", "end": "19:00"},
    "minNoticeMinutes": 120,
}
HUB_SYNC = {
    "syncRequestId": "22222222222222", "programId": "998877665544", "programCode": "SMARTSTAT",
    "programStatus": "ACTIVE", "rulesVersion": 1,
    "rules": [{**RULE, "ruleId": "111122223333"}],
}
EVENT = {"eventStart": "2026-07-15T19:00:00Z", "eventEnd": "2026-07-15T21:00:00Z",  # Wed 14:00–16:00 Chicago
         "now": "2026-07-15T13:00:00Z"}
names = (f"N{n}" for n in itertools.count())


@pytest.fixture(scope="module")
def dacs(running_stack: BackgroundSystems) -> Iterator[httpx2.Client]:
    client = operator_client(running_stack.settings, "dacs")
    checked(client.post("/api/program-types", json={
        "programTypeCode": "DR", "description": "Demand response", "category": "DEMAND_RESPONSE",
        "deviceRequired": True, "preemptiveOptOutAllowed": False, "unavailabilityAllowed": True}))
    yield client
    client.close()


@pytest.fixture(scope="module")
def derms(running_stack: BackgroundSystems) -> Iterator[httpx2.Client]:
    client = operator_client(running_stack.settings, "derms")
    yield client
    client.close()


@pytest.fixture(scope="module")
def derms_db(running_stack: BackgroundSystems) -> Iterator[Engine]:
    engine = make_engine(running_stack.settings.database_url("derms"))
    yield engine
    engine.dispose()


def with_changes(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    changed = copy.deepcopy(body)
    changed.update(changes)
    return changed


def rejected_count(settings: Any, system: str) -> int:
    engine = make_engine(settings.database_url(system))
    with engine.connect() as connection:
        count = connection.execute(sa.text("SELECT count(*) FROM rejected_requests")).scalar_one()
    engine.dispose()
    return int(count)


def state(dacs: httpx2.Client) -> tuple[Any, ...]:
    return (checked(dacs.get("/api/rules")), checked(dacs.get("/api/programs")),
            len(checked(dacs.get("/api/sync-requests", params={"limit": 5000}))))


BAD_RULES = [
    pytest.param(b'{"ruleCode": "X", ', 400, {"body"}, id="malformed JSON"),
    pytest.param(with_changes(RULE, eventWindow={"start": "19:00", "end": "12:00"}), 422, {"eventWindow.end"},
                 id="window ends before it starts"),
    pytest.param(with_changes(RULE, allowedOverrides=-1, maxEventsPerWeek=-1, maxEventHoursPerYear=-0.5,
                              minNoticeMinutes=-5),
                 422, {"allowedOverrides", "maxEventsPerWeek", "maxEventHoursPerYear", "minNoticeMinutes"},
                 id="negative caps"),
    pytest.param(with_changes(RULE, allowEventDays=["MON", "MON"], cycleFrequency="YEARLY"), 422,
                 {"allowEventDays", "cycleFrequency"}, id="repeated day and unknown cycle"),
    pytest.param(with_changes(RULE, allowEventDays=[], maxEventDurationMinutes=0, maxConsecutiveDays=0), 422,
                 {"allowEventDays", "maxEventDurationMinutes", "maxConsecutiveDays"}, id="nothing allowed"),
    pytest.param({k: v for k, v in RULE.items() if k not in ("ruleCode", "eventWindow")}, 422,
                 {"ruleCode", "eventWindow"}, id="missing fields"),
]


@pytest.mark.parametrize(("body", "status", "fields"), BAD_RULES)
def test_the_program_system_refuses_a_bad_rule_naming_each_field_and_applies_nothing(
        running_stack: BackgroundSystems, dacs: httpx2.Client, body: Any, status: int, fields: set[str]) -> None:
    before, kept = state(dacs), rejected_count(running_stack.settings, "dacs")
    if isinstance(body, bytes):
        response = dacs.post("/api/rules", content=body, headers={"Content-Type": "application/json"})
    else:
        response = dacs.post("/api/rules", json=body)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    assert {error["field"] for error in response.json()["errors"]} == fields
    assert state(dacs) == before
    assert rejected_count(running_stack.settings, "dacs") == kept + 1


def test_associating_with_an_unknown_program_names_the_field_and_applies_nothing(
        running_stack: BackgroundSystems, dacs: httpx2.Client) -> None:
    rule = checked(dacs.post("/api/rules", json=with_changes(RULE, ruleCode="LONELY")))
    before, kept = state(dacs), rejected_count(running_stack.settings, "dacs")
    response = dacs.post(f"/api/rules/{rule['ruleId']}/programs", json={"programCode": "NOSUCH"})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "programCode", "message": "no program 'NOSUCH'",
                                          "type": "invalid_input"}]
    assert state(dacs) == before and rejected_count(running_stack.settings, "dacs") == kept + 1
    assert dacs.post("/api/rules/000000000000/programs", json={"programCode": "NOSUCH"}).status_code == 404


def test_a_program_of_an_unknown_type_and_a_status_change_that_does_not_exist_are_refused(
        dacs: httpx2.Client) -> None:
    program = {"programCode": "REFUSALS", "name": "Refusals", "programTypeCode": "NOPE", "startDate": "2026-01-01"}
    response = dacs.post("/api/programs", json=program)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "programTypeCode"
    checked(dacs.post("/api/programs", json={**program, "programTypeCode": "DR"}))
    response = dacs.post("/api/programs/REFUSALS/status", json={"status": "ACTIVE", "approvedBy": "Pat"})
    assert response.status_code == 409
    assert "DRAFT" in response.json()["detail"] and "PENDING_APPROVAL" in response.json()["detail"]
    assert checked(dacs.get("/api/programs/REFUSALS"))["status"] == "DRAFT"


HUB_CASES = [
    pytest.param(with_changes(HUB_SYNC, rules=[with_changes(HUB_SYNC["rules"][0],
                                                            eventWindow={"start": "18:00", "end": "09:00"})]),
                 {"rules.0.eventWindow.end"}, id="window ends before it starts"),
    pytest.param(with_changes(HUB_SYNC, rules=[with_changes(HUB_SYNC["rules"][0], maxEventsPerMonth=-3,
                                                            allowedOverrides=-1)]),
                 {"rules.0.maxEventsPerMonth", "rules.0.allowedOverrides"}, id="negative caps"),
    pytest.param(with_changes(HUB_SYNC, programStatus="DRAFT", programCode=""), {"programStatus", "programCode"},
                 id="not an active program"),
]


@pytest.mark.parametrize(("body", "fields"), HUB_CASES)
def test_the_hub_refuses_a_bad_rules_sync_naming_each_field_and_keeps_it(
        running_stack: BackgroundSystems, body: dict[str, Any], fields: set[str]) -> None:
    with operator_client(running_stack.settings, "hub") as hub:
        before = {m["id"] for m in checked(hub.get("/hub/api/messages", params={"flow": "F2", "limit": 5000}))}
        response = hub.post("/hub/from-dacs/programRulesSync", json=body)
        assert response.status_code == 422
        assert {error["field"] for error in response.json()["errors"]} == fields
        new = [m for m in checked(hub.get("/hub/api/messages", params={"flow": "F2", "limit": 5000}))
               if m["id"] not in before]
        assert [(m["kind"], m["status"]) for m in new] == [("program-rules-sync", "REJECTED")]


def test_derms_refuses_bad_rule_values_naming_each_field_and_applies_nothing(
        derms: httpx2.Client) -> None:
    bad = program_message("DERMSBAD", 1, "33333333333333", with_changes(
        DERMS_RULE, maxEventsPerSeason=-1, eventWindowStart="20:00:00"))
    response = derms.post("/program", json=bad)
    assert response.status_code == 422
    assert {error["field"] for error in response.json()["errors"]} == {"rules.0.maxEventsPerSeason",
                                                                       "rules.0.eventWindowEnd"}
    assert derms.get("/api/programs/DERMSBAD").status_code == 404


# ---- availability through DERMS's API, one rule at a time ---------------------------------------------------

# Each row: a change to the reference rule, the device's participation so far (start, end, overridden), a change
# to the event or the premise's equipment; exactly one rule is broken. Declared unavailability (F13) has no
# source yet. The reference device is available for the reference event (first row).
ONE_RULE_BROKEN = [
    pytest.param({}, [], {}, None, id="nothing broken"),
    pytest.param({"availableForEvents": False}, [], {}, "PROGRAM_NOT_AVAILABLE", id="program closed to events"),
    pytest.param({"allowedEventDays": ["MONDAY", "TUESDAY", "THURSDAY", "FRIDAY"]}, [], {},
                 "EVENT_DAY_NOT_ALLOWED", id="no events on Wednesdays"),
    pytest.param({}, [], {"eventStart": "2026-07-15T16:00:00Z", "eventEnd": "2026-07-15T18:00:00Z"},
                 "OUTSIDE_EVENT_WINDOW", id="11:00 to 13:00 local starts before the window"),
    pytest.param({"maxEventDurationMinutes": 60}, [], {}, "EVENT_TOO_LONG", id="longer than allowed"),
    pytest.param({}, [], {"now": "2026-07-15T18:00:00Z"}, "INSUFFICIENT_NOTICE", id="one hour's notice"),
    pytest.param({}, [], {"premise": "LIFE_SUPPORT"}, "LIFE_SUPPORT", id="life-support premise"),
    pytest.param({}, [("2026-07-01T19:00:00Z", "2026-07-01T20:00:00Z", True),
                      ("2026-07-02T19:00:00Z", "2026-07-02T20:00:00Z", True),
                      ("2026-07-07T19:00:00Z", "2026-07-07T20:00:00Z", True)], {}, "OVERRIDES_EXCEEDED",
                 id="three overrides this month, two allowed"),
    pytest.param({}, [("2026-07-13T17:00:00Z", "2026-07-13T18:00:00Z", False),
                      ("2026-07-13T20:00:00Z", "2026-07-13T21:00:00Z", False),
                      ("2026-07-17T19:00:00Z", "2026-07-17T20:00:00Z", False)], {}, "WEEKLY_CAP_REACHED",
                 id="three events this week"),
    pytest.param({"maxEventsPerMonth": 2}, [("2026-07-01T19:00:00Z", "2026-07-01T20:00:00Z", False),
                                            ("2026-07-08T19:00:00Z", "2026-07-08T20:00:00Z", False)], {},
                 "MONTHLY_CAP_REACHED", id="two events this month"),
    pytest.param({"maxEventsPerSeason": 2}, [("2026-06-03T19:00:00Z", "2026-06-03T20:00:00Z", False),
                                             ("2026-06-10T19:00:00Z", "2026-06-10T20:00:00Z", False)], {},
                 "SEASONAL_CAP_REACHED", id="two events this summer"),
    pytest.param({"maxEventHoursPerYear": 5.0}, [("2026-03-04T17:00:00Z", "2026-03-04T21:00:00Z", False)], {},
                 "ANNUAL_HOURS_EXCEEDED", id="four hours this year, two more, five allowed"),
    pytest.param({"maxConsecutiveDays": 2}, [("2026-07-13T19:00:00Z", "2026-07-13T20:00:00Z", False),
                                             ("2026-07-14T19:00:00Z", "2026-07-14T20:00:00Z", False)], {},
                 "CONSECUTIVE_DAYS_EXCEEDED", id="third day in a row"),
]


@pytest.mark.parametrize(("rule", "history", "event", "broken"), ONE_RULE_BROKEN)
def test_availability_through_the_api_names_exactly_the_broken_rule(
        derms: httpx2.Client, derms_db: Engine, rule: dict[str, Any], history: list[tuple[str, str, bool]],
        event: dict[str, str], broken: str | None) -> None:
    program, nic = f"AV-{next(names)}", next(names)
    checked(derms.post("/program", json=program_message(program, 1, program[-14:], {**DERMS_RULE, **rule})))
    enroll(derms_db, program, f"S-{nic}", [nic], premise_id=f"PR-{nic}")
    if "premise" in event:
        checked(derms.put(f"/api/sensitive-premises/PR-{nic}", json={"kind": event["premise"]}))
    for index, (start, end, overridden) in enumerate(history):
        participate(derms_db, f"EV-{nic}-{index}", nic, start, end, overridden)
    window = {**EVENT, **{k: v for k, v in event.items() if k != "premise"}}
    answer = checked(derms.post("/api/availability", json={
        **window, "devices": [{"headEndSystem": "ECOCLOUD", "nicId": nic}]}))
    [device] = answer["devices"]
    assert device["available"] is (broken is None)
    assert [v["code"] for v in device["violations"]] == ([broken] if broken else [])
    assert all(v["text"] and v["overridable"] is False for v in device["violations"])
    assert answer["summary"]["unavailable"] == (0 if broken is None else 1)


def test_a_rule_marked_overridable_is_reported_but_does_not_block(derms: httpx2.Client, derms_db: Engine) -> None:
    checked(derms.post("/program", json=program_message("OVERRIDE-ME", 1, "44444444444444",
                                                        {**DERMS_RULE, "maxEventDurationMinutes": 60})))
    enroll(derms_db, "OVERRIDE-ME", "S-OVR", ["OVR-1", "OVR-2"])
    refused = derms.put("/api/programs/OVERRIDE-ME/overridable-rules", json={"reasons": ["LIFE_SUPPORT"]})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "reasons.0"
    checked(derms.put("/api/programs/OVERRIDE-ME/overridable-rules", json={"reasons": ["EVENT_TOO_LONG"]}))
    answer = checked(derms.post("/api/availability", json={**EVENT, "programCode": "OVERRIDE-ME"}))
    assert [d["available"] for d in answer["devices"]] == [True, True]
    assert answer["devices"][0]["violations"] == [
        {"code": "EVENT_TOO_LONG", "text": "the event is longer than the program's maximum event duration",
         "overridable": True}]
    assert answer["summary"]["reasons"] == [{"code": "EVENT_TOO_LONG", "devices": 2, "blocking": 0,
                                             "text": "the event is longer than the program's maximum event duration"}]


def test_unknown_devices_and_programs_without_rules_are_clear_errors(derms: httpx2.Client, derms_db: Engine) -> None:
    response = derms.post("/api/availability", json={**EVENT, "devices": [{"headEndSystem": "X", "nicId": "Y"}]})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "devices.0", "message": "no device X/Y in the registry",
                                          "type": "invalid_input"}]
    enroll(derms_db, "UNSYNCED", "S-UNSYNCED", ["UNSYNCED-1"])
    response = derms.post("/api/availability", json={**EVENT, "programCode": "UNSYNCED"})
    assert response.status_code == 409 and "no rules for program UNSYNCED" in response.json()["detail"]
    response = derms.post("/api/availability", json={**EVENT, "programCode": "X", "devices": [], "eventEnd": "x"})
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} >= {"devices", "eventEnd"}


def test_the_cli_manages_programs_and_rules_and_checks_availability(
        running_stack: BackgroundSystems, dacs: httpx2.Client, derms_db: Engine, tmp_path: Any) -> None:
    env = settings_env(running_stack.settings)
    runner = CliRunner(env=env)
    program = tmp_path / "program.json"
    program.write_text('{"programCode": "CLIPROG", "name": "Via the CLI", "programTypeCode": "DR", '
                       '"startDate": "2026-01-01", "eligibleRates": ["R1"]}')
    rule = tmp_path / "rule.json"
    rule.write_text(json.dumps(with_changes(RULE, ruleCode="CLIRULE")))
    assert runner.invoke(cli, ["programs", "create", str(program)]).exit_code == 0
    created = runner.invoke(cli, ["rules", "create", str(rule)])
    assert created.exit_code == 0, created.output
    [rule_id] = [r["ruleId"] for r in checked(dacs.get("/api/rules")) if r["ruleCode"] == "CLIRULE"]
    assert runner.invoke(cli, ["rules", "associate", rule_id, "CLIPROG"]).exit_code == 0
    assert runner.invoke(cli, ["programs", "status", "CLIPROG", "PENDING_APPROVAL"]).exit_code == 0
    refused = runner.invoke(cli, ["programs", "status", "CLIPROG", "INACTIVE"])
    assert refused.exit_code == 1 and "409" in refused.output
    approved = runner.invoke(cli, ["programs", "status", "CLIPROG", "ACTIVE", "--approved-by", "Pat"])
    assert approved.exit_code == 0 and '"syncRequestId"' in approved.output
    listed = runner.invoke(cli, ["programs", "list"])
    assert "CLIPROG" in listed.output and "CLIRULE" in listed.output
    assert "CLIRULE" in runner.invoke(cli, ["rules", "list"]).output

    with operator_client(running_stack.settings, "derms") as derms:
        checked(derms.post("/program", json=program_message("CLIAVAIL", 1, "55555555555555",
                                                            {**DERMS_RULE, "allowedEventDays": WEEKDAYS[:2]})))
    enroll(derms_db, "CLIAVAIL", "S-CLI", ["CLI-1", "CLI-2", "CLI-3"])
    checked_out = runner.invoke(cli, ["availability", "check", "--program", "CLIAVAIL", "--start", EVENT["eventStart"],
                                      "--end", EVENT["eventEnd"], "--now", EVENT["now"], "--limit", "2"])
    assert checked_out.exit_code == 0, checked_out.output
    assert "3 devices: 0 available, 3 not" in checked_out.output
    assert "EVENT_DAY_NOT_ALLOWED" in checked_out.output and "first 2 of 3" in checked_out.output
    marked = runner.invoke(cli, ["availability", "overridable", "CLIAVAIL", "EVENT_DAY_NOT_ALLOWED"])
    assert marked.exit_code == 0 and "EVENT_DAY_NOT_ALLOWED" in marked.output
    one = runner.invoke(cli, ["availability", "check", "--device", "ECOCLOUD/CLI-2", "--start", EVENT["eventStart"],
                              "--end", EVENT["eventEnd"], "--now", EVENT["now"]])
    assert "1 devices: 1 available, 0 not" in one.output and "(overridable)" in one.output


def test_derms_takes_rule_sets_in_batches_answering_each_on_its_own(derms: httpx2.Client) -> None:
    good = program_message("BATCHED", 1, "66666666666666")
    bad = program_message("BATCHED-BAD", 1, "66666666666667", with_changes(DERMS_RULE, allowedOverrides=-1))
    answer = checked(derms.post("/program/batch", json={"messages": [good, bad, good]}))
    assert [result["status"] for result in answer["results"]] == [202, 422, 200]
    assert answer["results"][1]["body"]["errors"][0]["field"] == "rules.0.allowedOverrides"
    assert checked(derms.get("/api/programs/BATCHED"))["rulesVersion"] == 1
    assert derms.get("/api/programs/BATCHED-BAD").status_code == 404


def test_the_program_system_takes_rules_acks_in_batches(dacs: httpx2.Client) -> None:
    answer = checked(dacs.post("/rest/apis/cross/digitalAssets/programRules/postAcknowledgement/batch", json={
        "messages": [{"syncRequestId": "00000000000001", "hasError": False}, {"hasError": False}]}))
    assert [result["status"] for result in answer["results"]] == [404, 422]
