"""Device status checks (F6): the program system asks DERMS for a device's latest communication status.

A check is written with its outbound message in the caller's transaction and waits (AWAITRESP) for DERMS's
result, which arrives later through the hub: SUCCESS or FAILURE. A check still waiting at its deadline is
TIMED-OUT; a result arriving after that is kept beside it (LATE) but changes nothing. A check replaced by a
newer round of device setup is SUPERSEDED. What a result means for an enrollment is decided in
enrollments.py; this module only keeps the checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from derbridge.clock import iso_utc
from derbridge.dacs.ids import new_id
from derbridge.dacs.schema import outbound_messages, status_checks
from derbridge.store.outbox import new_outbox_values

AWAITRESP, SUCCESS, FAILURE, TIMED_OUT, SUPERSEDED = "AWAITRESP", "SUCCESS", "FAILURE", "TIMED-OUT", "SUPERSEDED"
DEVICE_SETUP, AGENT = "DEVICE-SETUP", "AGENT"
CHECK_PATH = "/hub/from-dacs/deviceStatusCheck"
COMMUNICATION_ID_DIGITS = 14


@dataclass(frozen=True)
class Device:
    """The device a check is about, as the status check message describes it."""

    head_end_system: str
    nic_id: str
    specification: str | None
    device_type: str | None
    division: str | None


@dataclass(frozen=True)
class Check:
    """A check to start: the device, and what asked for it."""

    device: Device
    purpose: str
    enrollment_id: str | None = None
    asset_sequence: int | None = None
    setup_round: int | None = None
    device_id: str | None = None
    requested_by: str | None = None


@dataclass(frozen=True)
class Answer:
    """DERMS's result of one check, as the hub relays it."""

    communication_id: str
    status: str
    message: str | None = None
    last_seen: datetime | None = None


@dataclass(frozen=True)
class Result:
    """What happened to a result: applied to a waiting check, kept as late, a repeat, or for no check at all."""

    outcome: str  # applied, late, repeat, unknown
    check: Any = None
    """The check as it was before the result."""


def start_checks(connection: Connection, checks: list[Check], now: datetime, timeout_s: float) -> list[str]:
    """Write waiting checks and their messages to DERMS, two statements for all; returns the communication ids."""
    ids = [new_id(COMMUNICATION_ID_DIGITS) for _ in checks]
    if not checks:
        return ids
    deadline = now + timedelta(seconds=timeout_s)
    connection.execute(sa.insert(status_checks), [{
        "communication_id": communication_id, "purpose": check.purpose, "enrollment_id": check.enrollment_id,
        "asset_sequence": check.asset_sequence, "setup_round": check.setup_round, "device_id": check.device_id,
        "head_end_system": check.device.head_end_system, "nic_id": check.device.nic_id, "status": AWAITRESP,
        "result_message": None, "last_seen": None, "late_result": None, "requested_by": check.requested_by,
        "requested_at": now, "deadline": deadline, "answered_at": None,
    } for communication_id, check in zip(ids, checks, strict=True)])
    connection.execute(sa.insert(outbound_messages), [{
        "message_key": f"status-check:{communication_id}", "kind": "status-check",
        **new_outbox_values(CHECK_PATH, check_message(communication_id, check.device)),
    } for communication_id, check in zip(ids, checks, strict=True)])
    return ids


def check_message(communication_id: str, device: Device) -> dict[str, Any]:
    """The outbound status check, fields wrapped in `sendDetails` as the program system sends them."""
    return {"sendDetails": {"communicationId": communication_id, "deviceInfo": {
        "division": device.division, "deviceType": device.device_type, "specification": device.specification,
        "headEndSystem": device.head_end_system, "nicid": device.nic_id}}}


