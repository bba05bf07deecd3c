"""Taking the pending drops (optouts/drops.py): each event's devices dropped from its reservation and backfilled
from its standby list (backfill.py), with one reservation update (F9) for the program system.

One transaction per event: the reservation locked, its pending drops read again, the devices changed, DERMS's
participation changed, the device list of the changes queued to the hub, and the drops marked done with what
became of them. A restart between two events loses no drop and repeats none; several drops for one event that
wait together are one update. A drop for an event that has started, ended or been cancelled, or for a device
the reservation does not hold reserved, is marked done without a change. The standby devices are checked again
for what can have changed since the reservation: the customer's opt-out of this event, a declared window over it,
a reservation for another event at the same time, and the headroom the devices still reserved leave.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Connection, Engine

from derbridge.clock import as_utc, iso_utc
from derbridge.derms.events.schema import events
from derbridge.derms.optouts.drops import (
    DROPPED,
    NOT_RESERVED,
    NOT_UPCOMING,
    UNAVAILABLE_DECLARED,
    events_with_pending_drops,
    mark_dropped,
)
from derbridge.derms.reservations.backfill import RELEASED, Backfill, choose
from derbridge.derms.reservations.models import Models
from derbridge.derms.reservations.reserve import PLANNABLE, queue_device_list
from derbridge.derms.reservations.schema import reservation_backfills, reservation_devices, reservations
from derbridge.derms.reservations.selection import OPTED_OUT, RESERVED, RESERVED_ELSEWHERE, STANDBY, Headroom
from derbridge.derms.schema import (
    declared_unavailability,
    event_opt_outs,
    event_participations,
    feeders,
    reservation_drops,
    transformers,
)
from derbridge.store.bulk import bulk_insert, select_frame
from derbridge.store.db import reading

log = structlog.get_logger()
KEYS = ["head_end_system", "nic_id"]
DEVICE_SCHEMA = {"head_end_system": pl.String, "nic_id": pl.String, "status": pl.String, "rank": pl.Int64,
                 "expected_kw": pl.Float64, "transformer_id": pl.String, "feeder_id": pl.String}
BLOCKED_SCHEMA = {"head_end_system": pl.String, "nic_id": pl.String, "constraint": pl.String}
PENDING_SCHEMA = {"event_id": pl.String, "head_end_system": pl.String, "nic_id": pl.String, "cause": pl.String,
                  "source_id": pl.String}


def take_pending(engine: Engine, models: Models, files: Path, instance: str, now: datetime) -> list[dict[str, Any]]:
    """Drop and backfill for every event with pending drops (up to a hundred events a call); what each became."""
    with reading(engine) as connection:
        event_ids = events_with_pending_drops(connection)
    done = []
    for event_id in event_ids:
        try:
            settled = settle(engine, event_id, models, files, instance, now)
        except Exception:  # noqa: BLE001 — one event's fault must not hold up the others; its drops stay pending
            log.exception("reservation.backfill_failed", eventId=event_id)
            continue
        if settled is not None:
            done.append(settled)
    return done


def settle(engine: Engine, event_id: str, models: Models, files: Path, instance: str,
           now: datetime) -> dict[str, Any] | None:
    """The event's pending drops, dropped and backfilled in one transaction; None when none was pending."""
    with engine.begin() as connection:
        held = connection.execute(sa.select(reservations).where(reservations.c.event_id == event_id)
                                  .with_for_update()).first()
        pending = _pending(connection, event_id)
        if pending.is_empty():
            return None
        event = connection.execute(sa.select(events).where(events.c.event_id == event_id)).first()
        answer: dict[str, Any] = {"eventId": event_id, "drops": pending.height, "messageId": None}
        if held is None or held.status != RESERVED:
            mark_dropped(connection, pending, now, NOT_RESERVED)
            return {**answer, "outcome": NOT_RESERVED}
        if event is None or event.status not in PLANNABLE or now >= as_utc(event.start_at):
            mark_dropped(connection, pending, now, NOT_UPCOMING)
            return {**answer, "outcome": NOT_UPCOMING}
        start, end = as_utc(event.start_at), as_utc(event.end_at)
        chosen = choose(_devices(connection, event_id), pending, _blocked(connection, event_id, start, end),
                        _headroom(connection, models, event_id, start, end), held.target_kw)
        keyed = pending.select("event_id", *KEYS)
        mark_dropped(connection, keyed.join(chosen.not_reserved, on=KEYS, how="semi"), now, NOT_RESERVED)
        if chosen.changes.is_empty():
            return {**answer, "outcome": NOT_RESERVED}
        version = held.version + 1
        message_id = f"{event_id}-R{version}"
        _write(connection, event, held, chosen, message_id, version, now)
        queue_device_list(connection, event, chosen.changes, message_id, version, files, instance, now)
        mark_dropped(connection, keyed.join(chosen.dropped, on=KEYS, how="semi"), now, DROPPED, message_id)
    summary = {**answer, "outcome": DROPPED, "messageId": message_id, "dropped": chosen.dropped.height,
               "added": chosen.added.height, "expectedKw": round(chosen.expected_kw, 3),
               "targetMet": chosen.target_met}
    log.info("reservation.backfilled", **summary)
    return summary


