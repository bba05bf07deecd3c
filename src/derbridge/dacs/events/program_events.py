"""Program events: one per stage of a DERMS event, created Pending, then moved by DERMS's status changes.

Every call is harmless repeated or out of order. A stage created twice is answered with the one held. A status
change applies to every program event of the DERMS event whose status ranks lower (Pending < Scheduled < In
Progress < Completed or Cancelled, the last two final), so a late or repeated change never moves an event
backwards; one for an event not created yet is answered 425 Too Early, which the hub retries until the stages are
in. A cancellation (lifecycle F1CN, or the older pre-event cancellation) before the event's start also takes back
every reservation of the event; one after its start (DERMS stopped it in progress) leaves them: the devices were
dispatched, and DERMS reports their outcomes (D1CN). The pre-event cancellation always takes them back, so a late
F1CN followed by it still does. A reservation may arrive before the stages (F9 creates the event if missing): it
then holds a placeholder program event named after the whole event, which the first stage created replaces.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from derbridge.clock import as_utc, iso_utc
from derbridge.dacs.events.wire import LifecycleIn, PreEventCancellationIn, ProgramEventIn
from derbridge.dacs.ids import new_id
from derbridge.dacs.schema import event_participations, program_events, programs
from derbridge.errors import InvalidInput, NotFound, TooEarly
from derbridge.store.db import reading

PENDING, SCHEDULED, IN_PROGRESS, COMPLETED, CANCELLED = "PENDING", "SCHEDULED", "IN_PROGRESS", "COMPLETED", \
    "CANCELLED"
RANKS = {PENDING: 0, SCHEDULED: 1, IN_PROGRESS: 2, COMPLETED: 3, CANCELLED: 3}
ACTIONS = {"X1SD": SCHEDULED, "X1IP": IN_PROGRESS, "F1CO": COMPLETED, "F1CN": CANCELLED}


def create(engine: Engine, body: ProgramEventIn, now: datetime) -> dict[str, Any]:
    """Create the stage's program event (Pending), once; answers it with whether it was created now."""
    with engine.begin() as connection:
        held = _stage(connection, body.eventExternalIdentifier, body.externalIdentifier)
        if held is not None:
            return {**describe(held), "result": "already exists"}
        program = connection.execute(sa.select(programs.c.program_id).where(
            programs.c.program_code == body.programExternalIdentifier)).first()
        if program is None:
            raise InvalidInput({"programExternalIdentifier": f"no program {body.programExternalIdentifier!r}"})
        status, rank = _status_of(connection, body.eventExternalIdentifier)
        placeholder = _stage(connection, body.eventExternalIdentifier, body.eventExternalIdentifier)
        if placeholder is not None:
            connection.execute(sa.delete(program_events)
                               .where(program_events.c.program_event_id == placeholder.program_event_id))
        connection.execute(sa.insert(program_events).values(
            program_event_id=new_id(14), event_external_id=body.eventExternalIdentifier,
            stage_external_id=body.externalIdentifier, program_code=body.programExternalIdentifier,
            program_id=program.program_id, category=body.programEventCategory, start_at=body.startDateTime,
            end_at=body.endDateTime, status=status, status_rank=rank, created_at=now, updated_at=now))
        created = _stage(connection, body.eventExternalIdentifier, body.externalIdentifier)
    return {**describe(created), "result": "created"}


def placeholder(connection: Connection, event_id: str, program_code: str, category: str, start: datetime,
                end: datetime, now: datetime) -> None:
    """A reservation for an event whose stages have not arrived: one program event for the whole event."""
    program = connection.execute(sa.select(programs.c.program_id)
                                 .where(programs.c.program_code == program_code)).first()
    connection.execute(sa.insert(program_events).values(
        program_event_id=new_id(14), event_external_id=event_id, stage_external_id=event_id,
        program_code=program_code, program_id=program.program_id if program else None, category=category,
        start_at=start, end_at=end, status=PENDING, status_rank=RANKS[PENDING], created_at=now, updated_at=now))


def exists(connection: Connection, event_id: str) -> bool:
    return connection.execute(sa.select(program_events.c.program_event_id)
                              .where(program_events.c.event_external_id == event_id).limit(1)).first() is not None


def change_status(engine: Engine, body: LifecycleIn, now: datetime) -> dict[str, Any]:
    return _move(engine, body.eventExternalIdentifier, ACTIONS[body.action], body.cancelReason, now)


def cancel_before_start(engine: Engine, body: PreEventCancellationIn, now: datetime) -> dict[str, Any]:
    """A pre-event cancellation unreserves the event's devices whenever it arrives: even late, after an F1CN that,
    arriving past the start, kept them."""
    return _move(engine, body.eventExternalIdentifier, CANCELLED, body.cancelMessage, now, pre_event=True)


