"""F2 mapping: the program system's rules sync becomes a program message the reference DERMS accepts, with
the AllowEventDays and CycleFrequency values translated; DERMS's ack becomes the program system's ack."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from derbridge.dacs.sync.api import SyncAcknowledgement
from derbridge.derms.acks import RULES_CONFLICT, refusal, sync_ack
from derbridge.derms.programs.rules import ProgramMessage, check_rules
from derbridge.hub.flows.f2_rules import DacsProgramRulesSync, to_derms
from derbridge.hub.flows.wire import DermsSyncAck, sync_ack_to_dacs
from derbridge.hub.lookup_catalog import ALLOW_EVENT_DAYS, CYCLE_FREQUENCY, DACS, DERMS, SEEDS
from derbridge.hub.lookups import LookupMissing, Lookups

RULE = {
    "ruleId": "111122223333", "ruleCode": "SUMMER", "description": "Summer peak", "availableForEvents": True,
    "allowedOverrides": 2, "maxEventDurationMinutes": 240, "allowEventDays": ["MON", "TUE", "WED", "THU", "FRI"],
    "cycleFrequency": "MONTHLY", "maxEventsPerSeason": 20, "maxEventsPerMonth": 8, "maxEventsPerWeek": 3,
    "maxEventHoursPerYear": 40.0, "eventWindow": {"start": "12:00", "end": "19:00"}, "minNoticeMinutes": 120,
    "maxConsecutiveDays": 3, "excludeLifeSupport": True,
}
LOOKUPS = Lookups.of(SEEDS)
DAYS = {row[DACS]: row[DERMS] for row in LOOKUPS.get(ALLOW_EVENT_DAYS).records()}
CYCLES = {row[DACS]: row[DERMS] for row in LOOKUPS.get(CYCLE_FREQUENCY).records()}
SYNC = {"syncRequestId": "12345678901234", "programId": "998877665544", "programCode": "SMARTSTAT",
        "programStatus": "ACTIVE", "rulesVersion": 4, "rules": [RULE]}


def with_rule(**changes: Any) -> dict[str, Any]:
    sync = copy.deepcopy(SYNC)
    sync["rules"][0].update(changes)
    return sync


def test_a_sync_maps_field_by_field_to_the_derms_program_message() -> None:
    assert to_derms(DacsProgramRulesSync.model_validate(SYNC), LOOKUPS) == {
        "dacsMessageId": "12345678901234", "programId": "998877665544", "programCode": "SMARTSTAT",
        "rulesVersion": 4,
        "rules": [{
            "ruleId": "111122223333", "ruleCode": "SUMMER", "description": "Summer peak",
            "availableForEvents": True, "allowedOverrides": 2, "maxEventDurationMinutes": 240,
            "allowedEventDays": ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"],
            "cycleFrequency": "MONTH", "maxEventsPerSeason": 20, "maxEventsPerMonth": 8, "maxEventsPerWeek": 3,
            "maxEventHoursPerYear": 40.0, "eventWindowStart": "12:00:00", "eventWindowEnd": "19:00:00",
            "minNoticeMinutes": 120, "maxConsecutiveDays": 3, "excludeLifeSupport": True,
        }],
    }


@pytest.mark.parametrize(("ours", "theirs"), list(CYCLES.items()))
def test_each_cycle_frequency_is_translated(ours: str, theirs: str) -> None:
    mapped = to_derms(DacsProgramRulesSync.model_validate(with_rule(cycleFrequency=ours)), LOOKUPS)
    assert mapped["rules"][0]["cycleFrequency"] == theirs


def test_an_empty_rule_set_is_a_valid_message_meaning_no_rules() -> None:
    assert to_derms(DacsProgramRulesSync.model_validate({**SYNC, "rules": []}), LOOKUPS)["rules"] == []


BAD_SYNCS = [
    pytest.param(with_rule(eventWindow={"start": "19:00", "end": "12:00"}), {"rules.0.eventWindow.end"},
                 id="window ends before it starts"),
    pytest.param(with_rule(allowedOverrides=-1, maxEventsPerWeek=-2, maxEventHoursPerYear=-1),
                 {"rules.0.allowedOverrides", "rules.0.maxEventsPerWeek", "rules.0.maxEventHoursPerYear"},
                 id="negative caps"),
    pytest.param(with_rule(allowEventDays=["MON", "MON"], cycleFrequency=""),
                 {"rules.0.allowEventDays", "rules.0.cycleFrequency"}, id="a day twice, no cycle"),
    pytest.param(with_rule(maxEventDurationMinutes=0, maxConsecutiveDays=0),
                 {"rules.0.maxEventDurationMinutes", "rules.0.maxConsecutiveDays"}, id="zero where at least one"),
    pytest.param({**SYNC, "programStatus": "INACTIVE", "rulesVersion": 0}, {"programStatus", "rulesVersion"},
                 id="not an active program, no version"),
]


@pytest.mark.parametrize(("body", "fields"), BAD_SYNCS)
def test_the_hub_refuses_a_bad_sync_naming_each_field(body: dict[str, Any], fields: set[str]) -> None:
    with pytest.raises(ValidationError) as refused:
        DacsProgramRulesSync.model_validate(body)
    assert {".".join(str(part) for part in error["loc"]) for error in refused.value.errors()} == fields


@pytest.mark.parametrize("change", [{"allowEventDays": ["MON", "FUNDAY"]}, {"cycleFrequency": "DAILY"}])
def test_a_value_the_lookups_do_not_know_cannot_be_mapped(change: dict[str, Any]) -> None:
    with pytest.raises(LookupMissing, match="FUNDAY|DAILY"):
        to_derms(DacsProgramRulesSync.model_validate(with_rule(**change)), LOOKUPS)


def test_derms_refusal_of_conflicting_rules_becomes_numeric_exception_info_the_program_system_takes() -> None:
    ack = sync_ack("SR1", datetime(2026, 1, 1, tzinfo=UTC), [refusal(RULES_CONFLICT, "x" * 400)])
    mapped = sync_ack_to_dacs(DermsSyncAck.model_validate(ack), LOOKUPS)
    assert mapped == {"syncRequestId": "SR1", "hasError": True, "receivedDateTimeISO": "2026-01-01T00:00:00.000Z",
                      "exceptionInfo": [{"messageCategory": 90200, "messageNumber": 204, "comments": "x" * 254,
                                         "messageParameters": []}]}
    accepted = SyncAcknowledgement.model_validate(mapped)
    assert (accepted.exceptionInfo[0].messageCategory, accepted.exceptionInfo[0].messageNumber) == (90200, 204)


@given(days=st.lists(st.sampled_from(list(DAYS)), min_size=1, max_size=7, unique=True),
       cycle=st.sampled_from(list(CYCLES)),
       start=st.times(max_value=time(22, 59)), hours=st.integers(min_value=1, max_value=60),
       caps=st.lists(st.none() | st.integers(min_value=0, max_value=1000), min_size=3, max_size=3),
       version=st.integers(min_value=1, max_value=2**31 - 1))
def test_every_valid_sync_maps_to_a_message_the_reference_derms_accepts(
        days: list[str], cycle: str, start: time, hours: int, caps: list[int | None], version: int) -> None:
    end = time(min(23, start.hour + 1 + hours // 60), 59)
    sync = DacsProgramRulesSync.model_validate({**with_rule(
        allowEventDays=days, cycleFrequency=cycle, eventWindow={"start": start.isoformat(), "end": end.isoformat()},
        maxEventsPerSeason=caps[0], maxEventsPerMonth=caps[1], maxEventsPerWeek=caps[2]), "rulesVersion": version})
    accepted = ProgramMessage.model_validate(to_derms(sync, LOOKUPS))
    [rules] = check_rules(accepted)
    assert accepted.rulesVersion == version
    assert rules.allowed_event_days == {list(DAYS).index(day) for day in days}
    assert rules.cycle_frequency == CYCLES[cycle]
    assert (rules.event_window.start, rules.event_window.end) == (start, end)
    assert [rules.max_events_per_season, rules.max_events_per_month, rules.max_events_per_week] == caps