def record_results(connection: Connection, answers: list[Answer], now: datetime) -> list[Result]:
    """Apply DERMS's results to their checks, each once, in three statements for all; one Result per answer."""
    found = {row.communication_id: row for row in connection.execute(sa.select(status_checks).where(
        status_checks.c.communication_id.in_({answer.communication_id for answer in answers})))}
    results, applied, late = [], [], []
    answered: set[str] = set()
    for answer in answers:
        check = found.get(answer.communication_id)
        if check is None:
            results.append(Result("unknown"))
            continue
        if answer.communication_id in answered:  # the same result twice in one batch
            results.append(Result("repeat", check))
            continue
        answered.add(answer.communication_id)
        values = {"id": answer.communication_id, "result": answer.status, "message": answer.message,
                  "seen": answer.last_seen}
        if check.status == AWAITRESP:
            applied.append(values)
            results.append(Result("applied", check))
        elif check.status in (TIMED_OUT, SUPERSEDED) and check.late_result is None:
            late.append(values)
            results.append(Result("late", check))
        else:
            results.append(Result("repeat", check))
    table = status_checks
    if applied:
        connection.execute(sa.update(table).where(table.c.communication_id == sa.bindparam("id"))
                           .values(status=sa.bindparam("result"), result_message=sa.bindparam("message"),
                                   last_seen=sa.bindparam("seen"), answered_at=now), applied)
    if late:
        connection.execute(sa.update(table).where(table.c.communication_id == sa.bindparam("id"))
                           .values(late_result=sa.bindparam("result"), result_message=sa.bindparam("message"),
                                   last_seen=sa.bindparam("seen")), late)
    return results


def any_overdue(connection: Connection, now: datetime) -> bool:
    return connection.execute(sa.select(status_checks.c.communication_id).where(
        status_checks.c.status == AWAITRESP, status_checks.c.deadline < now).limit(1)).first() is not None


def overdue(connection: Connection, now: datetime) -> list[Any]:
    """Waiting checks past their deadline, now TIMED-OUT."""
    found = list(connection.execute(sa.select(status_checks).where(
        status_checks.c.status == AWAITRESP, status_checks.c.deadline < now)).all())
    if found:
        connection.execute(sa.update(status_checks).where(
            status_checks.c.communication_id.in_([row.communication_id for row in found]))
            .values(status=TIMED_OUT, answered_at=now))
    return found


def start_setup_round(connection: Connection, enrollment_id: str) -> int:
    """A new round of device-setup checks: the old round's waiting checks are moot; returns its number."""
    connection.execute(sa.update(status_checks).where(
        status_checks.c.enrollment_id == enrollment_id, status_checks.c.status == AWAITRESP)
        .values(status=SUPERSEDED))
    last = connection.execute(sa.select(sa.func.max(status_checks.c.setup_round)).where(
        status_checks.c.enrollment_id == enrollment_id)).scalar_one()
    return int(last or 0) + 1


def current_rounds(connection: Connection, enrollment_ids: set[str]) -> dict[str, list[Any]]:
    """The device-setup checks of each enrollment's latest round (one query for all)."""
    rows = connection.execute(sa.select(status_checks).where(status_checks.c.enrollment_id.in_(enrollment_ids),
                                                             status_checks.c.purpose == DEVICE_SETUP)).all()
    latest: dict[str, int] = {}
    for row in rows:
        latest[row.enrollment_id] = max(latest.get(row.enrollment_id, 0), row.setup_round or 0)
    rounds: dict[str, list[Any]] = {}
    for row in rows:
        if (row.setup_round or 0) == latest[row.enrollment_id]:
            rounds.setdefault(row.enrollment_id, []).append(row)
    return rounds


def get(connection: Connection, communication_id: str) -> Any:
    return connection.execute(sa.select(status_checks).where(
        status_checks.c.communication_id == communication_id)).one_or_none()


def describe(row: Any) -> dict[str, Any]:
    return {
        "communicationId": row.communication_id, "purpose": row.purpose, "enrollmentId": row.enrollment_id,
        "deviceId": row.device_id, "headEndSystem": row.head_end_system, "nicId": row.nic_id,
        "status": row.status, "message": row.result_message, "lastSeen": iso_utc(row.last_seen),
        "lateResult": row.late_result, "requestedBy": row.requested_by, "requestedAt": iso_utc(row.requested_at),
        "deadline": iso_utc(row.deadline), "answeredAt": iso_utc(row.answered_at),
    }
