"""Event participations from reservations (F9): one per event and device, reserved; taken back when DERMS drops
the device or cancels the event.

A call names up to 10,000 devices; every device must be one the program system holds active, or the call is
refused naming each unknown device and nothing of it is applied. Devices are matched and written set-based (one
query for the devices, one for the participations already held, one bulk insert): a call repeated, or a chunk
delivered twice, finds its participations held and only refreshes their window, so there is never a second
participation for a device and event. A reservation for a cancelled event is refused (409).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from derbridge.clock import iso_utc
from derbridge.dacs.events import program_events
from derbridge.dacs.events.wire import ReserveDeviceIn
from derbridge.dacs.schema import active_device_keys, controllable_devices, event_participations, program_subscriptions
from derbridge.errors import Conflict, InvalidInput
from derbridge.store.bulk import bulk_insert
from derbridge.store.db import reading

DEFAULT_CATEGORY = "X1EC"


def reserve(engine: Engine, body: ReserveDeviceIn, now: datetime) -> dict[str, Any]:
    """Reserve the listed devices for the event (and release those listed as released), all or nothing."""
    event_id = body.eventExternalIdentifier
    keys = [(device.headEndSystem, device.nicId) for device in body.deviceList]
    released = [(device.headEndSystem, device.nicId) for device in body.releasedDeviceList]
    with engine.begin() as connection:
        enrolled = _enrolled(connection, keys)
        _refuse_unknown(keys, enrolled)
        if program_events.is_cancelled(connection, event_id):
            raise Conflict(f"event {event_id} is cancelled: no device can be reserved for it")
        created = not program_events.exists(connection, event_id)
        if created:
            programs = Counter(program for program, *_ in enrolled.values())
            program_events.placeholder(connection, event_id, programs.most_common(1)[0][0] if programs else "",
                                       body.eventType or DEFAULT_CATEGORY, body.eventStartDateTime,
                                       body.eventEndDateTime, now)
        held = _held(connection, event_id, keys)
        rows = [_participation(body, device, enrolled[(device.headEndSystem, device.nicId)], now)
                for device in body.deviceList]
        fresh = [row for row in rows if (row["head_end_system"], row["nic_id"]) not in held]
        again = [row for row in rows if (row["head_end_system"], row["nic_id"]) in held]
        if fresh:
            bulk_insert(connection, event_participations, pl.DataFrame(fresh, schema=PARTICIPATION_SCHEMA))
        _refresh(connection, event_id, again, now)
        unreserved = _release(connection, event_id, released, now)
    return {"eventExternalIdentifier": event_id, "reserved": len(fresh), "alreadyReserved": len(again),
            "released": unreserved, "programEventCreated": created}


PARTICIPATION_SCHEMA: dict[str, Any] = {
    "event_external_id": pl.String, "head_end_system": pl.String, "nic_id": pl.String, "device_id": pl.String,
    "subscription_id": pl.String, "program_code": pl.String, "reserved": pl.Boolean,
    "reservation_start": pl.Datetime("us", "UTC"), "reservation_end": pl.Datetime("us", "UTC"),
    "reserved_at": pl.Datetime("us", "UTC"), "opted_out": pl.Boolean, "updated_at": pl.Datetime("us", "UTC")}


def _participation(body: ReserveDeviceIn, device: Any, enrolled: tuple[str, str, str], now: datetime
                   ) -> dict[str, Any]:
    program_code, device_id, subscription_id = enrolled
    return {"event_external_id": body.eventExternalIdentifier, "head_end_system": device.headEndSystem,
            "nic_id": device.nicId, "device_id": device_id, "subscription_id": subscription_id,
            "program_code": program_code, "reserved": True,
            "reservation_start": device.reservationStartDateTime or body.eventStartDateTime,
            "reservation_end": device.reservationEndDateTime or body.eventEndDateTime,
            "reserved_at": now, "opted_out": False, "updated_at": now}


def _enrolled(connection: Connection, keys: list[tuple[str, str]]) -> dict[tuple[str, str], tuple[str, str, str]]:
    """(head end, NIC id) → (program, device id, subscription id) of each active device among `keys`."""
    if not keys:
        return {}
    k, d, s = active_device_keys, controllable_devices, program_subscriptions
    rows = connection.execute(
        sa.select(k.c.head_end_system, k.c.nic_id, s.c.program_code, d.c.device_id, d.c.subscription_id)
        .join(d, d.c.device_id == k.c.device_id).join(s, s.c.subscription_id == d.c.subscription_id)
        .where(sa.tuple_(k.c.head_end_system, k.c.nic_id).in_(keys))).all()
    return {(row.head_end_system, row.nic_id): (row.program_code, row.device_id, row.subscription_id)
            for row in rows}


def _refuse_unknown(keys: list[tuple[str, str]], enrolled: dict[tuple[str, str], Any]) -> None:
    unknown = {f"deviceList.{index}": f"no active controllable device {head_end}/{nic}"
               for index, (head_end, nic) in enumerate(keys) if (head_end, nic) not in enrolled}
    if unknown:
        raise InvalidInput(unknown)


def _held(connection: Connection, event_id: str, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    if not keys:
        return set()
    p = event_participations
    return {(row.head_end_system, row.nic_id) for row in connection.execute(
        sa.select(p.c.head_end_system, p.c.nic_id).where(
            p.c.event_external_id == event_id, sa.tuple_(p.c.head_end_system, p.c.nic_id).in_(keys)))}


def _refresh(connection: Connection, event_id: str, rows: list[dict[str, Any]], now: datetime) -> None:
    """Participations held already: reserved again over the window given now."""
    if not rows:
        return
    p = event_participations
    connection.execute(
        sa.update(p).where(p.c.event_external_id == event_id, p.c.head_end_system == sa.bindparam("hes"),
                           p.c.nic_id == sa.bindparam("nic"))
        .values(reserved=True, reservation_start=sa.bindparam("start"), reservation_end=sa.bindparam("end"),
                updated_at=now),
        [{"hes": row["head_end_system"], "nic": row["nic_id"], "start": row["reservation_start"],
          "end": row["reservation_end"]} for row in rows])


def _release(connection: Connection, event_id: str, keys: list[tuple[str, str]], now: datetime) -> int:
    """Devices DERMS dropped from the reservation: no longer reserved (their participation stays, as history)."""
    if not keys:
        return 0
    p = event_participations
    return int(connection.execute(
        sa.update(p).where(p.c.event_external_id == event_id, p.c.reserved.is_(True),
                           sa.tuple_(p.c.head_end_system, p.c.nic_id).in_(keys))
        .values(reserved=False, updated_at=now)).rowcount)


def participations_of(engine: Engine, event_id: str, limit: int, offset: int) -> list[dict[str, Any]]:
    p = event_participations
    with reading(engine) as connection:
        rows = connection.execute(sa.select(p).where(p.c.event_external_id == event_id)
                                  .order_by(p.c.head_end_system, p.c.nic_id).limit(limit).offset(offset)).all()
    return [{"headEndSystem": row.head_end_system, "nicId": row.nic_id, "deviceId": row.device_id,
             "programCode": row.program_code, "reserved": row.reserved,
             "reservationStart": iso_utc(row.reservation_start),
             "reservationEnd": iso_utc(row.reservation_end), "optedOut": row.opted_out,
             "outcome": row.outcome} for row in rows]
