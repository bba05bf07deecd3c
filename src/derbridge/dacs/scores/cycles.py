"""A program's scoring cycle (week, month or meteorological season) in a premise's time zone: when the current
one began, as a UTC instant, and how many days it has. Pure: the time is given."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Frequency = Literal["WEEKLY", "MONTHLY", "SEASONAL"]
FREQUENCIES: tuple[Frequency, ...] = ("WEEKLY", "MONTHLY", "SEASONAL")  # shortest first
DEFAULT_FREQUENCY: Frequency = "MONTHLY"
UTC_ZONE = "UTC"


@dataclass(frozen=True)
class Cycle:
    """The current cycle: its first instant (UTC) and its length in days."""

    start: datetime
    days: int


def current_cycle(now: datetime, time_zone: str, frequency: Frequency) -> Cycle:
    """The cycle `now` falls in, counted in `time_zone` (UTC when the zone is unknown): weeks start on Monday,
    seasons on 1 December, March, June and September."""
    zone = zone_or_utc(time_zone)
    today = now.astimezone(zone).date()
    if frequency == "WEEKLY":
        first = today - timedelta(days=today.weekday())
        after = first + timedelta(days=7)
    elif frequency == "MONTHLY":
        first = today.replace(day=1)
        after = _months_after(first, 1)
    else:
        first = _season_start(today)
        after = _months_after(first, 3)
    return Cycle(datetime.combine(first, time(), zone).astimezone(ZoneInfo(UTC_ZONE)), (after - first).days)


def zone_or_utc(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(UTC_ZONE)


def _season_start(day: date) -> date:
    if day.month == 12:
        return date(day.year, 12, 1)
    if day.month < 3:
        return date(day.year - 1, 12, 1)
    return date(day.year, day.month - day.month % 3, 1)


def _months_after(first: date, months: int) -> date:
    index = first.month - 1 + months
    return date(first.year + index // 12, index % 12 + 1, 1)
