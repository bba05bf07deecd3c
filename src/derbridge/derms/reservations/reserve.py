"""Reserving devices for an event: what the engine would choose (a what-if, nothing written), the reservation
itself, its updates, its release when the event is cancelled, and the hub's ack of each device list.

A reservation writes, in one transaction, the devices reserved and on standby (ranked), DERMS's own
participation records for the reserved ones (what availability counts for later events), and one device
list for the program system (F9): a CSV file queued to the hub with the event's header as parameters. The
first list names every device reserved; a later one (the engine run again, or customers' drops backfilled from
the standby list: backfills.py) names the devices added and, as RELEASED, those dropped. A cancelled event's
devices are released without a list: the cancellation (F10) tells the program system.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from derbridge.clock import as_utc, iso_utc, iso_z, utcnow
from derbridge.derms.availability.engine import Reason
from derbridge.derms.events.events import event_row
from derbridge.derms.events.lifecycle import Status
from derbridge.derms.optouts.store import opted_out
from derbridge.derms.reservations.candidates import candidates_of
from derbridge.derms.reservations.models import Models
from derbridge.derms.reservations.schema import reservation_devices, reservation_messages, reservations
from derbridge.derms.reservations.selection import (
    CONSTRAINT_TEXTS,
    RESERVED,
    STANDBY,
    Headroom,
    Selection,
    by_feeder,
    select,
)
from derbridge.derms.schema import event_participations, outbound_files
from derbridge.derms.unavailability.windows import overlapping
from derbridge.errors import Conflict, NotFound
from derbridge.store.bulk import bulk_insert, select_frame
from derbridge.store.db import reading
from derbridge.store.outbox import new_file_values
from derbridge.tables.spec import sha256_of

HUB_PATH = "/hub/files/from-derms/reserveDevice"
RELEASED, OPTED_OUT = "RELEASED", "OPTED_OUT"
PLANNABLE = (Status.NEW, Status.SCHEDULED)


def plan(engine: Engine, event_id: str, now: datetime, models: Models, seed: int,
         reservable: tuple[Status, ...] = PLANNABLE) -> tuple[Any, Selection, Headroom]:
    """The event and the engine's choice for it, now; Conflict when the event is past planning."""
    with reading(engine) as connection:
        event = event_row(connection, event_id)
    if event.status not in reservable or now >= as_utc(event.start_at):
        allowed = " or ".join(status.value for status in reservable)
        raise Conflict(f"event {event_id} is {event.status}, starting {iso_utc(event.start_at)}: devices are "
                       f"reserved only for an event {allowed} that has not started")
    candidates, headroom = candidates_of(engine, event, now, models)
    return event, select(candidates, headroom, event.target_kw, seed, models.standby_share), headroom


def what_if(engine: Engine, event_id: str, now: datetime, models: Models, seed: int, limit: int) -> dict[str, Any]:
    """What a reservation would be now, without reserving anything."""
    event, selection, headroom = plan(engine, event_id, now, models, seed)
    return {"eventId": event_id, "dryRun": True, "seed": seed, **summary(selection, headroom),
            "devices": listed(selection.devices, limit), "truncated": selection.devices.height > limit}


def reserve(engine: Engine, event_id: str, now: datetime, models: Models, seed: int, files: Path,
            instance: str) -> dict[str, Any]:
    """Reserve the engine's choice for a scheduled event and queue the device list (or the changes, when the
    event has a reservation already) to the program system."""
    event, selection, headroom = plan(engine, event_id, now, models, seed, (Status.SCHEDULED,))
    return commit_plan(engine, event, selection, headroom, seed, now, files, instance)


def commit_plan(engine: Engine, event: Any, selection: Selection, headroom: Headroom, seed: int, now: datetime,
                files: Path, instance: str) -> dict[str, Any]:
    """Write a plan as the event's reservation and queue its device list. The plan was made outside this
    transaction: a customer's opt-out or declared window taken (and dropped) since is applied to it here."""
    event_id = event.event_id
    with engine.begin() as connection:
        held = connection.execute(sa.select(reservations).where(reservations.c.event_id == event_id)
                                  .with_for_update()).first()
        selection = replace(selection, devices=selection.devices.join(
            _customers_out(connection, event), on=["head_end_system", "nic_id"], how="anti"))
        version = (held.version if held is not None else 0) + 1
        before = _reserved_now(connection, event_id) if held is not None else pl.DataFrame(schema=SENT_SCHEMA)
        changes = _changes(before, selection.reserved)
        if held is not None and changes.is_empty():
            return {**reservation_of(engine, event_id, 0), "changed": False}
        message_id = f"{event_id}-R{version}"
        _write(connection, event, selection, before, changes, message_id, version, seed, now)
        queue_device_list(connection, event, changes, message_id, version, files, instance, now)
    return {**reservation_of(engine, event_id, 0), "changed": True, "messageId": message_id,
            "byFeeder": by_feeder(selection, headroom)}


