"""Whether a device is available for an event, for one device or a whole fleet.

DERMS uses the rules synced from the program system (rule_set.py) to decide which devices it may reserve for
an event. A device is available only when no rule is violated; every violated rule is named by a stable code,
so an operator (or the program system) can see why a device was left out.

Two kinds of rule: window-level rules depend only on the program and the event (day, daily window,
duration, notice), so the fleet version evaluates them once; device-level rules depend on a device's
participation history. The caller summarises that history for the event's week, month, season, year and
override cycle (`ProgramRules.cycle_frequency` says which cycle the override count covers).
Both versions expect rules that passed `validate_rules`. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

import polars as pl

from derbridge.derms.availability.rule_set import DailyWindow, ProgramRules
from derbridge.tables.frames import require_columns


class Reason(StrEnum):
    """Why a device is not available; window-level reasons come first, then device-level ones."""

    PROGRAM_NOT_AVAILABLE = "PROGRAM_NOT_AVAILABLE"
    EVENT_DAY_NOT_ALLOWED = "EVENT_DAY_NOT_ALLOWED"
    OUTSIDE_EVENT_WINDOW = "OUTSIDE_EVENT_WINDOW"
    EVENT_TOO_LONG = "EVENT_TOO_LONG"
    INSUFFICIENT_NOTICE = "INSUFFICIENT_NOTICE"
    LIFE_SUPPORT = "LIFE_SUPPORT"
    UNAVAILABLE_DECLARED = "UNAVAILABLE_DECLARED"
    OVERRIDES_EXCEEDED = "OVERRIDES_EXCEEDED"
    WEEKLY_CAP_REACHED = "WEEKLY_CAP_REACHED"
    MONTHLY_CAP_REACHED = "MONTHLY_CAP_REACHED"
    SEASONAL_CAP_REACHED = "SEASONAL_CAP_REACHED"
    ANNUAL_HOURS_EXCEEDED = "ANNUAL_HOURS_EXCEEDED"
    CONSECUTIVE_DAYS_EXCEEDED = "CONSECUTIVE_DAYS_EXCEEDED"
    NOT_ELIGIBLE = "NOT_ELIGIBLE"

    @property
    def text(self) -> str:
        return REASON_TEXTS[self]


REASON_TEXTS: dict[Reason, str] = {
    Reason.PROGRAM_NOT_AVAILABLE: "the program is not available for events",
    Reason.EVENT_DAY_NOT_ALLOWED: "the program does not allow events on this day of the week",
    Reason.OUTSIDE_EVENT_WINDOW: "the event does not lie within the program's daily event window",
    Reason.EVENT_TOO_LONG: "the event is longer than the program's maximum event duration",
    Reason.INSUFFICIENT_NOTICE: "the event starts sooner than the program's minimum notice",
    Reason.LIFE_SUPPORT: "the premise has life-support or sensitive-load equipment",
    Reason.UNAVAILABLE_DECLARED: "the customer declared the device unavailable during the event",
    Reason.OVERRIDES_EXCEEDED: "the customer has overridden more events this cycle than the program allows",
    Reason.WEEKLY_CAP_REACHED: "the device has already taken part in the most events allowed this week",
    Reason.MONTHLY_CAP_REACHED: "the device has already taken part in the most events allowed this month",
    Reason.SEASONAL_CAP_REACHED: "the device has already taken part in the most events allowed this season",
    Reason.ANNUAL_HOURS_EXCEEDED: "the event would take the device past the program's event hours per year",
    Reason.CONSECUTIVE_DAYS_EXCEEDED: "the event would make too many consecutive event days for the device",
    Reason.NOT_ELIGIBLE: "the score set in force (the program system's score file) marks the device not eligible",
}


@dataclass(frozen=True)
class EventWindow:
    """An event being planned: when it runs, when it is planned, and the time zone of the program's rules."""

    start: datetime
    end: datetime
    now: datetime
    timezone: str

    def __post_init__(self) -> None:
        for name in ("start", "end", "now"):
            if getattr(self, name).utcoffset() is None:
                raise ValueError(f"event window {name} must be timezone-aware")
        if self.end <= self.start:
            raise ValueError(f"event window end {self.end} must be after start {self.start}")
        ZoneInfo(self.timezone)  # fails early on an unknown zone name

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    @property
    def local_start(self) -> datetime:
        return self.start.astimezone(ZoneInfo(self.timezone))

    @property
    def local_end(self) -> datetime:
        return self.end.astimezone(ZoneInfo(self.timezone))

    def local_dates(self) -> list[date]:
        """Every local day the event touches (its end is exclusive)."""
        first, last = self.local_start.date(), (self.local_end - timedelta(microseconds=1)).date()
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]


