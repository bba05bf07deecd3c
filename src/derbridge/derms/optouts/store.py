"""DERMS's copy of customers' opt-outs (F12): recorded once per event and device, refused when DERMS does not
know the event or did not reserve the device.

Which devices DERMS reserved for an event is what its participation records say (one per device reserved,
written by the reservation). An event with none is one DERMS does not know; a device without one is a device it
did not reserve. Either is answered with an ERROR ack naming why (nothing recorded); an accepted opt-out is
recorded with a pending drop (drops.py) in one transaction. The reservation engine reads `opted_out`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from derbridge.clock import iso_utc
from derbridge.derms.optouts.drops import OPTED_OUT, record_drops, reserved_for
from derbridge.derms.schema import event_opt_outs
from derbridge.store.bulk import select_frame
from derbridge.store.db import reading

MESSAGE_CATEGORY = 90200
UNKNOWN_EVENT, NOT_RESERVED = 221, 222


@dataclass(frozen=True)
class OptOut:
    event_id: str
    head_end_system: str
    nic_id: str
    opted_out_at: datetime | None


@dataclass(frozen=True)
class Verdict:
    """accepted, duplicate (held already) or refused (with DERMS's message number and its text)."""

    result: str
    number: int | None = None
    text: str = ""


def opted_out(connection: Connection, event_id: str) -> pl.DataFrame:
    """The devices opted out of the event: head_end_system, nic_id (for the reservation engine)."""
    o = event_opt_outs
    return select_frame(connection, sa.select(o.c.head_end_system, o.c.nic_id).where(o.c.event_id == event_id),
                        {"head_end_system": pl.String, "nic_id": pl.String})


def record(engine: Engine, opt_out: OptOut, now: datetime) -> Verdict:
    """Record the opt-out and its pending drop, once; or refuse it."""
    try:
        with engine.begin() as connection:
            if _held(connection, opt_out):
                return Verdict("duplicate")
            refusal = _refusal(connection, opt_out)
            if refusal is not None:
                return refusal
            connection.execute(sa.insert(event_opt_outs).values(
                event_id=opt_out.event_id, head_end_system=opt_out.head_end_system, nic_id=opt_out.nic_id,
                opted_out_at=opt_out.opted_out_at, received_at=now))
            record_drops(connection, reserved_for(opt_out.event_id, opt_out.head_end_system, opt_out.nic_id),
                         OPTED_OUT, opt_out.event_id, now)
    except IntegrityError:
        return Verdict("duplicate")  # the same opt-out, taken by another request at the same moment
    return Verdict("accepted")


def _held(connection: Connection, opt_out: OptOut) -> bool:
    o = event_opt_outs
    return connection.execute(sa.select(o.c.event_id).where(
        o.c.event_id == opt_out.event_id, o.c.head_end_system == opt_out.head_end_system,
        o.c.nic_id == opt_out.nic_id)).first() is not None


def _refusal(connection: Connection, opt_out: OptOut) -> Verdict | None:
    if connection.execute(reserved_for(opt_out.event_id).limit(1)).first() is None:
        return Verdict("refused", UNKNOWN_EVENT, f"DERMS does not know event {opt_out.event_id}: no device is "
                                                 "reserved for it")
    if connection.execute(reserved_for(opt_out.event_id, opt_out.head_end_system, opt_out.nic_id)).first() is None:
        return Verdict("refused", NOT_RESERVED, f"device {opt_out.head_end_system}/{opt_out.nic_id} is not "
                                                f"reserved for event {opt_out.event_id}")
    return None


def list_opt_outs(engine: Engine, event_id: str | None, limit: int) -> list[dict[str, Any]]:
    o = event_opt_outs
    query = sa.select(o).order_by(o.c.received_at.desc()).limit(limit)
    if event_id:
        query = query.where(o.c.event_id == event_id)
    with reading(engine) as connection:
        return [{"eventId": row.event_id, "headEndSystem": row.head_end_system, "nicId": row.nic_id,
                 "optedOutAt": iso_utc(row.opted_out_at), "receivedAt": iso_utc(row.received_at)}
                for row in connection.execute(query)]
