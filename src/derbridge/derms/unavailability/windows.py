"""DERMS's copy of customers' declared unavailability windows (F13), kept at the highest version received.

Every message carries a window's whole state and its version; it is applied only when its version is higher
than the one held (one conditional upsert), so an older change that arrives late, or the add of a window whose
cancel came first, changes nothing. An ACTIVE window keeps the device out of any overlapping event
(availability reads `overlapping`: reason UNAVAILABLE_DECLARED); one over a device already reserved for an
event not yet over records a pending drop (optouts/drops.py) for the reservation engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from derbridge.clock import iso_utc
from derbridge.derms.optouts.drops import UNAVAILABLE_DECLARED, record_drops, reserved_for
from derbridge.derms.schema import declared_unavailability, event_participations
from derbridge.store.bulk import select_frame
from derbridge.store.db import reading

ACTIVE, CANCELLED = "ACTIVE", "CANCELLED"
OVERLAPPING_SCHEMA = {"head_end_system": pl.String, "nic_id": pl.String, "start": pl.Datetime("us", "UTC"),
                      "end": pl.Datetime("us", "UTC")}


@dataclass(frozen=True)
class Window:
    unavailability_id: str
    version: int
    status: str
    head_end_system: str
    nic_id: str
    start: datetime
    end: datetime
    reason: str


def apply(engine: Engine, window: Window, now: datetime) -> bool:
    """Keep the window if its version is newer than the one held; whether it was applied."""
    with engine.begin() as connection:
        applied = _upsert(connection, window, now)
        if applied and window.status == ACTIVE:
            p = event_participations
            record_drops(connection, reserved_for(head_end_system=window.head_end_system, nic_id=window.nic_id,
                                                  start=window.start, end=window.end).where(p.c.end_at > now),
                         UNAVAILABLE_DECLARED, f"{window.unavailability_id}:{window.version}", now)
    return applied


def _upsert(connection: Connection, window: Window, now: datetime) -> bool:
    d = declared_unavailability
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(d).values(
        unavailability_id=window.unavailability_id, version=window.version, status=window.status,
        head_end_system=window.head_end_system, nic_id=window.nic_id, start_at=window.start, end_at=window.end,
        reason=window.reason, updated_at=now)
    changed = ("version", "status", "head_end_system", "nic_id", "start_at", "end_at", "reason", "updated_at")
    upsert = insert.on_conflict_do_update(index_elements=[d.c.unavailability_id],
                                          set_={name: insert.excluded[name] for name in changed},
                                          where=d.c.version < insert.excluded.version)
    return connection.execute(upsert.returning(d.c.unavailability_id)).first() is not None


def overlapping(connection: Connection, start: datetime, end: datetime) -> pl.DataFrame:
    """ACTIVE windows overlapping [start, end): head_end_system, nic_id, start, end (one row per window)."""
    d = declared_unavailability
    query = sa.select(d.c.head_end_system, d.c.nic_id, d.c.start_at, d.c.end_at).where(
        d.c.status == ACTIVE, d.c.start_at < end, d.c.end_at > start)
    return select_frame(connection, query, OVERLAPPING_SCHEMA)


def list_windows(engine: Engine, head_end_system: str | None, nic_id: str | None, limit: int) -> list[dict[str, Any]]:
    d = declared_unavailability
    query = sa.select(d).order_by(d.c.start_at, d.c.unavailability_id).limit(limit)
    if head_end_system:
        query = query.where(d.c.head_end_system == head_end_system)
    if nic_id:
        query = query.where(d.c.nic_id == nic_id)
    with reading(engine) as connection:
        return [{"unavailabilityId": row.unavailability_id, "version": row.version, "status": row.status,
                 "headEndSystem": row.head_end_system, "nicId": row.nic_id, "start": iso_utc(row.start_at),
                 "end": iso_utc(row.end_at), "reason": row.reason, "updatedAt": iso_utc(row.updated_at)}
                for row in connection.execute(query)]
