"""Dispatching each stage of an event to its reserved devices at the stage's start, durably.

Two steps, each its own transaction. Planning: a stage whose start has come, of an event In Progress or
Completed, gets one row and its devices (the event's reserved devices, each asked for its expected kW), written
set-based from the reservation; a stage the scheduler first sees after its end is MISSED. Sending: each PENDING
stage's devices go to the gateway, one order per head end, and the answers are written back whole. A restart
between the two finds the stage PENDING and asks again with the same stage id, which the head ends key the order
by: no device is dispatched twice, none forgotten.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from derbridge.clock import as_utc
from derbridge.derms.dispatch.schema import dispatch_devices, stage_dispatches
from derbridge.derms.events.lifecycle import Status
from derbridge.derms.events.schema import event_stages, events
from derbridge.derms.headend.gateway import Gateway
from derbridge.derms.headend.model import ACCEPTED, DispatchOrder
from derbridge.derms.reservations.schema import reservation_devices
from derbridge.derms.reservations.selection import RESERVED
from derbridge.store.bulk import bulk_insert, select_frame
from derbridge.store.db import reading

PENDING, SENT, MISSED = "PENDING", "SENT", "MISSED"
DEVICE_SCHEMA = {"head_end_system": pl.String, "nic_id": pl.String, "requested_kw": pl.Float64,
                 "feeder_id": pl.String}


def plan_due(engine: Engine, now: datetime) -> int:
    """Write the dispatch of every stage whose start has come and has none yet; returns how many."""
    s, d = event_stages, stage_dispatches
    with reading(engine) as connection:
        due = list(connection.execute(
            sa.select(s.c.event_id, s.c.stage_id, s.c.end_at).join(events, events.c.event_id == s.c.event_id)
            .outerjoin(d, d.c.stage_id == s.c.stage_id)
            .where(d.c.stage_id.is_(None), s.c.start_at <= now,
                   events.c.status.in_([Status.IN_PROGRESS, Status.COMPLETED]))
            .order_by(s.c.start_at)))
    for stage in due:
        with engine.begin() as connection:
            if connection.execute(sa.select(d.c.stage_id).where(d.c.stage_id == stage.stage_id)).first():
                continue
            _plan(connection, stage, now)
    return len(due)


def _plan(connection: Connection, stage: Any, now: datetime) -> None:
    r = reservation_devices
    if as_utc(stage.end_at) <= now:
        connection.execute(sa.insert(stage_dispatches).values(
            stage_id=stage.stage_id, event_id=stage.event_id, status=MISSED, devices=0, planned_at=now))
        return
    devices = select_frame(connection, sa.select(r.c.head_end_system, r.c.nic_id, r.c.expected_kw.label("requested_kw"),
                                                 r.c.feeder_id)
                           .where(r.c.event_id == stage.event_id, r.c.status == RESERVED), DEVICE_SCHEMA)
    connection.execute(sa.insert(stage_dispatches).values(
        stage_id=stage.stage_id, event_id=stage.event_id, status=PENDING if devices.height else SENT,
        devices=devices.height, accepted=None if devices.height else 0, planned_at=now,
        sent_at=None if devices.height else now))
    bulk_insert(connection, dispatch_devices, devices.with_columns(
        stage_id=pl.lit(stage.stage_id), event_id=pl.lit(stage.event_id), result=pl.lit(PENDING),
        message=pl.lit(None, dtype=pl.String)))


def send_pending(engine: Engine, gateway: Gateway, now: datetime) -> int:
    """Ask the head ends for every PENDING stage; returns how many stages were sent."""
    d, s = stage_dispatches, event_stages
    with reading(engine) as connection:
        pending = list(connection.execute(
            sa.select(d.c.stage_id, d.c.event_id, s.c.start_at, s.c.end_at)
            .join(s, s.c.stage_id == d.c.stage_id).where(d.c.status == PENDING).order_by(s.c.start_at)))
    for stage in pending:
        send(engine, gateway, stage, now)
    return len(pending)


def send(engine: Engine, gateway: Gateway, stage: Any, now: datetime) -> None:
    dd = dispatch_devices
    with reading(engine) as connection:
        devices = select_frame(connection, sa.select(dd.c.head_end_system, dd.c.nic_id, dd.c.requested_kw,
                                                     dd.c.feeder_id).where(dd.c.stage_id == stage.stage_id),
                               DEVICE_SCHEMA)
    order = DispatchOrder(stage.event_id, stage.stage_id, as_utc(stage.start_at), as_utc(stage.end_at))
    answers = gateway.dispatch(order, devices.select("head_end_system", "nic_id", kw="requested_kw"))
    others = answers.filter(pl.col("result") != ACCEPTED).select(
        h="head_end_system", n="nic_id", r="result",
        m=pl.when(pl.col("message") == "").then(None).otherwise(pl.col("message").str.slice(0, 254))).to_dicts()
    with engine.begin() as connection:
        status = connection.execute(sa.select(stage_dispatches.c.status)
                                    .where(stage_dispatches.c.stage_id == stage.stage_id).with_for_update()).scalar()
        if status != PENDING:
            return  # another worker recorded it
        connection.execute(sa.update(dd).where(dd.c.stage_id == stage.stage_id).values(result=ACCEPTED, message=None))
        if others:  # the few that did not accept, one statement for all
            connection.execute(sa.update(dd).where(dd.c.stage_id == stage.stage_id,
                                                   dd.c.head_end_system == sa.bindparam("h"),
                                                   dd.c.nic_id == sa.bindparam("n"))
                               .values(result=sa.bindparam("r"), message=sa.bindparam("m")), others)
        connection.execute(sa.update(stage_dispatches).where(stage_dispatches.c.stage_id == stage.stage_id).values(
            status=SENT, sent_at=now, accepted=devices.height - len(others)))
