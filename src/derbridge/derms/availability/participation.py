"""Each device's part in events so far, summarised for a candidate event in bulk; and the premises whose
life-support or sensitive-load equipment keeps them out of events.

DERMS records a device's participation when it reserves the device for an event (derms/reservations/), and
forgets it when the event is cancelled. For availability, the history of a whole fleet is summarised in one SQL
GROUP BY per program and time zone: events in the candidate event's local week, month, season (meteorological:
Dec–Feb, Mar–May, Jun–Aug, Sep–Nov), event hours in its calendar year, and customer overrides in the rules'
override cycle.
A participation counts in the period its start falls in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from typing import Any, Literal
from zoneinfo import ZoneInfo

import polars as pl
import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from sqlalchemy.engine import Connection, Engine

from derbridge.clock import utcnow
from derbridge.derms.schema import event_participations, sensitive_premises
from derbridge.store.bulk import select_frame

Bounds = tuple[datetime, datetime]  # UTC, end exclusive
HISTORY_COLUMNS = ("events_this_week", "events_this_month", "events_this_season", "event_hours_this_year",
                   "overrides_this_cycle")


# ---- calendar periods of an event -------------------------------------------------------------------------

@dataclass(frozen=True)
class Periods:
    """The local week (Monday first), month, season and year an event starts in, as UTC bounds."""

    week: Bounds
    month: Bounds
    season: Bounds
    year: Bounds

    def cycle(self, frequency: Literal["WEEK", "MONTH", "SEASON"]) -> Bounds:
        return {"WEEK": self.week, "MONTH": self.month, "SEASON": self.season}[frequency]

    @property
    def widest(self) -> Bounds:
        every = (self.week, self.month, self.season, self.year)
        return min(start for start, _ in every), max(end for _, end in every)


def periods_of(moment: datetime, timezone: str) -> Periods:
    zone = ZoneInfo(timezone)
    day = moment.astimezone(zone).date()
    monday = day - timedelta(days=day.weekday())
    first_of_month = day.replace(day=1)
    season = season_start(day)

    def bounds(first: date, after: date) -> Bounds:
        return local_midnight(first, zone), local_midnight(after, zone)

    return Periods(
        week=bounds(monday, monday + timedelta(days=7)),
        month=bounds(first_of_month, add_months(first_of_month, 1)),
        season=bounds(season, add_months(season, 3)),
        year=bounds(date(day.year, 1, 1), date(day.year + 1, 1, 1)),
    )


def season_start(day: date) -> date:
    """First day of the meteorological season: 1 December, 1 March, 1 June or 1 September."""
    if day.month == 12:
        return date(day.year, 12, 1)
    if day.month < 3:
        return date(day.year - 1, 12, 1)
    return date(day.year, day.month - day.month % 3, 1)


def add_months(first: date, months: int) -> date:
    index = first.month - 1 + months
    return date(first.year + index // 12, index % 12 + 1, 1)


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, clock(0), tzinfo=zone).astimezone(UTC)


# ---- the summary, for a fleet given as a select of (head_end_system, nic_id) ------------------------------

def history_frame(connection: Connection, fleet: sa.Select[Any] | None, periods: Periods,
                  cycle: Literal["WEEK", "MONTH", "SEASON"], excluding_event: str | None = None) -> pl.DataFrame:
    """One row per device of `fleet` (None: any device) that took part in an event within the periods (others
    have none): head_end_system, nic_id and HISTORY_COLUMNS. One read of the participation in the widest
    period, summed in memory (a SQL GROUP BY of five conditional sums took three times as long)."""
    p = event_participations
    earliest, latest = periods.widest
    query = _of(sa.select(p.c.head_end_system, p.c.nic_id, p.c.start_at, p.c.end_at,
                          sa.case((p.c.customer_override.is_(True), 1), else_=0).label("customer_override"))
                .where(p.c.start_at >= earliest, p.c.start_at < latest, *_other_than(excluding_event)), fleet)
    taken = select_frame(connection, query, {
        "head_end_system": pl.String, "nic_id": pl.String, "start_at": pl.Datetime("us", "UTC"),
        "end_at": pl.Datetime("us", "UTC"), "customer_override": pl.Int8})

    def within(bounds: Bounds) -> pl.Expr:
        return (pl.col("start_at") >= bounds[0]) & (pl.col("start_at") < bounds[1])

    hours = (pl.col("end_at") - pl.col("start_at")).dt.total_microseconds() / 3_600_000_000
    return taken.group_by("head_end_system", "nic_id").agg(
        events_this_week=within(periods.week).sum().cast(pl.Int64),
        events_this_month=within(periods.month).sum().cast(pl.Int64),
        events_this_season=within(periods.season).sum().cast(pl.Int64),
        event_hours_this_year=hours.filter(within(periods.year)).sum().cast(pl.Float64),
        overrides_this_cycle=((pl.col("customer_override") == 1) & within(periods.cycle(cycle))).sum()
        .cast(pl.Int64))


def _of(query: sa.Select[Any], fleet: sa.Select[Any] | None) -> sa.Select[Any]:
    """The query's participation restricted to the fleet's devices (all devices without a fleet)."""
    if fleet is None:
        return query
    keys = fleet.subquery()
    p = event_participations
    return query.join(keys, sa.and_(keys.c.head_end_system == p.c.head_end_system, keys.c.nic_id == p.c.nic_id))


def _other_than(event_id: str | None) -> tuple[sa.ColumnElement[bool], ...]:
    return () if event_id is None else (event_participations.c.event_id != event_id,)


def recent_days_frame(connection: Connection, fleet: sa.Select[Any] | None, event_days: list[date], reach: int,
                      timezone: str, excluding_event: str | None = None) -> pl.DataFrame:
    """Per device of `fleet` (None: any device), the local days within `reach` days of the event on which it
    took part in an event: head_end_system, nic_id, recent_event_days (list of dates)."""
    zone = ZoneInfo(timezone)
    since = local_midnight(event_days[0] - timedelta(days=reach), zone)
    until = local_midnight(event_days[-1] + timedelta(days=reach + 1), zone)
    p = event_participations
    query = _of(sa.select(p.c.head_end_system, p.c.nic_id, p.c.start_at, p.c.end_at)
                .where(p.c.start_at < until, p.c.end_at > since, *_other_than(excluding_event)), fleet)
    spans = select_frame(connection, query, {"head_end_system": pl.String, "nic_id": pl.String,
                                             "start_at": pl.Datetime("us", "UTC"), "end_at": pl.Datetime("us", "UTC")})
    return (
        spans.with_columns(pl.col("start_at", "end_at").dt.convert_time_zone(timezone))
        .select("head_end_system", "nic_id",
                day=pl.date_ranges(pl.col("start_at").dt.date(),
                                   (pl.col("end_at") - pl.duration(microseconds=1)).dt.date()))
        .explode("day")
        .group_by("head_end_system", "nic_id")
        .agg(recent_event_days=pl.col("day").unique().sort())
    )


# ---- premises kept out of events -----------------------------------------------------------------------

class SensitivePremise(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["LIFE_SUPPORT", "SENSITIVE_LOAD"]


def mark_sensitive(engine: Engine, cis_premise_id: str, premise: SensitivePremise) -> dict[str, str]:
    with engine.begin() as connection:
        connection.execute(sa.delete(sensitive_premises).where(sensitive_premises.c.cis_premise_id == cis_premise_id))
        connection.execute(sa.insert(sensitive_premises).values(cis_premise_id=cis_premise_id, kind=premise.kind,
                                                                recorded_at=utcnow()))
    return {"cisPremiseId": cis_premise_id, "kind": premise.kind}


def unmark_sensitive(engine: Engine, cis_premise_id: str) -> bool:
    with engine.begin() as connection:
        return bool(connection.execute(sa.delete(sensitive_premises)
                                       .where(sensitive_premises.c.cis_premise_id == cis_premise_id)).rowcount)
