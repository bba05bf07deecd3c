"""Dispatching each stage of an event to its reserved devices at the stage's start, durably.

Two steps, each its own transaction. Planning: a stage whose start has come, of an event In Progress or
Completed, gets one row, PENDING, with the number of devices it will ask; a stage the scheduler first sees after
its end is MISSED. Sending: a PENDING stage's devices — the event's reserved devices, each asked for its expected
kW, read set-based from the reservation (which no longer changes once the event has started) — go to the
gateway, one order per head end, and the devices with their answers are written whole, with the stage SENT, in
one transaction (one bulk insert: no row written twice). A restart between the two finds the stage PENDING and
asks again with the same stage id, which the head ends key the order by: no device is dispatched twice, none
forgotten.

An event cancelled once started is stopped, in the cancellation's transaction (planning locks the event's row,
so a stage is never planned for an event being cancelled): a stage sent and not yet ended, or being sent (its
order may have reached the head ends; their answers are still recorded), becomes STOPPING; one not yet started
MISSED; the devices' participation ends at the cancellation. Then the head ends of its reservation are told to
end its orders at the cancellation (`end_dispatch`, harmless repeated) and the stages become STOPPED; a head end
that cannot be reached is told at the next round. The worker tells them after it sends: an order sent as the
event was cancelled is ended too.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import polars as pl
import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Connection, Engine

from derbridge.clock import as_utc
from derbridge.derms.dispatch.schema import dispatch_devices, stage_dispatches
from derbridge.derms.events.events import cancelled_at
from derbridge.derms.events.lifecycle import Status
from derbridge.derms.events.schema import event_stages, events
from derbridge.derms.headend.gateway import Gateway
from derbridge.derms.headend.model import ACCEPTED, ERROR, DispatchOrder
from derbridge.derms.reservations.schema import reservation_devices
from derbridge.derms.reservations.selection import RESERVED
from derbridge.derms.schema import event_participations
from derbridge.store.bulk import bulk_insert, select_frame
from derbridge.store.db import reading

log = structlog.get_logger()
PENDING, SENT, MISSED, STOPPING, STOPPED = "PENDING", "SENT", "MISSED", "STOPPING", "STOPPED"
NOT_SETTLED = (PENDING, STOPPING)
"""A stage whose head ends are still to be told something: the event's outcomes wait for it."""
GIVE_UP_STOPPING = timedelta(hours=1)
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
            status = connection.execute(sa.select(events.c.status).where(events.c.event_id == stage.event_id)
                                        .with_for_update()).scalar()  # a cancellation waits, or went first
            if status not in (Status.IN_PROGRESS, Status.COMPLETED):
                continue
            if connection.execute(sa.select(d.c.stage_id).where(d.c.stage_id == stage.stage_id)).first():
                continue
            _plan(connection, stage, now)
    return len(due)