@dataclass(frozen=True)
class DeviceHistory:
    """One device's participation so far, summarised for the event's week, month, season, year and cycle."""

    device_id: str
    life_support: bool = False
    events_this_week: int = 0
    events_this_month: int = 0
    events_this_season: int = 0
    event_hours_this_year: float = 0.0
    overrides_this_cycle: int = 0
    recent_event_days: tuple[date, ...] = ()
    unavailable: tuple[tuple[datetime, datetime], ...] = ()  # declared (start, end) windows, end exclusive


@dataclass(frozen=True)
class Availability:
    """The answer for one device: available only when no rule is broken; reasons in Reason order."""

    available: bool
    reasons: tuple[Reason, ...]

    def explained(self) -> tuple[str, ...]:
        return tuple(f"{reason.value}: {reason.text}" for reason in self.reasons)


def availability_of(device: DeviceHistory, rules: ProgramRules, window: EventWindow) -> Availability:
    """Whether one device may take part in the event, and every rule that stops it."""
    reasons = window_violations(rules, window) + device_violations(device, rules, window)
    return Availability(available=not reasons, reasons=reasons)


def window_violations(rules: ProgramRules, window: EventWindow) -> tuple[Reason, ...]:
    """The rules the event itself breaks, whatever the device: the same for the whole fleet."""
    violated = {
        Reason.PROGRAM_NOT_AVAILABLE: not rules.available_for_events,
        Reason.EVENT_DAY_NOT_ALLOWED: any(day.weekday() not in rules.allowed_event_days
                                          for day in window.local_dates()),
        Reason.OUTSIDE_EVENT_WINDOW: not _within_daily_window(window, rules.event_window),
        Reason.EVENT_TOO_LONG: window.duration > rules.max_event_duration,
        Reason.INSUFFICIENT_NOTICE: window.start - window.now < rules.min_notice,
    }
    return tuple(reason for reason, is_violated in violated.items() if is_violated)


def _within_daily_window(window: EventWindow, daily: DailyWindow) -> bool:
    start, end = window.local_start, window.local_end
    return start.date() == end.date() and daily.start <= start.time() and end.time() <= daily.end


def device_violations(device: DeviceHistory, rules: ProgramRules, window: EventWindow) -> tuple[Reason, ...]:
    """The rules this device's history breaks for this event."""
    violated = {
        Reason.LIFE_SUPPORT: rules.exclude_life_support and device.life_support,
        Reason.UNAVAILABLE_DECLARED: any(start < window.end and window.start < end
                                         for start, end in device.unavailable),
        Reason.OVERRIDES_EXCEEDED: device.overrides_this_cycle > rules.allowed_overrides,
        Reason.WEEKLY_CAP_REACHED: _cap_reached(device.events_this_week, rules.max_events_per_week),
        Reason.MONTHLY_CAP_REACHED: _cap_reached(device.events_this_month, rules.max_events_per_month),
        Reason.SEASONAL_CAP_REACHED: _cap_reached(device.events_this_season, rules.max_events_per_season),
        Reason.ANNUAL_HOURS_EXCEEDED: _hours_exceeded(device.event_hours_this_year, rules, window),
        Reason.CONSECUTIVE_DAYS_EXCEEDED: _consecutive_days_exceeded(device.recent_event_days, rules, window),
    }
    return tuple(reason for reason, is_violated in violated.items() if is_violated)


