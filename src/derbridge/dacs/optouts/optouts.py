"""Customer event opt-outs (F12): an agent records that a customer's device will not take part in an event.

Allowed only for a device reserved for an upcoming event (its stages pending or scheduled, its start ahead),
when the program's type allows a pre-emptive opt-out, and before the type's cut-off (the event's start less
`optout_cutoff_minutes`, by the one clock). Each refusal names the condition that failed with a message of
the program system's category. Accepted, the participation's opted-out flag is set and the sync to DERMS is
written in the same transaction (the outbox), keyed by event and device: DERMS drops the device from the
reservation and may backfill. The same opt-out again is answered with the one held, nothing sent twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from derbridge.clock import as_utc, iso_utc, iso_z
from derbridge.dacs.schema import (
    controllable_devices,
    event_participations,
    outbound_messages,
    program_events,
    program_types,
    programs,
)
from derbridge.errors import NotFound, Refused
from derbridge.store.db import reading
from derbridge.store.outbox import new_outbox_values

CATEGORY = 90000
NOT_ALLOWED_BY_PROGRAM_TYPE, PAST_CUTOFF, NOT_RESERVED, NOT_UPCOMING = 90031, 90032, 90033, 90034
UPCOMING = ("PENDING", "SCHEDULED")
SYNC_PATH = "/hub/from-dacs/eventOptOut"


@dataclass(frozen=True)
class OptOut:
    """An agent's opt-out: the event, and the device by its id or by (head end, NIC id)."""

    event_id: str
    device_id: str | None = None
    head_end_system: str | None = None
    nic_id: str | None = None


def record(engine: Engine, request: OptOut, now: datetime) -> tuple[bool, dict[str, Any]]:
    """Record the opt-out and its sync to DERMS, or refuse it; (new, the participation)."""
    with engine.begin() as connection:
        head_end, nic = _device(connection, request)
        start = _upcoming_start(connection, request.event_id, now)
        participation = _participation(connection, request.event_id, head_end, nic)
        if participation is None or not participation.reserved:
            raise Refused(f"device {head_end}/{nic} is not reserved for event {request.event_id}",
                          category=CATEGORY, number=NOT_RESERVED)
        if participation.opted_out:
            return False, describe(participation)
        _check_program_type(connection, participation, request.event_id, start, now)
        p = event_participations
        connection.execute(sa.update(p).where(p.c.participation_id == participation.participation_id)
                           .values(opted_out=True, opted_out_at=now, updated_at=now))
        connection.execute(sa.insert(outbound_messages).values(
            message_key=f"opt-out:{participation.participation_id}", kind="event-opt-out",
            **new_outbox_values(SYNC_PATH, {
                "eventExternalIdentifier": request.event_id, "headEndSystem": head_end, "nicId": nic,
                "deviceId": participation.device_id, "optOutDateTime": iso_z(now)})))
        return True, describe(_participation(connection, request.event_id, head_end, nic))


def _device(connection: Connection, request: OptOut) -> tuple[str, str]:
    if request.head_end_system and request.nic_id:
        return request.head_end_system, request.nic_id
    d = controllable_devices
    row = connection.execute(sa.select(d.c.head_end_system, d.c.nic_id)
                             .where(d.c.device_id == request.device_id)).first()
    if row is None:
        raise NotFound("device", str(request.device_id))
    return row.head_end_system, row.nic_id


def _upcoming_start(connection: Connection, event_id: str, now: datetime) -> datetime:
    """The event's start (its first stage's), if every stage is pending or scheduled and it starts later."""
    e = program_events
    row = connection.execute(sa.select(sa.func.min(e.c.start_at).label("start"), sa.func.count().label("stages"),
                                       sa.func.sum(sa.case((e.c.status.in_(UPCOMING), 1), else_=0)).label("upcoming"))
                             .where(e.c.event_external_id == event_id)).one()
    if not row.stages:
        raise NotFound("event", event_id)
    start = as_utc(row.start)
    if row.upcoming != row.stages or start <= now:
        raise Refused(f"event {event_id} is not upcoming: it has started, ended or been cancelled",
                      category=CATEGORY, number=NOT_UPCOMING)
    return start


def _participation(connection: Connection, event_id: str, head_end: str, nic: str) -> Any:
    p = event_participations
    return connection.execute(sa.select(p).where(p.c.event_external_id == event_id, p.c.head_end_system == head_end,
                                                 p.c.nic_id == nic)).first()


def _check_program_type(connection: Connection, participation: Any, event_id: str, start: datetime,
                        now: datetime) -> None:
    program_code = participation.program_code or connection.execute(
        sa.select(sa.func.min(program_events.c.program_code))
        .where(program_events.c.event_external_id == event_id)).scalar()
    kind = connection.execute(
        sa.select(program_types.c.program_type_code, program_types.c.preemptive_optout_allowed,
                  program_types.c.optout_cutoff_minutes)
        .join(programs, programs.c.program_type_code == program_types.c.program_type_code)
        .where(programs.c.program_code == program_code)).first()
    if kind is None or not kind.preemptive_optout_allowed:
        type_code = kind.program_type_code if kind else "unknown"
        raise Refused(f"program {program_code} (type {type_code}) does not allow a pre-emptive opt-out",
                      category=CATEGORY, number=NOT_ALLOWED_BY_PROGRAM_TYPE)
    cutoff = start - timedelta(minutes=kind.optout_cutoff_minutes or 0)
    if now >= cutoff:
        raise Refused(f"the opt-out cut-off for event {event_id} was {iso_utc(cutoff)} "
                      f"({kind.optout_cutoff_minutes or 0} minutes before its start)",
                      category=CATEGORY, number=PAST_CUTOFF)


def list_opt_outs(engine: Engine, event_id: str | None, limit: int) -> list[dict[str, Any]]:
    p = event_participations
    query = sa.select(p).where(p.c.opted_out.is_(True)).order_by(p.c.opted_out_at.desc()).limit(limit)
    if event_id:
        query = query.where(p.c.event_external_id == event_id)
    with reading(engine) as connection:
        return [describe(row) for row in connection.execute(query)]


def describe(row: Any) -> dict[str, Any]:
    return {"eventExternalIdentifier": row.event_external_id, "headEndSystem": row.head_end_system,
            "nicId": row.nic_id, "deviceId": row.device_id, "programCode": row.program_code,
            "reserved": row.reserved, "optedOut": row.opted_out, "optedOutAt": iso_utc(row.opted_out_at)}
