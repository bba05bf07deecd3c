"""The hook between customers' choices and the reservation engine: devices to drop from a reservation.

An opt-out (F12), or a declared window (F13) over a device DERMS reserved for an overlapping event, records one
pending drop per event and device, in the same transaction that records the opt-out or the window, so none is
lost to a restart. The reservation engine takes them (derms/reservations/backfills.py), drops each device from its
reservation, backfills from its standby list, and marks them done with `mark_dropped` in the same transaction
as its change. A device named twice for one event (an opt-out and a window) is one drop, by its first cause.
The engine's next reservation also leaves such devices out by itself: opt-outs through
`derms/optouts/store.opted_out`, windows through availability (UNAVAILABLE_DECLARED).
"""

from __future__ import annotations

from datetime import datetime

import polars as pl
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from derbridge.derms.schema import event_participations, reservation_drops
from derbridge.store.bulk import select_frame

OPTED_OUT, UNAVAILABLE_DECLARED = "OPTED_OUT", "UNAVAILABLE_DECLARED"
DROPS_TASK = "drop-and-backfill"
"""The name of DERMS's task that takes pending drops (derms/reservations/backfills.py): woken when one is
recorded."""
DROPPED, NOT_RESERVED, NOT_UPCOMING = "DROPPED", "NOT_RESERVED", "NOT_UPCOMING"
"""What became of a drop: the device left the reservation; it was not reserved (on standby, released
already, or the reservation released); the event had started or ended."""
KEYS = ["event_id", "head_end_system", "nic_id"]
PENDING_SCHEMA = {"event_id": pl.String, "head_end_system": pl.String, "nic_id": pl.String, "cause": pl.String,
                  "source_id": pl.String, "recorded_at": pl.Datetime("us", "UTC")}


def pending_drops(connection: Connection, limit: int = 10_000) -> pl.DataFrame:
    """Drops not done yet, oldest first: event_id, head_end_system, nic_id, cause, source_id, recorded_at."""
    d = reservation_drops
    query = (sa.select(*(d.c[name] for name in PENDING_SCHEMA)).where(d.c.done_at.is_(None))
             .order_by(d.c.recorded_at, *(d.c[name] for name in KEYS)).limit(limit))
    return select_frame(connection, query, PENDING_SCHEMA)


def events_with_pending_drops(connection: Connection, limit: int = 100) -> list[str]:
    """The events that have drops not done yet, the one waiting longest first."""
    d = reservation_drops
    return [str(event_id) for event_id in connection.execute(
        sa.select(d.c.event_id).where(d.c.done_at.is_(None)).group_by(d.c.event_id)
        .order_by(sa.func.min(d.c.recorded_at)).limit(limit)).scalars()]


def mark_dropped(connection: Connection, done: pl.DataFrame, now: datetime, outcome: str = DROPPED,
                 message_id: str | None = None) -> int:
    """Mark drops done (`done`: event_id, head_end_system, nic_id) with what became of them and the reservation
    update that carried them, in the caller's transaction; how many."""
    if done.is_empty():
        return 0
    d = reservation_drops
    keys = [tuple(row) for row in done.select(KEYS).iter_rows()]
    marked = 0
    for start in range(0, len(keys), 500):
        marked += connection.execute(sa.update(d).where(sa.tuple_(*(d.c[name] for name in KEYS))
                                                        .in_(keys[start:start + 500]), d.c.done_at.is_(None))
                                     .values(done_at=now, outcome=outcome, message_id=message_id)).rowcount
    return marked


def record_drops(connection: Connection, reserved: sa.Select[tuple[str, str, str]], cause: str, source_id: str,
                 now: datetime) -> None:
    """A pending drop for each (event_id, head_end_system, nic_id) `reserved` selects, unless one is held."""
    rows = reserved.subquery("reserved")
    source = sa.select(rows.c.event_id, rows.c.head_end_system, rows.c.nic_id, sa.literal(cause).label("cause"),
                       sa.literal(source_id).label("source_id"),
                       sa.literal(now, reservation_drops.c.recorded_at.type).label("recorded_at")
                       ).where(rows.c.nic_id.is_not(None))  # SQLite: an upsert's SELECT needs a WHERE
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(reservation_drops).from_select([*KEYS, "cause", "source_id", "recorded_at"], source)
    connection.execute(insert.on_conflict_do_nothing(index_elements=[reservation_drops.c[name] for name in KEYS]))


def reserved_for(event_id: str | None = None, head_end_system: str | None = None, nic_id: str | None = None,
                 start: datetime | None = None, end: datetime | None = None) -> sa.Select[tuple[str, str, str]]:
    """DERMS's participation records (the devices it reserved) of an event or a device, overlapping a window."""
    p = event_participations
    query = sa.select(p.c.event_id, p.c.head_end_system, p.c.nic_id)
    if event_id is not None:
        query = query.where(p.c.event_id == event_id)
    if head_end_system is not None and nic_id is not None:
        query = query.where(p.c.head_end_system == head_end_system, p.c.nic_id == nic_id)
    if start is not None and end is not None:
        query = query.where(p.c.start_at < end, p.c.end_at > start)
    return query