def _cap_reached(events_so_far: int, cap: int | None) -> bool:
    """One more event would go past the cap."""
    return cap is not None and events_so_far >= cap


def _hours_exceeded(hours_so_far: float, rules: ProgramRules, window: EventWindow) -> bool:
    cap = rules.max_event_hours_per_year
    return cap is not None and hours_so_far + _event_hours(window) > cap


def _event_hours(window: EventWindow) -> float:
    return window.duration.total_seconds() / 3600


def _consecutive_days_exceeded(recent_days: Iterable[date], rules: ProgramRules, window: EventWindow) -> bool:
    """The run of back-to-back event days through this event would be longer than the cap."""
    if rules.max_consecutive_days is None:
        return False
    event_days = window.local_dates()
    days = set(recent_days) | set(event_days)
    first, last = event_days[0], event_days[-1]
    while first - timedelta(days=1) in days:
        first -= timedelta(days=1)
    while last + timedelta(days=1) in days:
        last += timedelta(days=1)
    return (last - first).days + 1 > rules.max_consecutive_days


# ---- the fleet version: the same rules as column expressions over N devices ----

FLEET_COLUMNS = ("device_id", "life_support", "events_this_week", "events_this_month", "events_this_season",
                 "event_hours_this_year", "overrides_this_cycle", "recent_event_days")
UNAVAILABILITY_COLUMNS = ("device_id", "start", "end")


def fleet_availability(fleet: pl.DataFrame, unavailability: pl.DataFrame, rules: ProgramRules,
                       window: EventWindow) -> pl.DataFrame:
    """Availability of every device in `fleet` for one event: columns device_id, available, reasons.

    `fleet` has one row per device and no nulls: device_id (str), life_support (bool), events_this_week,
    events_this_month, events_this_season, overrides_this_cycle (integers), event_hours_this_year (number),
    recent_event_days (list of dates, may be empty). `unavailability` is long, one row per declared window:
    device_id, start, end (UTC datetimes, end exclusive). Rows come back in the fleet's order; `reasons`
    lists codes in the same order as `availability_of` does.

    Each device's broken device-level rules are packed into one integer, a bit per rule; the few distinct
    integers become reason lists in Python and are mapped back, rather than building a list per row.
    """
    require_columns(fleet, FLEET_COLUMNS, "fleet")
    require_columns(unavailability, UNAVAILABILITY_COLUMNS, "unavailability")
    device_rules = _device_rule_expressions(fleet, unavailability, rules, window)
    broken = fleet.select("device_id", broken=pl.sum_horizontal(
        [is_broken.cast(pl.UInt16) * (1 << bit) for bit, (_, is_broken) in enumerate(device_rules)]))
    window_reasons = window_violations(rules, window)
    bitsets = broken["broken"].unique().to_list()
    device_reasons = [reason for reason, _ in device_rules]
    reason_lists = [[*window_reasons, *_reasons_in(bitset, device_reasons)] for bitset in bitsets]
    return broken.select(
        "device_id",
        available=(pl.col("broken") == 0) & pl.lit(not window_reasons),
        reasons=pl.col("broken").replace_strict(bitsets, reason_lists, return_dtype=pl.List(pl.String)),
    )


def _reasons_in(bitset: int, reasons: list[Reason]) -> list[Reason]:
    """The reasons whose bits are set; bit n stands for reasons[n]."""
    return [reason for bit, reason in enumerate(reasons) if bitset >> bit & 1]



def _device_rule_expressions(fleet: pl.DataFrame, unavailability: pl.DataFrame, rules: ProgramRules,
                             window: EventWindow) -> list[tuple[Reason, pl.Expr]]:
    """Column for column, the same device-level rules as `device_violations`."""
    return [
        (Reason.LIFE_SUPPORT, pl.lit(rules.exclude_life_support) & pl.col("life_support")),
        (Reason.UNAVAILABLE_DECLARED,
         pl.col("device_id").is_in(_declared_unavailable(unavailability, window))),
        (Reason.OVERRIDES_EXCEEDED, pl.col("overrides_this_cycle") > rules.allowed_overrides),
        (Reason.WEEKLY_CAP_REACHED, _cap_reached_expr("events_this_week", rules.max_events_per_week)),
        (Reason.MONTHLY_CAP_REACHED, _cap_reached_expr("events_this_month", rules.max_events_per_month)),
        (Reason.SEASONAL_CAP_REACHED, _cap_reached_expr("events_this_season", rules.max_events_per_season)),
        (Reason.ANNUAL_HOURS_EXCEEDED, _hours_exceeded_expr(rules, window)),
        (Reason.CONSECUTIVE_DAYS_EXCEEDED, _consecutive_days_exceeded_expr(fleet, rules, window)),
    ]


