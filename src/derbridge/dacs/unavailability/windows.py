"""Customers' declared unavailability windows (F13): an agent adds, edits and cancels them per device.

Only where the device's program type allows unavailability (refused otherwise with the program system's
message 90035). A window's id stays; every change raises its version, and each version is written to the
outbox in the same transaction, carrying the window's whole state (a cancel is a version too, with status
CANCELLED). DERMS keeps the highest version it has seen of each window, so an older change that arrives late,
or a cancel that overtakes the add it cancels, can never undo a newer one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from derbridge.clock import as_utc, iso_utc, iso_z
from derbridge.dacs.ids import new_id
from derbridge.dacs.schema import (
    controllable_devices,
    outbound_messages,
    program_subscriptions,
    program_types,
    programs,
    unavailability_windows,
)
from derbridge.errors import Conflict, InvalidInput, NotFound, Refused
from derbridge.store.db import reading
from derbridge.store.outbox import new_outbox_values

CATEGORY = 90000
NOT_ALLOWED_BY_PROGRAM_TYPE = 90035
ACTIVE, CANCELLED = "ACTIVE", "CANCELLED"
SYNC_PATH = "/hub/from-dacs/customerUnavailability"
ID_DIGITS = 14


@dataclass(frozen=True)
class Change:
    """What an edit gives; None keeps the window's value."""

    start: datetime | None = None
    end: datetime | None = None
    reason: str | None = None


def add(engine: Engine, device_id: str, start: datetime, end: datetime, reason: str, now: datetime) -> dict[str, Any]:
    """A new window, version 1, and its sync. Kept in UTC: a time with another offset is the same instant."""
    start, end = as_utc(start), as_utc(end)
    _check_times(start, end, now)
    with engine.begin() as connection:
        device = _device(connection, device_id)
        _check_allowed(connection, device.program_code)
        window = {"unavailability_id": new_id(ID_DIGITS), "device_id": device_id,
                  "head_end_system": device.head_end_system, "nic_id": device.nic_id,
                  "program_code": device.program_code, "start_at": start, "end_at": end, "reason": reason,
                  "status": ACTIVE, "version": 1, "created_at": now, "updated_at": now}
        connection.execute(sa.insert(unavailability_windows).values(**window))
        return _synced(connection, window["unavailability_id"])


def edit(engine: Engine, unavailability_id: str, change: Change, now: datetime) -> dict[str, Any]:
    """The window with the change, its version raised, and its sync."""
    with engine.begin() as connection:
        held = _active(connection, unavailability_id)
        start, end = change.start or as_utc(held.start_at), change.end or as_utc(held.end_at)
        _check_times(start, end, now)
        _check_allowed(connection, held.program_code)
        _raise_version(connection, held, now, start_at=start, end_at=end, reason=change.reason or held.reason)
        return _synced(connection, unavailability_id)


def cancel(engine: Engine, unavailability_id: str, now: datetime) -> dict[str, Any]:
    """The window CANCELLED, its version raised, and its sync."""
    with engine.begin() as connection:
        held = _active(connection, unavailability_id)
        _raise_version(connection, held, now, status=CANCELLED)
        return _synced(connection, unavailability_id)


def _check_times(start: datetime, end: datetime, now: datetime) -> None:
    if end <= start:
        raise InvalidInput({"end": f"{iso_utc(end)} must be after start {iso_utc(start)}"})
    if end <= now:
        raise InvalidInput({"end": f"{iso_utc(end)} is already past"})


def _device(connection: Connection, device_id: str) -> Any:
    d, s = controllable_devices, program_subscriptions
    device = connection.execute(
        sa.select(d.c.head_end_system, d.c.nic_id, d.c.status, s.c.program_code)
        .join(s, s.c.subscription_id == d.c.subscription_id).where(d.c.device_id == device_id)).first()
    if device is None:
        raise NotFound("device", device_id)
    if device.status != "ACTIVE":
        raise Conflict(f"device {device_id} is {device.status}: only an active device takes unavailability")
    return device


def _check_allowed(connection: Connection, program_code: str) -> None:
    kind = connection.execute(
        sa.select(program_types.c.program_type_code, program_types.c.unavailability_allowed)
        .join(programs, programs.c.program_type_code == program_types.c.program_type_code)
        .where(programs.c.program_code == program_code)).first()
    if kind is None or not kind.unavailability_allowed:
        type_code = kind.program_type_code if kind else "unknown"
        raise Refused(f"program {program_code} (type {type_code}) does not allow customer unavailability",
                      category=CATEGORY, number=NOT_ALLOWED_BY_PROGRAM_TYPE)


def _active(connection: Connection, unavailability_id: str) -> Any:
    held = _row(connection, unavailability_id)
    if held is None:
        raise NotFound("unavailability window", unavailability_id)
    if held.status != ACTIVE:
        raise Conflict(f"unavailability window {unavailability_id} is {held.status}: it cannot change any more")
    return held


def _raise_version(connection: Connection, held: Any, now: datetime, **values: Any) -> None:
    w = unavailability_windows
    connection.execute(sa.update(w).where(w.c.unavailability_id == held.unavailability_id, w.c.version == held.version)
                       .values(version=held.version + 1, updated_at=now, **values))


def _synced(connection: Connection, unavailability_id: str) -> dict[str, Any]:
    """Write the window's current version to the outbox; the window as it now is."""
    window = _row(connection, unavailability_id)
    connection.execute(sa.insert(outbound_messages).values(
        message_key=f"unavailability:{unavailability_id}:{window.version}", kind="unavailability",
        **new_outbox_values(SYNC_PATH, sync_payload(window))))
    return describe(window)


def sync_payload(window: Any) -> dict[str, Any]:
    return {"unavailabilityId": window.unavailability_id, "version": window.version, "status": window.status,
            "deviceId": window.device_id, "headEndSystem": window.head_end_system, "nicId": window.nic_id,
            "startDateTime": iso_z(window.start_at), "endDateTime": iso_z(window.end_at), "reason": window.reason}


def _row(connection: Connection, unavailability_id: str) -> Any:
    w = unavailability_windows
    return connection.execute(sa.select(w).where(w.c.unavailability_id == unavailability_id)).first()


def get(engine: Engine, unavailability_id: str) -> dict[str, Any]:
    with reading(engine) as connection:
        window = _row(connection, unavailability_id)
    if window is None:
        raise NotFound("unavailability window", unavailability_id)
    return describe(window)


def list_windows(engine: Engine, device_id: str | None, status: str | None, limit: int) -> list[dict[str, Any]]:
    w = unavailability_windows
    query = sa.select(w).order_by(w.c.start_at, w.c.unavailability_id).limit(limit)
    if device_id:
        query = query.where(w.c.device_id == device_id)
    if status:
        query = query.where(w.c.status == status)
    with reading(engine) as connection:
        return [describe(row) for row in connection.execute(query)]


def describe(row: Any) -> dict[str, Any]:
    return {"unavailabilityId": row.unavailability_id, "version": row.version, "status": row.status,
            "deviceId": row.device_id, "headEndSystem": row.head_end_system, "nicId": row.nic_id,
            "programCode": row.program_code, "start": iso_utc(row.start_at), "end": iso_utc(row.end_at),
            "reason": row.reason, "updatedAt": iso_utc(row.updated_at)}
