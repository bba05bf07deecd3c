"""Availability of devices for an event: each program rule on its own, the fleet version against the
one-device version, an independent re-statement of the rules, and validation of program rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from derbridge.derms.availability.engine import (
    Availability,
    DeviceHistory,
    EventWindow,
    Reason,
    availability_of,
    fleet_availability,
    fleet_frames,
)
from derbridge.derms.availability.rule_set import DailyWindow, InvalidProgramRules, ProgramRules, validate_rules
from derbridge.errors import PermanentError

CHICAGO = "America/Chicago"
EVENT_DAY = date(2026, 7, 15)  # a Wednesday; Chicago is on UTC-5 in July

RULES = ProgramRules(
    available_for_events=True, allowed_overrides=2, max_event_duration=timedelta(hours=4),
    allowed_event_days=frozenset({0, 1, 2, 3, 4}), cycle_frequency="MONTH",
    event_window=DailyWindow(time(12), time(19)), min_notice=timedelta(hours=2),
    max_events_per_season=20, max_events_per_month=8, max_events_per_week=3,
    max_event_hours_per_year=40.0, max_consecutive_days=3,
)


def chicago(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(CHICAGO)).astimezone(UTC)


WINDOW = EventWindow(start=chicago(EVENT_DAY, 14), end=chicago(EVENT_DAY, 16), now=chicago(EVENT_DAY, 8),
                     timezone=CHICAGO)
DEVICE = DeviceHistory("dev-1")


def fleet_reasons(device: DeviceHistory, rules: ProgramRules, window: EventWindow) -> tuple[bool, list[str]]:
    result = fleet_availability(*fleet_frames([device]), rules, window)
    return result["available"][0], result["reasons"][0].to_list()


def test_the_reference_device_is_available_for_the_reference_event() -> None:
    assert availability_of(DEVICE, RULES, WINDOW) == Availability(available=True, reasons=())
    assert fleet_reasons(DEVICE, RULES, WINDOW) == (True, [])


# One row per rule: the reference device and event with one change that breaks exactly that rule.
ONE_RULE_BROKEN = [
    pytest.param({"available_for_events": False}, {}, {}, Reason.PROGRAM_NOT_AVAILABLE,
                 id="program not available for events"),
    pytest.param({"allowed_event_days": frozenset({0, 1, 3, 4})}, {}, {}, Reason.EVENT_DAY_NOT_ALLOWED,
                 id="Wednesday not an allowed event day"),
    pytest.param({}, {}, {"start": chicago(EVENT_DAY, 11), "end": chicago(EVENT_DAY, 13)},
                 Reason.OUTSIDE_EVENT_WINDOW, id="event starts before the daily window"),
    pytest.param({}, {}, {"start": chicago(EVENT_DAY, 17), "end": chicago(EVENT_DAY, 20)},
                 Reason.OUTSIDE_EVENT_WINDOW, id="event ends after the daily window"),
    pytest.param({"max_event_duration": timedelta(hours=1)}, {}, {}, Reason.EVENT_TOO_LONG,
                 id="event longer than the maximum duration"),
    pytest.param({"min_notice": timedelta(hours=7)}, {}, {}, Reason.INSUFFICIENT_NOTICE,
                 id="planned with less notice than required"),
    pytest.param({}, {"life_support": True}, {}, Reason.LIFE_SUPPORT, id="life-support premise"),
    pytest.param({}, {"unavailable": ((chicago(EVENT_DAY, 15), chicago(EVENT_DAY, 18)),)}, {},
                 Reason.UNAVAILABLE_DECLARED, id="declared unavailable during the event"),
    pytest.param({}, {"overrides_this_cycle": 3}, {}, Reason.OVERRIDES_EXCEEDED,
                 id="more overrides this cycle than allowed"),
    pytest.param({}, {"events_this_week": 3}, {}, Reason.WEEKLY_CAP_REACHED, id="weekly cap reached"),
    pytest.param({}, {"events_this_month": 8}, {}, Reason.MONTHLY_CAP_REACHED, id="monthly cap reached"),
    pytest.param({}, {"events_this_season": 20}, {}, Reason.SEASONAL_CAP_REACHED, id="seasonal cap reached"),
    pytest.param({}, {"event_hours_this_year": 38.5}, {}, Reason.ANNUAL_HOURS_EXCEEDED,
                 id="event would pass the yearly event hours"),
    pytest.param({}, {"recent_event_days": (date(2026, 7, 12), date(2026, 7, 13), date(2026, 7, 14))}, {},
                 Reason.CONSECUTIVE_DAYS_EXCEEDED, id="fourth event day in a row"),
    pytest.param({}, {"recent_event_days": (date(2026, 7, 14), date(2026, 7, 16), date(2026, 7, 17))}, {},
                 Reason.CONSECUTIVE_DAYS_EXCEEDED, id="event fills the gap in a run of event days"),
]


@pytest.mark.parametrize(("rules_change", "device_change", "window_change", "reason"), ONE_RULE_BROKEN)
def test_breaking_one_rule_gives_exactly_that_reason(rules_change: dict[str, Any],
                                                     device_change: dict[str, Any],
                                                     window_change: dict[str, Any], reason: Reason) -> None:
    rules, device = replace(RULES, **rules_change), replace(DEVICE, **device_change)
    window = replace(WINDOW, **window_change)
    assert availability_of(device, rules, window) == Availability(available=False, reasons=(reason,))
    assert fleet_reasons(device, rules, window) == (False, [reason.value])


def test_every_reason_has_a_table_row_and_a_text() -> None:
    from_the_score_set = {Reason.NOT_ELIGIBLE}  # judged from the set in force, not by a program rule
    assert {param.values[3] for param in ONE_RULE_BROKEN} == set(Reason) - from_the_score_set
    assert all(reason.text for reason in Reason)


# One row per boundary: as far as a rule lets a device go, and still available.
AT_THE_LIMIT = [
    pytest.param({}, {"events_this_week": 2, "events_this_month": 7, "events_this_season": 19},
                 {}, id="one event left under every cap"),
    pytest.param({}, {"overrides_this_cycle": 2}, {}, id="every allowed override used"),
    pytest.param({}, {"event_hours_this_year": 38.0}, {}, id="event brings the hours exactly to the cap"),
    pytest.param({"min_notice": timedelta(hours=6)}, {}, {}, id="notice exactly the minimum"),
    pytest.param({}, {}, {"start": chicago(EVENT_DAY, 15), "end": chicago(EVENT_DAY, 19)},
                 id="event ends exactly at the window's end and lasts exactly the maximum"),
    pytest.param({}, {"unavailable": ((chicago(EVENT_DAY, 10), chicago(EVENT_DAY, 14)),
                                      (chicago(EVENT_DAY, 16), chicago(EVENT_DAY, 18)))}, {},
                 id="unavailability ends as the event starts and starts as it ends"),
    pytest.param({}, {"recent_event_days": (date(2026, 7, 13), date(2026, 7, 14), date(2026, 7, 11))}, {},
                 id="third event day in a row"),
    pytest.param({"max_events_per_week": None, "max_events_per_month": None, "max_events_per_season": None,
                  "max_event_hours_per_year": None, "max_consecutive_days": None},
                 {"events_this_week": 99, "events_this_month": 99, "events_this_season": 99,
                  "event_hours_this_year": 9999.0, "recent_event_days": tuple(EVENT_DAY - timedelta(days=n)
                                                                              for n in range(1, 30))},
                 {}, id="no caps at all"),
    pytest.param({"exclude_life_support": False}, {"life_support": True}, {},
                 id="life support allowed by a program that does not exclude it"),
]


@pytest.mark.parametrize(("rules_change", "device_change", "window_change"), AT_THE_LIMIT)
def test_a_device_at_the_limit_of_a_rule_is_still_available(rules_change: dict[str, Any],
                                                            device_change: dict[str, Any],
                                                            window_change: dict[str, Any]) -> None:
    rules, device = replace(RULES, **rules_change), replace(DEVICE, **device_change)
    window = replace(WINDOW, **window_change)
    assert availability_of(device, rules, window) == Availability(available=True, reasons=())
    assert fleet_reasons(device, rules, window) == (True, [])


def test_every_broken_rule_is_named_in_a_fixed_order() -> None:
    device = replace(DEVICE, life_support=True, events_this_week=5)
    rules = replace(RULES, allowed_event_days=frozenset({5, 6}))
    expected = (Reason.EVENT_DAY_NOT_ALLOWED, Reason.LIFE_SUPPORT, Reason.WEEKLY_CAP_REACHED)
    assert availability_of(device, rules, WINDOW).reasons == expected
    assert fleet_reasons(device, rules, WINDOW) == (False, [reason.value for reason in expected])


def test_reasons_come_with_a_human_explanation() -> None:
    explained = availability_of(replace(DEVICE, life_support=True), RULES, WINDOW).explained()
    assert explained == ("LIFE_SUPPORT: the premise has life-support or sensitive-load equipment",)


def test_the_daily_window_is_read_on_the_local_clock_across_daylight_saving() -> None:
    winter = date(2026, 1, 14)  # a Wednesday; Chicago is on UTC-6
    at_midnight_utc: dict[str, Any] = {"start": datetime(2026, 1, 15, 0, tzinfo=UTC),
                       "end": datetime(2026, 1, 15, 1, tzinfo=UTC), "now": chicago(winter, 8)}
    assert availability_of(DEVICE, RULES, replace(WINDOW, **at_midnight_utc)).available  # 18:00–19:00 local
    summer: dict[str, Any] = {"start": datetime(2026, 7, 16, 0, tzinfo=UTC),
                              "end": datetime(2026, 7, 16, 1, tzinfo=UTC)}
    assert availability_of(DEVICE, RULES, replace(WINDOW, **summer)).reasons == (Reason.OUTSIDE_EVENT_WINDOW,)


def test_an_event_running_into_a_disallowed_day_breaks_the_day_rule_too() -> None:
    friday_night: dict[str, Any] = {"start": chicago(date(2026, 7, 17), 18),
                                    "end": chicago(date(2026, 7, 18), 1)}
    reasons = availability_of(DEVICE, replace(RULES, max_event_duration=timedelta(hours=8)),
                              replace(WINDOW, **friday_night)).reasons
    assert reasons == (Reason.EVENT_DAY_NOT_ALLOWED, Reason.OUTSIDE_EVENT_WINDOW)


def test_unavailability_of_other_devices_does_not_count() -> None:
    fleet, _ = fleet_frames([DEVICE])
    _, others = fleet_frames([replace(DEVICE, device_id="dev-2", unavailable=((WINDOW.start, WINDOW.end),))])
    assert fleet_availability(fleet, others, RULES, WINDOW)["available"].to_list() == [True]


def test_the_fleet_version_keeps_the_fleet_order_and_handles_an_empty_fleet() -> None:
    devices = [replace(DEVICE, device_id=f"dev-{n}", events_this_week=n) for n in range(6)]
    result = fleet_availability(*fleet_frames(devices), RULES, WINDOW)
    assert result["device_id"].to_list() == [d.device_id for d in devices]
    assert result["available"].to_list() == [True, True, True, False, False, False]
    empty = fleet_availability(*fleet_frames([]), RULES, WINDOW)
    assert empty.columns == ["device_id", "available", "reasons"]
    assert empty.height == 0


def test_the_fleet_version_refuses_missing_columns_and_nulls() -> None:
    fleet, unavailability = fleet_frames([DEVICE])
    with pytest.raises(ValueError, match="lacks columns \\['life_support'\\]"):
        fleet_availability(fleet.drop("life_support"), unavailability, RULES, WINDOW)
    with pytest.raises(ValueError, match="nulls in \\['events_this_week'\\]"):
        fleet_availability(fleet.with_columns(events_this_week=pl.lit(None, dtype=pl.Int64)),
                           unavailability, RULES, WINDOW)


@pytest.mark.parametrize(("change", "message"), [
    ({"start": datetime(2026, 7, 15, 14), "end": datetime(2026, 7, 15, 16)}, "must be timezone-aware"),  # noqa: DTZ001 (naive on purpose: refused)
    ({"end": WINDOW.start}, "must be after start"),
    ({"timezone": "Mars/Olympus_Mons"}, "Mars/Olympus_Mons"),
])
def test_an_event_window_must_be_well_formed(change: dict[str, Any], message: str) -> None:
    with pytest.raises((ValueError, KeyError), match=message):
        replace(WINDOW, **change)


# ---- validation of program rules ----

BAD_RULES = [
    pytest.param("available_for_events", "yes", "true or false", id="availability not a flag"),
    pytest.param("allowed_overrides", -1, "at least 0", id="negative overrides"),
    pytest.param("allowed_overrides", 1.5, "whole number", id="fractional overrides"),
    pytest.param("max_event_duration", timedelta(0), "longer than zero", id="zero-length maximum duration"),
    pytest.param("max_event_duration", timedelta(hours=-1), "longer than zero",
                 id="negative maximum duration"),
    pytest.param("allowed_event_days", frozenset(), "non-empty", id="no allowed days"),
    pytest.param("allowed_event_days", frozenset({1, 7}), "0 \\(Monday\\) to 6 \\(Sunday\\)", id="day 7"),
    pytest.param("cycle_frequency", "DAY", "WEEK, MONTH, SEASON", id="unknown cycle"),
    pytest.param("event_window", DailyWindow(time(19), time(12)), "end 12:00:00 must be after start 19:00:00",
                 id="window ends before it starts"),
    pytest.param("event_window", DailyWindow(time(12), time(12)), "must be after start", id="empty window"),
    pytest.param("min_notice", timedelta(minutes=-5), "zero or more", id="negative notice"),
    pytest.param("max_events_per_season", -1, "at least 0", id="negative seasonal cap"),
    pytest.param("max_events_per_month", -2, "at least 0", id="negative monthly cap"),
    pytest.param("max_events_per_week", "3", "whole number", id="weekly cap not a number"),
    pytest.param("max_event_hours_per_year", -0.5, "zero or more", id="negative hours cap"),
    pytest.param("max_event_hours_per_year", float("inf"), "finite", id="infinite hours cap"),
    pytest.param("max_consecutive_days", 0, "at least 1", id="zero consecutive days"),
    pytest.param("exclude_life_support", None, "true or false", id="life-support exclusion not a flag"),
]


@pytest.mark.parametrize(("field", "value", "message"), BAD_RULES)
def test_a_bad_rule_is_refused_naming_its_field(field: str, value: Any, message: str) -> None:
    with pytest.raises(InvalidProgramRules, match=message) as refused:
        validate_rules(replace(RULES, **{field: value}))
    assert list(refused.value.problems) == [field]
    assert f"{field}: " in str(refused.value)


def test_every_bad_field_is_named_at_once() -> None:
    rules = replace(RULES, allowed_overrides=-1, allowed_event_days=frozenset(),
                    event_window=DailyWindow(time(19), time(12)), max_events_per_week=-3)
    with pytest.raises(InvalidProgramRules) as refused:
        validate_rules(rules)
    assert set(refused.value.problems) == {"allowed_overrides", "allowed_event_days", "event_window",
                                           "max_events_per_week"}


def test_good_rules_pass_unchanged_and_a_refusal_is_permanent() -> None:
    assert validate_rules(RULES) is RULES
    assert validate_rules(replace(RULES, max_events_per_week=0, min_notice=timedelta(0))) is not None
    assert issubclass(InvalidProgramRules, PermanentError)


# ---- properties: random rules, events and devices ----

ZONES = ["UTC", "America/Chicago", "Europe/Paris", "Australia/Sydney", "Asia/Kolkata"]
MINUTE = timedelta(minutes=1)


def minutes(low: int, high: int) -> st.SearchStrategy[timedelta]:
    return st.integers(low, high).map(lambda n: timedelta(minutes=n))


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


@st.composite
def daily_windows(draw: st.DrawFn) -> DailyWindow:
    start = draw(st.integers(0, 24 * 60 - 2))
    end = draw(st.integers(start + 1, 24 * 60 - 1))
    return DailyWindow(time(start // 60, start % 60), time(end // 60, end % 60))


rules_strategy = st.builds(
    ProgramRules,
    available_for_events=st.booleans() | st.just(True),
    allowed_overrides=st.integers(0, 3),
    max_event_duration=minutes(30, 6 * 60),
    allowed_event_days=st.frozensets(st.integers(0, 6), min_size=1),
    cycle_frequency=st.sampled_from(["WEEK", "MONTH", "SEASON"]),
    event_window=daily_windows(),
    min_notice=minutes(0, 48 * 60),
    max_events_per_season=optional(st.integers(0, 10)),
    max_events_per_month=optional(st.integers(0, 6)),
    max_events_per_week=optional(st.integers(0, 3)),
    max_event_hours_per_year=optional(st.integers(0, 80).map(lambda n: n / 2)),
    max_consecutive_days=optional(st.integers(1, 4)),
    exclude_life_support=st.booleans(),
)


@st.composite
def windows(draw: st.DrawFn, rules: ProgramRules) -> EventWindow:
    """Half the time an event that fits the program's window-level rules, half the time anything."""
    zone = draw(st.sampled_from(ZONES))
    day = date(2026, 1, 1) + timedelta(days=draw(st.integers(0, 364)))
    if draw(st.booleans()):
        day += timedelta(days=(min(rules.allowed_event_days) - day.weekday()) % 7)
        window_start = rules.event_window.start.hour * 60 + rules.event_window.start.minute
        window_end = rules.event_window.end.hour * 60 + rules.event_window.end.minute
        start_minute = draw(st.integers(window_start, window_end - 1))
        length = draw(st.integers(1, min(window_end - start_minute, rules.max_event_duration // MINUTE)))
        local = datetime.combine(day, time(start_minute // 60, start_minute % 60), ZoneInfo(zone))
        start = local.astimezone(UTC)
        now = start - rules.min_notice - draw(minutes(0, 600))
    else:
        start = datetime.combine(day, time(0), UTC) + draw(minutes(0, 24 * 60 - 1))
        length = draw(st.integers(1, 8 * 60))
        now = start - draw(minutes(-60, 72 * 60))
    return EventWindow(start=start, end=start + length * MINUTE, now=now, timezone=zone)


@st.composite
def devices(draw: st.DrawFn, window: EventWindow, device_id: str) -> DeviceHistory:
    near_event = st.integers(-6, 6).map(lambda n: window.local_dates()[0] + timedelta(days=n))
    spans = st.tuples(minutes(-600, 600), minutes(1, 600)).map(
        lambda offset_length: (window.start + offset_length[0],
                               window.start + offset_length[0] + offset_length[1]))
    return DeviceHistory(
        device_id=device_id,
        life_support=draw(often(False, st.booleans())),
        events_this_week=draw(often(0, st.integers(0, 4))),
        events_this_month=draw(often(0, st.integers(0, 7))),
        events_this_season=draw(often(0, st.integers(0, 11))),
        event_hours_this_year=draw(often(0.0, st.integers(0, 90).map(lambda n: n / 2))),
        overrides_this_cycle=draw(often(0, st.integers(0, 4))),
        recent_event_days=tuple(draw(often([], st.lists(near_event, max_size=8)))),
        unavailable=tuple(draw(often([], st.lists(spans, max_size=3)))),
    )


def often(harmless: Any, strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A value that breaks no rule two times in three, so that available devices are common enough."""
    return st.integers(0, 2).flatmap(lambda pick: strategy if pick == 0 else st.just(harmless))


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[ProgramRules, EventWindow, list[DeviceHistory]]:
    rules = draw(rules_strategy)
    window = draw(windows(rules))
    fleet_size = draw(st.integers(1, 12))
    return rules, window, [draw(devices(window, f"dev-{n}")) for n in range(fleet_size)]


def restated_violations(device: DeviceHistory, rules: ProgramRules, window: EventWindow) -> set[Reason]:
    """Each rule said again in the plainest way, minute by minute where time is involved."""
    zone = ZoneInfo(window.timezone)
    instants = [window.start + n * MINUTE for n in range((window.end - window.start) // MINUTE + 1)]
    during = instants[:-1]  # the end is exclusive
    local_start_day = window.start.astimezone(zone).date()
    hours = (window.end - window.start).total_seconds() / 3600
    event_days = {moment.astimezone(zone).date() for moment in during}
    violated = {
        Reason.PROGRAM_NOT_AVAILABLE: rules.available_for_events is False,
        Reason.EVENT_DAY_NOT_ALLOWED: any(day.weekday() not in rules.allowed_event_days
                                          for day in event_days),
        Reason.OUTSIDE_EVENT_WINDOW: not all(
            moment.astimezone(zone).date() == local_start_day
            and rules.event_window.start <= moment.astimezone(zone).time() <= rules.event_window.end
            for moment in instants),
        Reason.EVENT_TOO_LONG: window.end > window.start + rules.max_event_duration,
        Reason.INSUFFICIENT_NOTICE: window.start < window.now + rules.min_notice,
        Reason.LIFE_SUPPORT: device.life_support and rules.exclude_life_support,
        Reason.UNAVAILABLE_DECLARED: any(max(start, window.start) < min(end, window.end)
                                         for start, end in device.unavailable),
        Reason.OVERRIDES_EXCEEDED: device.overrides_this_cycle > rules.allowed_overrides,
        Reason.WEEKLY_CAP_REACHED: exceeds(device.events_this_week + 1, rules.max_events_per_week),
        Reason.MONTHLY_CAP_REACHED: exceeds(device.events_this_month + 1, rules.max_events_per_month),
        Reason.SEASONAL_CAP_REACHED: exceeds(device.events_this_season + 1, rules.max_events_per_season),
        Reason.ANNUAL_HOURS_EXCEEDED: exceeds(device.event_hours_this_year + hours,
                                              rules.max_event_hours_per_year),
        Reason.CONSECUTIVE_DAYS_EXCEEDED: exceeds(run_through(set(device.recent_event_days), event_days),
                                                  rules.max_consecutive_days),
    }
    return {reason for reason, is_violated in violated.items() if is_violated}


def exceeds(amount: float, cap: float | None) -> bool:
    return cap is not None and amount > cap


def run_through(recent_days: set[date], event_days: set[date]) -> int:
    """Length of the run of back-to-back days, among all event days, that holds this event."""
    ordered = sorted(recent_days | event_days)
    runs: list[list[date]] = []
    for day in ordered:
        if runs and day - runs[-1][-1] == timedelta(days=1):
            runs[-1].append(day)
        else:
            runs.append([day])
    return next(len(run) for run in runs if min(event_days) in run)


def local_clock_is_steady(window: EventWindow) -> bool:
    """No daylight-saving change during the event: then minute-by-minute and end-point checks must agree."""
    return window.local_start.utcoffset() == window.local_end.utcoffset()


PROPERTY_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(scenarios())
def test_the_fleet_version_agrees_with_the_one_device_version(
        scenario: tuple[ProgramRules, EventWindow, list[DeviceHistory]]) -> None:
    rules, window, fleet = scenario
    result = fleet_availability(*fleet_frames(fleet), rules, window)
    for device, row in zip(fleet, result.iter_rows(named=True), strict=True):
        one = availability_of(device, rules, window)
        assert (row["device_id"], row["available"], row["reasons"]) == (
            device.device_id, one.available, [reason.value for reason in one.reasons])


@PROPERTY_SETTINGS
@given(scenarios())
def test_reasons_are_exactly_the_rules_broken_and_an_available_device_breaks_none(
        scenario: tuple[ProgramRules, EventWindow, list[DeviceHistory]]) -> None:
    rules, window, fleet = scenario
    assume(local_clock_is_steady(window))
    for device in fleet:
        result = availability_of(device, rules, window)
        restated = restated_violations(device, rules, window)
        if result.available:
            assert restated == set()
        assert set(result.reasons) == restated


@settings(max_examples=200, deadline=None)
@given(rules_strategy)
def test_any_rules_built_from_valid_values_pass_validation(rules: ProgramRules) -> None:
    assert validate_rules(rules) is rules