def _customers_out(connection: Connection, event: Any) -> pl.DataFrame:
    """Devices the customers took out of the event as it stands: opted out of it, or declared unavailable over it
    (head_end_system, nic_id)."""
    windows = overlapping(connection, as_utc(event.start_at), as_utc(event.end_at)).select("head_end_system", "nic_id")
    return pl.concat([opted_out(connection, event.event_id), windows]).unique()


def _reserved_now(connection: Connection, event_id: str) -> pl.DataFrame:
    """The devices the event has reserved now, and the device list that last sent each."""
    r = reservation_devices
    return select_frame(connection, sa.select(r.c.head_end_system, r.c.nic_id, r.c.message_id)
                        .where(r.c.event_id == event_id, r.c.status == RESERVED), SENT_SCHEMA)


SENT_SCHEMA = {"head_end_system": pl.String, "nic_id": pl.String, "message_id": pl.String}


def _changes(before: pl.DataFrame, reserved: pl.DataFrame) -> pl.DataFrame:
    """The devices to tell the program system of: added (RESERVED) and dropped (RELEASED)."""
    keys = ["head_end_system", "nic_id"]
    added = reserved.select(keys).join(before, on=keys, how="anti").with_columns(status=pl.lit(RESERVED))
    dropped = before.select(keys).join(reserved.select(keys), on=keys, how="anti").with_columns(
        status=pl.lit(RELEASED))
    return pl.concat([added, dropped])


def _write(connection: Connection, event: Any, selection: Selection, before: pl.DataFrame, changes: pl.DataFrame,
           message_id: str, version: int, seed: int, now: datetime) -> None:
    """The reservation, its devices (reserved, standby, and those just released, each with the device list that
    last sent it) and DERMS's participation."""
    event_id = event.event_id
    first = version == 1
    values = {"status": RESERVED, "version": version, "seed": seed, "target_kw": event.target_kw,
              "expected_kw": selection.expected_kw, "devices": selection.reserved.height,
              "standby": selection.standby.height, "excluded": json.dumps(selection.excluded), "updated_at": now}
    if first:
        connection.execute(sa.insert(reservations).values(event_id=event_id, created_at=now, **values))
    else:
        connection.execute(sa.update(reservations).where(reservations.c.event_id == event_id).values(**values))
    r = reservation_devices
    connection.execute(sa.delete(r).where(r.c.event_id == event_id, r.c.status != OPTED_OUT))
    chosen = selection.devices.select("head_end_system", "nic_id", "rank", "expected_kw", "transformer_id",
                                      "feeder_id", status="role")
    released = (changes.filter(pl.col("status") == RELEASED)
                .join(chosen, on=["head_end_system", "nic_id"], how="anti")  # dropped to standby: kept as such
                .select("head_end_system", "nic_id", "status", rank=pl.lit(0), expected_kw=pl.lit(0.0)))
    changed = changes.select("head_end_system", "nic_id", changed=pl.lit(True))
    rows = (pl.concat([chosen, released], how="diagonal_relaxed")
            .join(changed, on=["head_end_system", "nic_id"], how="left")
            .join(before.rename({"message_id": "sent_in"}), on=["head_end_system", "nic_id"], how="left"))
    bulk_insert(connection, r, rows.select(
        "head_end_system", "nic_id", "status", "rank", "expected_kw", "transformer_id", "feeder_id",
        event_id=pl.lit(event_id), updated_at=pl.lit(now),
        message_id=pl.when(pl.col("changed")).then(pl.lit(message_id))
        .when(pl.col("status") == RESERVED).then(pl.col("sent_in"))))
    p = event_participations
    connection.execute(sa.delete(p).where(p.c.event_id == event_id))
    bulk_insert(connection, p, selection.reserved.select(
        "head_end_system", "nic_id", event_id=pl.lit(event_id), start_at=pl.lit(as_utc(event.start_at)),
        end_at=pl.lit(as_utc(event.end_at)), customer_override=pl.lit(False), recorded_at=pl.lit(now)))


def queue_device_list(connection: Connection, event: Any, changes: pl.DataFrame, message_id: str, version: int,
                       files: Path, instance: str, now: datetime) -> None:
    """Write the CSV device list and queue it to the hub, the event's header as the query string. Every device
    is reserved for the whole event, so no device carries a window of its own (the documented default: the
    event's), which spares every system on the way two date-times a device."""
    start, end = iso_z(as_utc(event.start_at)), iso_z(as_utc(event.end_at))
    path = files / "reservations" / f"{message_id}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    listed = changes.select(recordId=pl.int_range(1, pl.len() + 1), nicId="nic_id",
                            headEndSystemId="head_end_system", reservationStatus="status")
    released = int((changes["status"] == RELEASED).sum())
    (listed if released else listed.drop("reservationStatus")).write_csv(path)
    sha256 = sha256_of(path)
    query = urlencode({"drmsInstanceId": instance, "messageId": message_id, "eventId": event.event_id,
                       "eventType": event.event_type, "eventStartDateTime": start, "eventEndDateTime": end})
    connection.execute(sa.insert(outbound_files).values(
        message_key=f"F9:{message_id}", kind="reservation",
        **new_file_values(f"{HUB_PATH}?{query}", path, sha256, "text/csv")))
    connection.execute(sa.insert(reservation_messages).values(
        message_id=message_id, event_id=event.event_id, version=version, reserved=changes.height - released,
        released=released, file=str(path), sha256=sha256, queued_at=now))


