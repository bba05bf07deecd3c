"""Where DERMS's network model connects a service point, day by day, and how network changes rewrite it (F1).

A service point's connections are records [effective_start, effective_end) of a transformer with its feeder
and substation: ordered, contiguous (no gap, no overlap), the last one open. DERMS records each change as an
operator makes it, effective a date:
- connect: the service point moves to another transformer from a date on or after its latest record's start.
  Dated after that start, the open record ends on the date and a new open one starts; dated on it, the
  latest record's location is replaced (a correction). Connecting it where it already is changes nothing.
- refeed: a transformer moves to another feeder from a date. Every record on that transformer that runs past
  the date is split there (or, starting on or after it, changed): from the date on, it has the new feeder and
  substation. The caller makes sure transformer moves come in date order.
Records are never merged: each start is a change DERMS made, and an export sends each record written with a
new start or location as an observation "from this date on, the service point is served by this location".
Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from derbridge.errors import InvalidInput

Location = tuple[str, str, str]  # (transformer_id, feeder_id, substation_id)


@dataclass(frozen=True)
class Connection:
    """The service point took supply through this transformer from effective_start up to effective_end."""

    service_point_id: str
    transformer_id: str
    feeder_id: str
    substation_id: str
    effective_start: date
    effective_end: date | None = None  # None: still in effect

    @property
    def location(self) -> Location:
        return (self.transformer_id, self.feeder_id, self.substation_id)

    def covers(self, day: date) -> bool:
        return self.effective_start <= day and (self.effective_end is None or day < self.effective_end)


class ChangeRefused(InvalidInput):
    """A change that would rewrite what DERMS has already recorded for a later date: its effective date is wrong."""

    def __init__(self, message: str) -> None:
        super().__init__({"effectiveDate": message})


def location_on(history: list[Connection], day: date) -> Connection | None:
    """The record in effect on `day`, or None before the service point's first record."""
    return next((record for record in history if record.covers(day)), None)


def check_history(history: list[Connection]) -> None:
    """Refuse records that are not one service point's ordered, contiguous records ending in an open one."""
    for earlier, later in zip(history, history[1:], strict=False):
        if earlier.service_point_id != later.service_point_id:
            raise ValueError("records of several service points")
        if earlier.effective_end != later.effective_start or earlier.effective_start >= later.effective_start:
            raise ValueError(f"records of {later.service_point_id} are not contiguous at {later.effective_start}")
    if history and history[-1].effective_end is not None:
        raise ValueError(f"the last record of {history[-1].service_point_id} is not open")


def connect(history: list[Connection], service_point_id: str, location: Location, day: date) -> list[Connection]:
    """The records after moving the service point to `location` from `day`; `history` itself if it is there."""
    check_history(history)
    new = Connection(service_point_id, *location, effective_start=day)
    if not history:
        return [new]
    latest = history[-1]
    if day < latest.effective_start:
        raise ChangeRefused(f"service point {service_point_id} has a connection from {latest.effective_start}; "
                            f"a move must take effect on or after it, not on {day}")
    if latest.location == location:
        return history
    if day == latest.effective_start:
        return [*history[:-1], replace(new, effective_start=latest.effective_start)]
    return [*history[:-1], replace(latest, effective_end=day), new]


def refeed(history: list[Connection], transformer_id: str, feeder_id: str, substation_id: str,
           day: date) -> list[Connection]:
    """The records after `transformer_id` moved to `feeder_id` (of `substation_id`) from `day`."""
    check_history(history)
    result: list[Connection] = []
    for record in history:
        moved = replace(record, feeder_id=feeder_id, substation_id=substation_id)
        ends_before = record.effective_end is not None and record.effective_end <= day
        if record.transformer_id != transformer_id or moved == record or ends_before:
            result.append(record)
        elif record.effective_start >= day:
            result.append(moved)
        else:
            result += [replace(record, effective_end=day), replace(moved, effective_start=day)]
    return result


@dataclass(frozen=True)
class Rewrite:
    """What storage must do to turn one service point's records into others."""

    deleted: list[Connection]
    inserted: list[Connection]
    """New observations: a start or a location the records did not have."""
    ended: list[Connection]
    """Records that only end on another day (in their new form): the same observation as before, so an export
    need not send them again (the program system ends a record where the next one starts)."""


def rewritten(before: list[Connection], after: list[Connection]) -> Rewrite:
    kept = set(before) & set(after)
    removed = [r for r in before if r not in kept]
    added = [r for r in after if r not in kept]
    ended = [r for r in added if _observation(r) in {_observation(old) for old in removed}]
    ended_keys = {_observation(r) for r in ended}
    return Rewrite([r for r in removed if _observation(r) not in ended_keys],
                   [r for r in added if _observation(r) not in ended_keys], ended)


def _observation(record: Connection) -> tuple[str, date, Location]:
    return (record.service_point_id, record.effective_start, record.location)
