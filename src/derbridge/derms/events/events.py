"""Events in DERMS's tables: created, approved, cancelled by operators, moved by the clock (`advance`), and what
each change tells the program system (events/messages.py), written in the same transaction.

The program system hears of an event once it is scheduled: its stages, then each status. An event cancelled
while still New was never announced, so nothing is sent; one cancelled once scheduled sends the CANCELLED status
and the cancellation message (F10), and whatever else the caller must undo in the same transaction (its
reservation). One cancelled once started sends the CANCELLED status alone (F10 is a pre-event cancellation): its
devices were dispatched, so the caller stops the dispatch instead, and their outcomes follow (D1CN).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from derbridge.clock import as_utc, iso_utc
from derbridge.derms.events import messages
from derbridge.derms.events.lifecycle import (
    NOT_APPROVED_IN_TIME,
    ORDER,
    Status,
    can_move,
    cancellable,
    due_moves,
)
from derbridge.derms.events.schema import event_history, event_stages, events
from derbridge.derms.events.stages import Stage, checked_stages, default_stages
from derbridge.derms.events.wire import EventIn
from derbridge.derms.schema import feeders, programs, substations
from derbridge.errors import Conflict, InvalidInput, NotFound
from derbridge.store.db import reading

SCHEDULER = "scheduler"
OnCancel = Callable[[Connection, str], None]
OnStop = Callable[[Connection, str, datetime], None]


def new_event_id() -> str:
    return f"EV{secrets.randbelow(9 * 10**9) + 10**9}"


def create(engine: Engine, body: EventIn, who: str, now: datetime, instance: str) -> dict[str, Any]:
    """A new event, with its stages; scheduled at once unless it needs approval. InvalidInput names every field
    that refers to something DERMS does not hold or a time already past."""
    start, end = as_utc(body.start), as_utc(body.end)
    problems: dict[str, str] = {}
    stages: list[Stage] = []
    try:
        stages = default_stages(start, end) if body.stages is None else checked_stages(
            [Stage(s.name, as_utc(s.start), as_utc(s.end)) for s in body.stages], start, end)
    except InvalidInput as refused:
        problems.update(refused.problems)
    event_id = new_event_id()
    with engine.begin() as connection:
        problems.update(_reference_problems(connection, body, now))
        if problems:
            raise InvalidInput(problems)
        connection.execute(sa.insert(events).values(
            event_id=event_id, name=body.name, event_type=body.eventType, program_code=body.programCode,
            target_kw=body.targetKw, start_at=start, end_at=end, zone=body.zone.kind,
            zone_ids=json.dumps(body.zone.ids), status=Status.NEW, needs_approval=body.needsApproval,
            created_by=who, created_at=now, updated_at=now))
        connection.execute(sa.insert(event_stages), [
            {"event_id": event_id, "stage_id": f"{event_id}-{n}", "sequence": n, "name": stage.name,
             "start_at": stage.start, "end_at": stage.end} for n, stage in enumerate(stages, start=1)])
        _record(connection, event_id, Status.NEW, now, who)
        if not body.needsApproval:
            _move(connection, _row(connection, event_id), Status.SCHEDULED, now, who, instance)
    return get(engine, event_id)


def _reference_problems(connection: Connection, body: EventIn, now: datetime) -> dict[str, str]:
    """What the event names that DERMS does not hold, or a start already past."""
    problems: dict[str, str] = {}
    if as_utc(body.start) <= now:
        problems["start"] = f"must be in the future (now is {now.isoformat()})"
    known = connection.execute(sa.select(programs.c.program_code)
                               .where(programs.c.program_code == body.programCode)).first()
    if known is None:
        problems["programCode"] = f"DERMS holds no rules for program {body.programCode!r}"
    if body.zone.kind != "ALL":
        table, key = (substations, substations.c.substation_id) if body.zone.kind == "SUBSTATIONS" else \
            (feeders, feeders.c.feeder_id)
        found = set(connection.execute(sa.select(key).where(key.in_(body.zone.ids))).scalars())
        for index, zone_id in enumerate(body.zone.ids):
            if zone_id not in found:
                problems[f"zone.ids.{index}"] = f"no {table.name[:-1]} {zone_id!r} in the network model"
    return problems


def approve(engine: Engine, event_id: str, approved_by: str, now: datetime, instance: str) -> dict[str, Any]:
    """A named operator approves an event waiting for it: it is scheduled (and announced)."""
    with engine.begin() as connection:
        event = _row(connection, event_id, lock=True)
        if event.status != Status.NEW or not event.needs_approval:
            raise Conflict(f"event {event_id} is {event.status} and waits for no approval")
        if now >= as_utc(event.start_at):
            raise Conflict(f"event {event_id} started at {iso_utc(event.start_at)}: too late to approve it")
        connection.execute(sa.update(events).where(events.c.event_id == event_id)
                           .values(approved_by=approved_by, approved_at=now))
        _move(connection, event, Status.SCHEDULED, now, approved_by, instance)
    return get(engine, event_id)


def cancel(engine: Engine, event_id: str, reason: str, who: str, now: datetime, instance: str,
           on_cancel: OnCancel | None = None, on_stop: OnStop | None = None) -> dict[str, Any]:
    """Cancel an event before its end, in one transaction with what depends on it: before its start `on_cancel`
    undoes its reservation; once started `on_stop` ends its dispatch."""
    with engine.begin() as connection:
        event = _row(connection, event_id, lock=True)
        refusal = cancellable(Status(event.status), as_utc(event.end_at), now)
        if refusal is not None:
            raise Conflict(f"event {event_id}: {refusal}")
        if event.status == Status.SCHEDULED and now >= as_utc(event.start_at):  # started; the clock not there yet
            _move(connection, event, Status.IN_PROGRESS, now, SCHEDULER, instance)
            event = _row(connection, event_id)
        started = event.status == Status.IN_PROGRESS
        _move(connection, event, Status.CANCELLED, now, who, instance, reason)
        if started and on_stop is not None:
            on_stop(connection, event_id, now)
        elif not started and on_cancel is not None:
            on_cancel(connection, event_id)
    return get(engine, event_id)


def advance(engine: Engine, now: datetime, instance: str, on_cancel: OnCancel | None = None) -> int:
    """Move every event whose time has come (the scheduler, on the shared clock); returns how many moved."""
    with reading(engine) as connection:
        candidates = [row.event_id for row in connection.execute(
            sa.select(events.c.event_id).where(
                sa.or_(sa.and_(events.c.status.in_([Status.NEW, Status.SCHEDULED]), events.c.start_at <= now),
                       sa.and_(events.c.status == Status.IN_PROGRESS, events.c.end_at <= now))))]
    moved = 0
    for event_id in candidates:
        with engine.begin() as connection:
            event = _row(connection, event_id, lock=True)
            for status in due_moves(Status(event.status), as_utc(event.start_at), as_utc(event.end_at), now):
                note = NOT_APPROVED_IN_TIME if status == Status.CANCELLED else None
                _move(connection, _row(connection, event_id), status, now, SCHEDULER, instance, note)
                if status == Status.CANCELLED and on_cancel is not None:
                    on_cancel(connection, event_id)
                moved += 1
    return moved


def _move(connection: Connection, event: Any, to: Status, now: datetime, actor: str, instance: str,
          reason: str | None = None) -> None:
    """Change the event's status, record it, and tell the program system what it must hear."""
    current = Status(event.status)
    if not can_move(current, to):
        raise Conflict(f"event {event.event_id} is {current}: it cannot become {to}")
    connection.execute(sa.update(events).where(events.c.event_id == event.event_id)
                       .values(status=to, updated_at=now,
                               **({"cancel_reason": reason} if to == Status.CANCELLED else {})))
    _record(connection, event.event_id, to, now, actor, reason)
    announced = current != Status.NEW
    if not announced and to != Status.SCHEDULED:
        return  # the program system never heard of it
    stages = stages_of(connection, event.event_id)
    if to == Status.SCHEDULED:
        messages.queue_stages(connection, event, stages, instance)
    messages.queue_status(connection, event, to, [stage.stage_id for stage in stages], now, instance, reason)
    if to == Status.CANCELLED and current != Status.IN_PROGRESS:
        messages.queue_cancellation(connection, event.event_id, reason or "", instance)