def _pending(connection: Connection, event_id: str) -> pl.DataFrame:
    """The event's drops not done yet, oldest first (optouts/drops.py)."""
    d = reservation_drops
    return _small_frame(connection, sa.select(d.c.event_id, d.c.head_end_system, d.c.nic_id, d.c.cause, d.c.source_id)
                        .where(d.c.event_id == event_id, d.c.done_at.is_(None))
                        .order_by(d.c.recorded_at, d.c.nic_id), PENDING_SCHEMA)


def _small_frame(connection: Connection, query: sa.Select[Any], schema: dict[str, Any]) -> pl.DataFrame:
    """A few rows of text and numbers through SQLAlchemy's cached statement (store/bulk.select_frame compiles
    each query anew, which costs more than a handful of rows take to read)."""
    return pl.DataFrame([tuple(row) for row in connection.execute(query)], schema=schema, orient="row")


def _devices(connection: Connection, event_id: str) -> pl.DataFrame:
    r = reservation_devices
    return select_frame(connection, sa.select(*(r.c[name] for name in DEVICE_SCHEMA)).where(
        r.c.event_id == event_id, r.c.status.in_([RESERVED, STANDBY])), DEVICE_SCHEMA)


def _blocked(connection: Connection, event_id: str, start: datetime, end: datetime) -> pl.DataFrame:
    """Devices no longer free for the event, each with why: opted out of it (all of them: the choice keeps those
    on standby), or, among its standby devices, declared unavailable over it or reserved for another event at the
    same time."""
    r = reservation_devices
    standby = sa.select(r.c.head_end_system, r.c.nic_id).where(r.c.event_id == event_id,
                                                               r.c.status == STANDBY).subquery("standby")

    def flagged(table: sa.Table, constraint: str, *conditions: Any) -> sa.Select[Any]:
        return sa.select(standby.c.head_end_system, standby.c.nic_id, sa.literal(constraint).label("constraint")) \
            .join(table, sa.and_(table.c.head_end_system == standby.c.head_end_system,
                                 table.c.nic_id == standby.c.nic_id, *conditions))

    o, d, p = event_opt_outs, declared_unavailability, event_participations
    opted = sa.select(o.c.head_end_system, o.c.nic_id, sa.literal(OPTED_OUT).label("constraint")).where(
        o.c.event_id == event_id)
    query = sa.union_all(
        flagged(d, UNAVAILABLE_DECLARED, d.c.status == "ACTIVE", d.c.start_at < end, d.c.end_at > start),
        flagged(p, RESERVED_ELSEWHERE, p.c.event_id != event_id, p.c.start_at < end, p.c.end_at > start))
    return pl.concat([_small_frame(connection, opted, BLOCKED_SCHEMA),
                      _small_frame(connection, sa.select(query.subquery("blocked")), BLOCKED_SCHEMA)])


def _headroom(connection: Connection, models: Models, event_id: str, start: datetime, end: datetime) -> Headroom:
    """The headroom of the rated elements serving the reservation's devices, as the engine reckons it."""
    free = 1.0 - models.network_load.peak_fraction(start, end)
    r = reservation_devices

    def rated(table: sa.Table, name: str) -> pl.DataFrame:
        serving = sa.select(r.c[name]).where(r.c.event_id == event_id, r.c[name].is_not(None)).distinct()
        query = sa.select(table.c[name], table.c.capacity_kw).where(table.c.capacity_kw.is_not(None),
                                                                    table.c[name].in_(serving))
        found = _small_frame(connection, query, {name: pl.String, "capacity_kw": pl.Float64})
        return found.select(name, headroom_kw=pl.col("capacity_kw") * free)

    return Headroom(rated(transformers, "transformer_id"), rated(feeders, "feeder_id"))


