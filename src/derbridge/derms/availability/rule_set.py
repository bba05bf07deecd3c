"""A program's rule set as availability judges it (F2's rules combined), and its validation: every bad field named.

Pure: no I/O."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import time, timedelta
from typing import Literal, get_args

from derbridge.errors import PermanentError

CycleFrequency = Literal["WEEK", "MONTH", "SEASON"]
WEEKDAYS = frozenset(range(7))  # 0 = Monday … 6 = Sunday, as datetime.weekday()


@dataclass(frozen=True)
class DailyWindow:
    """Local time of day within which events must lie, e.g. 12:00–19:00."""

    start: time
    end: time


@dataclass(frozen=True)
class ProgramRules:
    """The rules of one program that decide a device's availability. Caps of None mean "no cap"."""

    available_for_events: bool
    allowed_overrides: int
    max_event_duration: timedelta
    allowed_event_days: frozenset[int]
    cycle_frequency: CycleFrequency
    event_window: DailyWindow
    min_notice: timedelta
    max_events_per_season: int | None = None
    max_events_per_month: int | None = None
    max_events_per_week: int | None = None
    max_event_hours_per_year: float | None = None
    max_consecutive_days: int | None = None
    exclude_life_support: bool = True


class InvalidProgramRules(PermanentError):
    """Rules that cannot be applied; `problems` maps each bad field to what is wrong with it."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        super().__init__("invalid program rules: " + "; ".join(f"{k}: {v}" for k, v in problems.items()))


def validate_rules(rules: ProgramRules) -> ProgramRules:
    """Return the rules unchanged, or raise InvalidProgramRules naming every bad field at once."""
    problems = {field: problem for field, problem in _rule_problems(rules) if problem}
    if problems:
        raise InvalidProgramRules(problems)
    return rules


def _rule_problems(rules: ProgramRules) -> list[tuple[str, str | None]]:
    return [
        ("available_for_events", _flag_problem(rules.available_for_events)),
        ("allowed_overrides", _count_problem(rules.allowed_overrides, minimum=0)),
        ("max_event_duration", _duration_problem(rules.max_event_duration, allow_zero=False)),
        ("allowed_event_days", _event_days_problem(rules.allowed_event_days)),
        ("cycle_frequency", _cycle_problem(rules.cycle_frequency)),
        ("event_window", _daily_window_problem(rules.event_window)),
        ("min_notice", _duration_problem(rules.min_notice, allow_zero=True)),
        ("max_events_per_season", _optional_count_problem(rules.max_events_per_season, minimum=0)),
        ("max_events_per_month", _optional_count_problem(rules.max_events_per_month, minimum=0)),
        ("max_events_per_week", _optional_count_problem(rules.max_events_per_week, minimum=0)),
        ("max_event_hours_per_year", _hours_problem(rules.max_event_hours_per_year)),
        ("max_consecutive_days", _optional_count_problem(rules.max_consecutive_days, minimum=1)),
        ("exclude_life_support", _flag_problem(rules.exclude_life_support)),
    ]


def _flag_problem(value: object) -> str | None:
    return None if isinstance(value, bool) else f"must be true or false, got {value!r}"


def _count_problem(value: object, minimum: int) -> str | None:
    if not isinstance(value, int) or isinstance(value, bool):
        return f"must be a whole number, got {value!r}"
    return None if value >= minimum else f"must be at least {minimum}, got {value}"


def _optional_count_problem(value: object, minimum: int) -> str | None:
    return None if value is None else _count_problem(value, minimum)


def _duration_problem(value: object, allow_zero: bool) -> str | None:
    if not isinstance(value, timedelta):
        return f"must be a duration, got {value!r}"
    if value < timedelta(0) or (value == timedelta(0) and not allow_zero):
        return f"must be {'zero or more' if allow_zero else 'longer than zero'}, got {value}"
    return None


def _event_days_problem(value: object) -> str | None:
    if not isinstance(value, frozenset | set) or not value:
        return "must be a non-empty set of weekdays (0 = Monday … 6 = Sunday)"
    if not value <= WEEKDAYS:
        return f"weekdays must be 0 (Monday) to 6 (Sunday), got {sorted(value - WEEKDAYS, key=repr)}"
    return None


def _cycle_problem(value: object) -> str | None:
    allowed = get_args(CycleFrequency)
    return None if value in allowed else f"must be one of {', '.join(allowed)}, got {value!r}"


def _daily_window_problem(value: object) -> str | None:
    if not (isinstance(value, DailyWindow) and isinstance(value.start, time) and isinstance(value.end, time)):
        return f"must be a daily window of two local times, got {value!r}"
    if value.end <= value.start:
        return f"end {value.end.isoformat()} must be after start {value.start.isoformat()}"
    return None


def _hours_problem(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return f"must be a finite number of hours, got {value!r}"
    return None if value >= 0 else f"must be zero or more, got {value}"