def release(connection: Connection, event_id: str) -> None:
    """The event is cancelled: every device of its reservation is released, its participation forgotten."""
    now = utcnow()
    connection.execute(sa.update(reservations).where(reservations.c.event_id == event_id)
                       .values(status=RELEASED, updated_at=now))
    r = reservation_devices
    connection.execute(sa.update(r).where(r.c.event_id == event_id, r.c.status.in_([RESERVED, STANDBY]))
                       .values(status=RELEASED, updated_at=now))
    connection.execute(sa.delete(event_participations).where(event_participations.c.event_id == event_id))


def summary(selection: Selection, headroom: Headroom) -> dict[str, Any]:
    expected = round(selection.expected_kw, 3)
    return {
        "targetKw": selection.target_kw, "expectedKw": expected, "targetMet": expected >= selection.target_kw,
        "candidates": selection.candidates, "eligible": selection.eligible,
        "reserved": selection.reserved.height, "standby": selection.standby.height,
        "excluded": [{"constraint": code, "devices": count, "text": CONSTRAINT_TEXTS.get(code, _reason_text(code))}
                     for code, count in sorted(selection.excluded.items(), key=lambda item: -item[1])],
        "byFeeder": by_feeder(selection, headroom),
    }


def _reason_text(code: str) -> str:
    return Reason(code).text if code in Reason.__members__ else code


def listed(frame: pl.DataFrame, limit: int) -> list[dict[str, Any]]:
    return [{"headEndSystem": row["head_end_system"], "nicId": row["nic_id"], "role": row["role"],
             "rank": row["rank"], "expectedKw": round(row["expected_kw"], 3), "transformerId": row["transformer_id"],
             "feederId": row["feeder_id"]} for row in frame.head(limit).iter_rows(named=True)]


def reservation_of(engine: Engine, event_id: str, limit: int) -> dict[str, Any]:
    """The event's reservation as it stands, its device lists and their acks, and up to `limit` devices."""
    with reading(engine) as connection:
        held = connection.execute(sa.select(reservations).where(reservations.c.event_id == event_id)).first()
        if held is None:
            raise NotFound("reservation", event_id, "the event has no reservation")
        r = reservation_devices
        counted = connection.execute(sa.select(r.c.status, sa.func.count()).where(r.c.event_id == event_id)
                                     .group_by(r.c.status)).all()
        counts = {str(status): int(count) for status, count in counted}
        devices = connection.execute(sa.select(r).where(r.c.event_id == event_id, r.c.status != RELEASED)
                                     .order_by(r.c.rank).limit(limit)).all()
        lists = connection.execute(sa.select(reservation_messages).where(reservation_messages.c.event_id == event_id)
                                   .order_by(reservation_messages.c.version)).all()
    return {
        "eventId": event_id, "status": held.status, "version": held.version, "seed": held.seed,
        "targetKw": held.target_kw, "expectedKw": round(held.expected_kw, 3),
        "targetMet": round(held.expected_kw, 3) >= held.target_kw, "note": held.note, "devices": counts,
        "excluded": json.loads(held.excluded), "createdAt": iso_utc(held.created_at),
        "updatedAt": iso_utc(held.updated_at),
        "deviceLists": [{"messageId": m.message_id, "version": m.version, "reserved": m.reserved,
                         "released": m.released, "queuedAt": iso_utc(m.queued_at), "ackType": m.ack_type,
                         "ackedAt": iso_utc(m.acked_at)} for m in lists],
        "listed": [{"headEndSystem": d.head_end_system, "nicId": d.nic_id, "status": d.status, "rank": d.rank,
                    "expectedKw": d.expected_kw, "feederId": d.feeder_id, "messageId": d.message_id}
                   for d in devices],
    }


def record_ack(engine: Engine, message_id: str, ack_type: str, ack: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The hub's ack of a device list: kept on the list (a repeat overwrites it with the same)."""
    with engine.begin() as connection:
        updated = connection.execute(sa.update(reservation_messages)
                                     .where(reservation_messages.c.message_id == message_id)
                                     .values(ack_type=ack_type, ack=json.dumps(ack), acked_at=now)).rowcount
    if not updated:
        raise NotFound("reservation device list", message_id)
    return {"messageId": message_id, "ackType": ack_type, "result": "recorded"}