def _write(connection: Connection, event: Any, held: Any, chosen: Backfill, message_id: str, version: int,
           now: datetime) -> None:
    """The devices' new statuses, DERMS's participation, the backfills, and the reservation's figures."""
    event_id = event.event_id
    r = reservation_devices
    changed = [(status, chosen.dropped.filter(pl.col("status") == status)) for status in (OPTED_OUT, RELEASED)]
    for status, frame in [*changed, (RESERVED, chosen.added)]:
        for keys in _key_chunks(frame):
            connection.execute(sa.update(r).where(r.c.event_id == event_id,
                                                  sa.tuple_(r.c.head_end_system, r.c.nic_id).in_(keys))
                               .values(status=status, message_id=message_id, updated_at=now))
    p = event_participations
    for keys in _key_chunks(chosen.dropped):
        connection.execute(sa.delete(p).where(p.c.event_id == event_id,
                                              sa.tuple_(p.c.head_end_system, p.c.nic_id).in_(keys)))
    bulk_insert(connection, p, chosen.added.select(
        *KEYS, event_id=pl.lit(event_id), start_at=pl.lit(as_utc(event.start_at)),
        end_at=pl.lit(as_utc(event.end_at)), customer_override=pl.lit(False), recorded_at=pl.lit(now)))
    b = reservation_backfills
    for keys in _key_chunks(chosen.added):
        connection.execute(sa.delete(b).where(b.c.event_id == event_id,
                                              sa.tuple_(b.c.head_end_system, b.c.nic_id).in_(keys)))
    bulk_insert(connection, b, chosen.added.select(
        *KEYS, "rank", "expected_kw", event_id=pl.lit(event_id), message_id=pl.lit(message_id),
        backfilled_at=pl.lit(now)))
    note = None if chosen.target_met else (
        f"short of its target after drops: {chosen.expected_kw:.3f} of {chosen.target_kw:g} kW expected, "
        "the standby list exhausted")
    connection.execute(sa.update(reservations).where(reservations.c.event_id == event_id).values(
        version=version, expected_kw=chosen.expected_kw,
        devices=held.devices - chosen.dropped.height + chosen.added.height,
        standby=max(0, held.standby - chosen.added.height), note=note, updated_at=now))


def _key_chunks(frame: pl.DataFrame, size: int = 500) -> list[list[tuple[str, str]]]:
    keys = [(str(head_end), str(nic)) for head_end, nic in frame.select(KEYS).iter_rows()]
    return [keys[start:start + size] for start in range(0, len(keys), size)]


def changes_of(engine: Engine, event_id: str, limit: int = 1000) -> dict[str, Any]:
    """The reservation's drops (who, why, what became of each, in which update) and backfills (who, in which
    update), newest first."""
    d, b = reservation_drops, reservation_backfills
    with reading(engine) as connection:
        dropped = connection.execute(sa.select(d).where(d.c.event_id == event_id)
                                     .order_by(d.c.recorded_at.desc(), d.c.nic_id).limit(limit)).all()
        added = connection.execute(sa.select(b).where(b.c.event_id == event_id)
                                   .order_by(b.c.backfilled_at.desc(), b.c.rank).limit(limit)).all()
    return {
        "eventId": event_id,
        "drops": [{"headEndSystem": row.head_end_system, "nicId": row.nic_id, "cause": row.cause,
                   "sourceId": row.source_id, "recordedAt": iso_utc(row.recorded_at),
                   "doneAt": iso_utc(row.done_at), "outcome": row.outcome or "PENDING", "messageId": row.message_id}
                  for row in dropped],
        "backfills": [{"headEndSystem": row.head_end_system, "nicId": row.nic_id, "rank": row.rank,
                       "expectedKw": round(row.expected_kw, 3), "messageId": row.message_id,
                       "backfilledAt": iso_utc(row.backfilled_at)} for row in added],
    }