def _record(connection: Connection, event_id: str, status: Status, at: datetime, actor: str,
            note: str | None = None) -> None:
    connection.execute(sa.insert(event_history).values(event_id=event_id, status=status, at=at, actor=actor,
                                                       note=note))


def _row(connection: Connection, event_id: str, lock: bool = False) -> Any:
    query = sa.select(events).where(events.c.event_id == event_id)
    found = connection.execute(query.with_for_update() if lock else query).first()
    if found is None:
        raise NotFound("event", event_id)
    return found


def event_row(connection: Connection, event_id: str) -> Any:
    """One event's row (NotFound when there is none), for the capabilities that work on events."""
    return _row(connection, event_id)


def cancelled_at(event_id: sa.ColumnElement[str]) -> sa.ScalarSelect[Any]:
    """When the event `event_id` names was cancelled (null if it was not), for the capabilities' queries."""
    h = event_history
    return (sa.select(sa.func.max(h.c.at)).where(h.c.event_id == event_id, h.c.status == Status.CANCELLED)
            .scalar_subquery())


def stages_of(connection: Connection, event_id: str) -> list[Any]:
    return list(connection.execute(sa.select(event_stages).where(event_stages.c.event_id == event_id)
                                   .order_by(event_stages.c.sequence)))


def get(engine: Engine, event_id: str) -> dict[str, Any]:
    with reading(engine) as connection:
        event = _row(connection, event_id)
        history = sorted(connection.execute(sa.select(event_history).where(event_history.c.event_id == event_id)),
                         key=lambda h: (as_utc(h.at), ORDER.index(Status(h.status))))  # moved at once
        return {**describe(event), "stages": [describe_stage(stage) for stage in stages_of(connection, event_id)],
                "history": [{"status": h.status, "at": iso_utc(h.at), "actor": h.actor, "note": h.note}
                            for h in history]}


def list_events(engine: Engine, status: str | None, limit: int) -> list[dict[str, Any]]:
    query = sa.select(events).order_by(events.c.start_at.desc(), events.c.event_id).limit(limit)
    if status:
        query = query.where(events.c.status == status)
    with reading(engine) as connection:
        return [describe(row) for row in connection.execute(query)]


def describe(event: Any) -> dict[str, Any]:
    return {
        "eventId": event.event_id, "name": event.name, "eventType": event.event_type,
        "programCode": event.program_code, "targetKw": event.target_kw, "start": iso_utc(event.start_at),
        "end": iso_utc(event.end_at), "zone": {"kind": event.zone, "ids": json.loads(event.zone_ids)},
        "status": event.status, "needsApproval": event.needs_approval, "approvedBy": event.approved_by,
        "approvedAt": iso_utc(event.approved_at), "createdBy": event.created_by,
        "cancelReason": event.cancel_reason, "createdAt": iso_utc(event.created_at),
        "updatedAt": iso_utc(event.updated_at)}


def describe_stage(stage: Any) -> dict[str, Any]:
    return {"stageId": stage.stage_id, "sequence": stage.sequence, "name": stage.name,
            "start": iso_utc(stage.start_at), "end": iso_utc(stage.end_at)}