def _declared_unavailable(unavailability: pl.DataFrame, window: EventWindow) -> pl.Series:
    """Devices with a declared window overlapping the event: filtered once, then a membership test."""
    overlapping = (pl.col("start") < window.end) & (pl.col("end") > window.start)
    return unavailability.filter(overlapping)["device_id"].unique()


def _cap_reached_expr(column: str, cap: int | None) -> pl.Expr:
    return pl.lit(False) if cap is None else pl.col(column) >= cap


def _hours_exceeded_expr(rules: ProgramRules, window: EventWindow) -> pl.Expr:
    cap = rules.max_event_hours_per_year
    return pl.lit(False) if cap is None else pl.col("event_hours_this_year") + _event_hours(window) > cap


def _consecutive_days_exceeded_expr(fleet: pl.DataFrame, rules: ProgramRules, window: EventWindow) -> pl.Expr:
    """Per device, whether the run of back-to-back event days through this event is longer than the cap."""
    limit = rules.max_consecutive_days
    if limit is None:
        return pl.lit(False)
    event_days = window.local_dates()
    one_day = timedelta(days=1)
    days = fleet["recent_event_days"]
    before = _run_lengths(days, event_days[0] - one_day, -one_day, longest=limit)
    after = _run_lengths(days, event_days[-1] + one_day, one_day, longest=limit)
    return pl.lit(before + after + len(event_days) > limit)


def _run_lengths(days: pl.Series, first: date, step: timedelta, longest: int) -> pl.Series:
    """Per device, how many days in a row from `first` on (going by `step`) are event days, up to `longest`.

    Walked one day at a time, keeping only the devices whose run is still unbroken: runs are short, so the
    frame shrinks fast and the walk usually stops long before `longest`.
    """
    lengths = pl.repeat(0, len(days), dtype=pl.UInt32, eager=True)
    unbroken = pl.DataFrame({"row": pl.int_range(len(days), dtype=pl.UInt32, eager=True), "days": days})
    for length in range(1, longest + 1):
        unbroken = unbroken.filter(pl.col("days").list.contains(first + step * (length - 1)))
        if unbroken.is_empty():
            break
        lengths.scatter(unbroken["row"], length)
    return lengths


def fleet_frames(devices: Iterable[DeviceHistory]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The fleet and unavailability frames `fleet_availability` takes, built from device histories."""
    devices = list(devices)
    fleet = pl.DataFrame(
        {
            "device_id": [d.device_id for d in devices],
            "life_support": [d.life_support for d in devices],
            "events_this_week": [d.events_this_week for d in devices],
            "events_this_month": [d.events_this_month for d in devices],
            "events_this_season": [d.events_this_season for d in devices],
            "event_hours_this_year": [float(d.event_hours_this_year) for d in devices],
            "overrides_this_cycle": [d.overrides_this_cycle for d in devices],
            "recent_event_days": [list(d.recent_event_days) for d in devices],
        },
        schema_overrides={"recent_event_days": pl.List(pl.Date), "events_this_week": pl.Int64,
                          "events_this_month": pl.Int64, "events_this_season": pl.Int64,
                          "overrides_this_cycle": pl.Int64},
    )
    spans = [(d.device_id, start, end) for d in devices for start, end in d.unavailable]
    unavailability = pl.DataFrame(spans, schema={"device_id": pl.String, "start": pl.Datetime("us", "UTC"),
                                                 "end": pl.Datetime("us", "UTC")}, orient="row")
    return fleet, unavailability
