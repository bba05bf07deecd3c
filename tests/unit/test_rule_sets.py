"""DERMS's view of a program's rules: several rules combine into the most restrictive set, and the calendar
periods participation is counted in (local week, month, meteorological season, year)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from derbridge.derms.availability.participation import periods_of, season_start
from derbridge.derms.availability.rule_set import DailyWindow, ProgramRules
from derbridge.derms.programs.rules import combined
from derbridge.errors import Conflict

BASE = ProgramRules(
    available_for_events=True, allowed_overrides=3, max_event_duration=timedelta(hours=4),
    allowed_event_days=frozenset(range(5)), cycle_frequency="WEEK", event_window=DailyWindow(time(12), time(19)),
    min_notice=timedelta(hours=1), max_events_per_season=None, max_events_per_month=10, max_events_per_week=3,
    max_event_hours_per_year=None, max_consecutive_days=None, exclude_life_support=False,
)


def test_one_rule_is_its_own_combination() -> None:
    assert combined([BASE]) == BASE


def test_several_rules_combine_into_the_most_restrictive_of_each_attribute() -> None:
    other = replace(BASE, available_for_events=True, allowed_overrides=1, max_event_duration=timedelta(hours=2),
                    allowed_event_days=frozenset({2, 3, 4, 5}), cycle_frequency="MONTH",
                    event_window=DailyWindow(time(14), time(20)), min_notice=timedelta(hours=6),
                    max_events_per_season=12, max_events_per_month=None, max_events_per_week=5,
                    max_event_hours_per_year=30.0, max_consecutive_days=2, exclude_life_support=True)
    assert combined([BASE, other]) == ProgramRules(
        available_for_events=True, allowed_overrides=1, max_event_duration=timedelta(hours=2),
        allowed_event_days=frozenset({2, 3, 4}), cycle_frequency="MONTH",
        event_window=DailyWindow(time(14), time(19)), min_notice=timedelta(hours=6), max_events_per_season=12,
        max_events_per_month=10, max_events_per_week=3, max_event_hours_per_year=30.0, max_consecutive_days=2,
        exclude_life_support=True)


def test_one_rule_closed_to_events_closes_the_program() -> None:
    assert combined([BASE, replace(BASE, available_for_events=False)]).available_for_events is False


@pytest.mark.parametrize("other", [
    pytest.param(replace(BASE, allowed_event_days=frozenset({5, 6})), id="no common day"),
    pytest.param(replace(BASE, event_window=DailyWindow(time(7), time(12))), id="windows only touch"),
])
def test_rules_that_leave_no_event_possible_are_refused(other: ProgramRules) -> None:
    with pytest.raises(Conflict):
        combined([BASE, other])


def test_a_program_without_rules_has_no_combination() -> None:
    with pytest.raises(Conflict, match="no rules"):
        combined([])


@pytest.mark.parametrize(("day", "first"), [
    (date(2026, 1, 15), date(2025, 12, 1)), (date(2026, 2, 28), date(2025, 12, 1)),
    (date(2026, 3, 1), date(2026, 3, 1)), (date(2026, 5, 31), date(2026, 3, 1)),
    (date(2026, 7, 15), date(2026, 6, 1)), (date(2026, 11, 30), date(2026, 9, 1)),
    (date(2026, 12, 1), date(2026, 12, 1)),
])
def test_seasons_are_meteorological(day: date, first: date) -> None:
    assert season_start(day) == first


def chicago_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo("America/Chicago")).astimezone(UTC)


def test_periods_are_local_to_the_time_zone_of_the_device() -> None:
    # 03:30 UTC on Monday 16 Nov 2026 is still Sunday 15 Nov in Chicago: the week began on Monday 9 Nov.
    periods = periods_of(datetime(2026, 11, 16, 3, 30, tzinfo=UTC), "America/Chicago")
    assert periods.week == (chicago_midnight(date(2026, 11, 9)), chicago_midnight(date(2026, 11, 16)))
    assert periods.month == (chicago_midnight(date(2026, 11, 1)), chicago_midnight(date(2026, 12, 1)))
    assert periods.season == (chicago_midnight(date(2026, 9, 1)), chicago_midnight(date(2026, 12, 1)))
    assert periods.year == (chicago_midnight(date(2026, 1, 1)), chicago_midnight(date(2027, 1, 1)))
    assert periods.cycle("MONTH") == periods.month
    assert periods.widest == (periods.year[0], periods.year[1])


def test_a_winter_season_spans_the_turn_of_the_year() -> None:
    periods = periods_of(datetime(2027, 1, 10, 18, tzinfo=UTC), "UTC")
    assert periods.season == (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 3, 1, tzinfo=UTC))
    assert periods.widest == (datetime(2026, 12, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC))