def _move(engine: Engine, event_id: str, status: str, reason: str | None, now: datetime,
          pre_event: bool = False) -> dict[str, Any]:
    """Move every program event of the DERMS event that ranks lower; a cancellation before the start (or a
    pre-event one) unreserves its devices."""
    rank = RANKS[status]
    with engine.begin() as connection:
        held = connection.execute(sa.select(program_events.c.status, program_events.c.start_at)
                                  .where(program_events.c.event_external_id == event_id)).all()
        if not held:
            raise TooEarly(f"no program event for event {event_id} yet: its stages are created first")
        moved = connection.execute(
            sa.update(program_events)
            .where(program_events.c.event_external_id == event_id, program_events.c.status_rank < rank)
            .values(status=status, status_rank=rank, updated_at=now,
                    **({"cancel_reason": reason} if status == CANCELLED else {}))).rowcount
        started = min(as_utc(row.start_at) for row in held) <= now
        unreserves = pre_event or (status == CANCELLED and moved and not started)
        unreserved = unreserve_all(connection, event_id, now) if unreserves else 0
    result = "applied" if moved else f"ignored: already {', '.join(sorted({row.status for row in held}))}"
    return {"eventExternalIdentifier": event_id, "status": status, "result": result, "programEvents": moved,
            "unreserved": unreserved}


def unreserve_all(connection: Connection, event_id: str, now: datetime) -> int:
    p = event_participations
    return int(connection.execute(sa.update(p).where(p.c.event_external_id == event_id, p.c.reserved.is_(True))
                                  .values(reserved=False, updated_at=now)).rowcount)


def is_cancelled(connection: Connection, event_id: str) -> bool:
    return connection.execute(sa.select(program_events.c.program_event_id).where(
        program_events.c.event_external_id == event_id, program_events.c.status == CANCELLED)).first() is not None


def _status_of(connection: Connection, event_id: str) -> tuple[str, int]:
    """The event's status as its program events hold it (a stage created late joins it), Pending for a new one."""
    found = connection.execute(sa.select(program_events.c.status, program_events.c.status_rank)
                               .where(program_events.c.event_external_id == event_id)
                               .order_by(program_events.c.status_rank.desc()).limit(1)).first()
    return (found.status, found.status_rank) if found is not None else (PENDING, RANKS[PENDING])


def _stage(connection: Connection, event_id: str, stage_id: str) -> Any:
    return connection.execute(sa.select(program_events).where(
        program_events.c.event_external_id == event_id, program_events.c.stage_external_id == stage_id)).first()


def describe(row: Any) -> dict[str, Any]:
    return {"programEventId": row.program_event_id, "eventExternalIdentifier": row.event_external_id,
            "externalIdentifier": row.stage_external_id, "programExternalIdentifier": row.program_code,
            "programEventCategory": row.category, "startDateTime": iso_utc(row.start_at),
            "endDateTime": iso_utc(row.end_at), "status": row.status, "cancelReason": row.cancel_reason,
            "createdAt": iso_utc(row.created_at), "updatedAt": iso_utc(row.updated_at)}


# ---- the agents' view ---------------------------------------------------------------------------------------

def list_events(engine: Engine, status: str | None, limit: int) -> list[dict[str, Any]]:
    """DERMS events as the program system holds them, latest start first: their window, status (the furthest
    any of its program events has gone), stages and participation."""
    pe = program_events
    latest = (sa.select(pe.c.event_external_id).group_by(pe.c.event_external_id)
              .order_by(sa.func.min(pe.c.start_at).desc()).limit(limit))
    if status:
        latest = latest.having(sa.func.max(sa.case((pe.c.status == status, 1), else_=0)) == 1)
    with reading(engine) as connection:
        event_ids = list(connection.execute(latest).scalars())
        rows = connection.execute(sa.select(pe).where(pe.c.event_external_id.in_(event_ids))).all()
        counts = _participation_counts(connection, event_ids)
    stages: dict[str, list[Any]] = {event_id: [] for event_id in event_ids}
    for row in rows:
        stages[row.event_external_id].append(row)
    return [_summary(event_id, stages[event_id], counts.get(event_id, _no_participation())) for event_id in event_ids]


def _summary(event_id: str, stages: list[Any], counts: dict[str, int]) -> dict[str, Any]:
    furthest = max(stages, key=lambda stage: stage.status_rank)
    return {"eventExternalIdentifier": event_id, "programCode": stages[0].program_code,
            "category": stages[0].category, "start": iso_utc(min(stage.start_at for stage in stages)),
            "end": iso_utc(max(stage.end_at for stage in stages)), "status": furthest.status,
            "stages": len(stages), **counts}


def one_event(engine: Engine, event_id: str) -> dict[str, Any]:
    with reading(engine) as connection:
        stages = list(connection.execute(sa.select(program_events)
                                         .where(program_events.c.event_external_id == event_id)
                                         .order_by(program_events.c.start_at)))
        if not stages:
            raise NotFound("program event", event_id)
        counts = _participation_counts(connection, [event_id]).get(event_id, _no_participation())
    return {**_summary(event_id, stages, counts), "stages": [describe(stage) for stage in stages]}


def _participation_counts(connection: Connection, event_ids: list[str]) -> dict[str, dict[str, int]]:
    p = event_participations
    rows = connection.execute(
        sa.select(p.c.event_external_id, sa.func.count().label("participations"),
                  sa.func.sum(sa.case((p.c.reserved.is_(True), 1), else_=0)).label("reserved"),
                  sa.func.sum(sa.case((p.c.opted_out.is_(True), 1), else_=0)).label("optedOut"))
        .where(p.c.event_external_id.in_(event_ids)).group_by(p.c.event_external_id)).all()
    return {row.event_external_id: {"participations": int(row.participations), "reserved": int(row.reserved or 0),
                                    "optedOut": int(row.optedOut or 0)} for row in rows}


def _no_participation() -> dict[str, int]:
    return {"participations": 0, "reserved": 0, "optedOut": 0}


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