def _plan(connection: Connection, stage: Any, now: datetime) -> None:
    if as_utc(stage.end_at) <= now:
        connection.execute(sa.insert(stage_dispatches).values(
            stage_id=stage.stage_id, event_id=stage.event_id, status=MISSED, devices=0, planned_at=now))
        return
    r = reservation_devices
    devices = connection.execute(sa.select(sa.func.count()).select_from(r).where(
        r.c.event_id == stage.event_id, r.c.status == RESERVED)).scalar_one()
    connection.execute(sa.insert(stage_dispatches).values(
        stage_id=stage.stage_id, event_id=stage.event_id, status=PENDING if devices else SENT, devices=devices,
        accepted=None if devices else 0, planned_at=now, sent_at=None if devices else now))


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
    r, dd = reservation_devices, dispatch_devices
    with reading(engine) as connection:
        devices = select_frame(connection, sa.select(r.c.head_end_system, r.c.nic_id,
                                                     r.c.expected_kw.label("requested_kw"), r.c.feeder_id)
                               .where(r.c.event_id == stage.event_id, r.c.status == RESERVED), DEVICE_SCHEMA)
    order = DispatchOrder(stage.event_id, stage.stage_id, as_utc(stage.start_at), as_utc(stage.end_at))
    answers = gateway.dispatch(order, devices.select("head_end_system", "nic_id", kw="requested_kw"))
    answered = devices.join(answers, on=["head_end_system", "nic_id"], how="left", maintain_order="left").select(
        *DEVICE_SCHEMA, stage_id=pl.lit(stage.stage_id), event_id=pl.lit(stage.event_id),
        result=pl.col("result").fill_null(ERROR),
        message=pl.when(pl.col("message") == "").then(None).otherwise(pl.col("message").str.slice(0, 254)))
    with engine.begin() as connection:
        status = connection.execute(sa.select(stage_dispatches.c.status)
                                    .where(stage_dispatches.c.stage_id == stage.stage_id).with_for_update()).scalar()
        if status not in (PENDING, STOPPING):
            return  # another worker recorded it
        connection.execute(sa.delete(dd).where(dd.c.stage_id == stage.stage_id))  # none but by hand: written once
        bulk_insert(connection, dd, answered)
        # Cancelled while the head ends were asked (STOPPING): their answers are kept all the same, and the stage
        # stays STOPPING until they are told to end the order.
        connection.execute(sa.update(stage_dispatches).where(stage_dispatches.c.stage_id == stage.stage_id).values(
            status=SENT if status == PENDING else STOPPING, sent_at=now, devices=answered.height,
            accepted=int((answered["result"] == ACCEPTED).sum())))


def stop(connection: Connection, event_id: str, now: datetime) -> None:
    """The event is cancelled once started: each stage's dispatch stops now, and its devices' participation ends
    now, so that they are free for events after it (in the caller's transaction)."""
    s, d, p = event_stages, stage_dispatches, event_participations
    connection.execute(sa.update(p).where(p.c.event_id == event_id, p.c.end_at > now).values(end_at=now))
    running = sa.select(s.c.stage_id).where(s.c.event_id == event_id, s.c.end_at > now).scalar_subquery()
    connection.execute(sa.update(d).where(d.c.event_id == event_id, sa.or_(
        d.c.status == PENDING, sa.and_(d.c.status == SENT, d.c.stage_id.in_(running)))).values(status=STOPPING))
    unplanned = connection.execute(
        sa.select(s.c.stage_id).outerjoin(d, d.c.stage_id == s.c.stage_id)
        .where(s.c.event_id == event_id, d.c.stage_id.is_(None))).scalars().all()
    if unplanned:
        connection.execute(sa.insert(d), [{"stage_id": stage_id, "event_id": event_id, "status": MISSED,
                                           "devices": 0, "accepted": 0, "planned_at": now} for stage_id in unplanned])


def end_stopped(engine: Engine, gateway: Gateway, now: datetime) -> int:
    """Tell the head ends of every stopped event to end its orders at its cancellation; returns how many events
    were told. An event whose head end cannot be reached stays STOPPING and is told at the next round, until
    `GIVE_UP_STOPPING` past its cancellation (its outcomes wait for it)."""
    d, r = stage_dispatches, reservation_devices
    with reading(engine) as connection:
        stopping = list(connection.execute(
            sa.select(d.c.event_id, cancelled_at(d.c.event_id).label("at")).where(d.c.status == STOPPING).distinct()))
        head_ends = {row.event_id: list(connection.execute(
            sa.select(r.c.head_end_system).where(r.c.event_id == row.event_id).distinct()).scalars())
            for row in stopping}
    told = 0
    for row in stopping:
        at = as_utc(row.at)
        failed = gateway.end_dispatch(row.event_id, head_ends[row.event_id], at)
        if failed:
            log.warning("dispatch.stop_not_told", event_id=row.event_id, head_ends=failed)
            if now < at + GIVE_UP_STOPPING:
                continue
        with engine.begin() as connection:
            connection.execute(sa.update(d).where(d.c.event_id == row.event_id, d.c.status == STOPPING)
                               .values(status=STOPPED))
        told += 1
    return told
