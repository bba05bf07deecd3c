"""Event participations from reservations (F9): one per event and device, reserved; taken back when DERMS drops
the device or cancels the event. Loaded when the first reservation arrives (it brings polars), not at start-up.

A call names up to 10,000 devices; every device must be one the program system holds active, or the call is
refused naming each unknown device and nothing of it is applied. Devices are matched and written set-based (one
query for the devices, one for the participations already held, one bulk insert): a call repeated, or a chunk
delivered twice, finds its participations held and only refreshes their window, so there is never a second
participation for a device and event. A reservation for a cancelled event is refused (409).
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection, Engine

from derbridge.dacs.events import program_events
from derbridge.dacs.events.wire import ReserveDeviceIn
from derbridge.dacs.schema import active_device_keys, controllable_devices, event_participations, program_subscriptions
from derbridge.errors import Conflict, InvalidInput
from derbridge.store.bulk import bulk_insert, select_frame

DEFAULT_CATEGORY = "X1EC"


def reserve(engine: Engine, body: ReserveDeviceIn, now: datetime) -> dict[str, Any]:
    """Reserve the listed devices for the event (and release those listed as released), all or nothing."""
    event_id = body.eventExternalIdentifier
    asked = _asked(body)
    keys = list(zip(asked["head_end_system"], asked["nic_id"], strict=True))
    released = [(device.headEndSystem, device.nicId) for device in body.releasedDeviceList]
    with engine.begin() as connection:
        found = asked.join(_enrolled(connection, keys), on=KEYS, how="left")
        _refuse_unknown(found)
        if program_events.is_cancelled(connection, event_id):
            raise Conflict(f"event {event_id} is cancelled: no device can be reserved for it")
        created = not program_events.exists(connection, event_id)
        if created:
            programs = Counter(found["program_code"].to_list())
            program_events.placeholder(connection, event_id, programs.most_common(1)[0][0] if programs else "",
                                       body.eventType or DEFAULT_CATEGORY, body.eventStartDateTime,
                                       body.eventEndDateTime, now)
        held = _held(connection, event_id, keys)
        fresh = found.join(held, on=KEYS, how="anti")
        again = found.join(held, on=KEYS, how="semi")
        bulk_insert(connection, event_participations, fresh.drop("position").with_columns(
            event_external_id=pl.lit(event_id), reserved=pl.lit(True), reserved_at=pl.lit(now),
            opted_out=pl.lit(False), updated_at=pl.lit(now)))
        _refresh(connection, event_id, again, now)
        unreserved = _release(connection, event_id, released, now)
    return {"eventExternalIdentifier": event_id, "reserved": fresh.height, "alreadyReserved": again.height,
            "released": unreserved, "programEventCreated": created}


KEYS = ["head_end_system", "nic_id"]


def _asked(body: ReserveDeviceIn) -> pl.DataFrame:
    """The call's devices as a frame, column by column, each with its window (the event's where it gives none)
    and its position in the list (to name it in a refusal)."""
    devices = body.deviceList
    utc = pl.Datetime("us", "UTC")

    def window(given: list[datetime | None], default: datetime) -> pl.Series:
        if not any(given):  # the usual case: the event's window, without a date-time object per device
            return pl.repeat(default, len(given), dtype=utc, eager=True)
        return pl.Series(given, dtype=utc).fill_null(default)

    return pl.DataFrame({
        "position": pl.int_range(len(devices), dtype=pl.Int64, eager=True),
        "head_end_system": pl.Series([device.headEndSystem for device in devices], dtype=pl.String),
        "nic_id": pl.Series([device.nicId for device in devices], dtype=pl.String),
        "reservation_start": window([device.reservationStartDateTime for device in devices],
                                    body.eventStartDateTime),
        "reservation_end": window([device.reservationEndDateTime for device in devices], body.eventEndDateTime),
    })


def _enrolled(connection: Connection, keys: list[tuple[str, str]]) -> pl.DataFrame:
    """Each active device among `keys`: head_end_system, nic_id, program_code, device_id, subscription_id."""
    k, d, s = active_device_keys, controllable_devices, program_subscriptions
    query = (sa.select(k.c.head_end_system, k.c.nic_id, s.c.program_code, d.c.device_id, d.c.subscription_id)
             .join(d, d.c.device_id == k.c.device_id).join(s, s.c.subscription_id == d.c.subscription_id)
             .where(sa.tuple_(k.c.head_end_system, k.c.nic_id).in_(keys_table(connection, keys))))
    return select_frame(connection, query, {"head_end_system": pl.String, "nic_id": pl.String,
                                            "program_code": pl.String, "device_id": pl.String,
                                            "subscription_id": pl.String})


def keys_table(connection: Connection, keys: list[tuple[str, str]]) -> sa.Select[Any]:
    """The device keys as a query to match (head end, NIC id) against, passed as one JSON parameter: thousands
    of keys bound one by one cost more to prepare than the query costs to run."""
    payload = sa.literal(json.dumps(keys))
    if connection.dialect.name == "postgresql":
        pairs = sa.func.jsonb_array_elements(sa.cast(payload, JSONB)).table_valued("value")
        return sa.select(pairs.c.value.op("->>")(0), pairs.c.value.op("->>")(1))
    pairs = sa.func.json_each(payload).table_valued("value")
    return sa.select(sa.func.json_extract(pairs.c.value, "$[0]"), sa.func.json_extract(pairs.c.value, "$[1]"))


def _refuse_unknown(found: pl.DataFrame) -> None:
    unknown = found.filter(pl.col("device_id").is_null())
    if not unknown.is_empty():
        raise InvalidInput({f"deviceList.{position}": f"no active controllable device {head_end}/{nic}"
                            for position, head_end, nic in unknown.select("position", *KEYS).iter_rows()})


def _held(connection: Connection, event_id: str, keys: list[tuple[str, str]]) -> pl.DataFrame:
    """The participations the event already has among `keys`: head_end_system, nic_id."""
    p = event_participations
    query = sa.select(p.c.head_end_system, p.c.nic_id).where(
        p.c.event_external_id == event_id,
        sa.tuple_(p.c.head_end_system, p.c.nic_id).in_(keys_table(connection, keys)))
    return select_frame(connection, query, {"head_end_system": pl.String, "nic_id": pl.String})


def _refresh(connection: Connection, event_id: str, again: pl.DataFrame, now: datetime) -> None:
    """Participations held already: reserved again over the window given now."""
    if again.is_empty():
        return
    p = event_participations
    connection.execute(
        sa.update(p).where(p.c.event_external_id == event_id, p.c.head_end_system == sa.bindparam("hes"),
                           p.c.nic_id == sa.bindparam("nic"))
        .values(reserved=True, reservation_start=sa.bindparam("start"), reservation_end=sa.bindparam("end"),
                updated_at=now),
        [{"hes": hes, "nic": nic, "start": start, "end": end} for hes, nic, start, end in
         again.select(*KEYS, "reservation_start", "reservation_end").iter_rows()])


def _release(connection: Connection, event_id: str, keys: list[tuple[str, str]], now: datetime) -> int:
    """Devices DERMS dropped from the reservation: no longer reserved (their participation stays, as history)."""
    if not keys:
        return 0
    p = event_participations
    return int(connection.execute(
        sa.update(p).where(p.c.event_external_id == event_id, p.c.reserved.is_(True),
                           sa.tuple_(p.c.head_end_system, p.c.nic_id).in_(keys_table(connection, keys)))
        .values(reserved=False, updated_at=now)).rowcount)
