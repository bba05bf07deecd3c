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

from derbridge.dacs.ids import new_id
from derbridge.dacs.schema import outbound_messages, status_checks
from derbridge.store.db import as_utc
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
class Result:
    """What happened to a result: applied to a waiting check, kept as late, a repeat, or for no check at all."""

    outcome: str  # applied, late, repeat, unknown
    check: Any = None
    """The check as it was before the result."""


def start_check(connection: Connection, device: Device, purpose: str, now: datetime, timeout_s: float, *,
                enrollment_id: str | None = None, asset_sequence: int | None = None, setup_round: int | None = None,
                device_id: str | None = None, requested_by: str | None = None) -> str:
    """Write a waiting check and its message to DERMS; returns the communication id."""
    communication_id = new_id(COMMUNICATION_ID_DIGITS)
    connection.execute(sa.insert(status_checks).values(
        communication_id=communication_id, purpose=purpose, enrollment_id=enrollment_id,
        asset_sequence=asset_sequence, setup_round=setup_round, device_id=device_id,
        head_end_system=device.head_end_system,
        nic_id=device.nic_id, status=AWAITRESP, requested_by=requested_by, requested_at=now,
        deadline=now + timedelta(seconds=timeout_s)))
    connection.execute(sa.insert(outbound_messages).values(
        message_key=f"status-check:{communication_id}", kind="status-check",
        **new_outbox_values(CHECK_PATH, check_message(communication_id, device))))
    return communication_id


def check_message(communication_id: str, device: Device) -> dict[str, Any]:
    """The outbound status check, fields wrapped in `sendDetails` as the program system sends them."""
    return {"sendDetails": {"communicationId": communication_id, "deviceInfo": {
        "division": device.division, "deviceType": device.device_type, "specification": device.specification,
        "headEndSystem": device.head_end_system, "nicid": device.nic_id}}}


def record_result(connection: Connection, communication_id: str, status: str, message: str | None,
                  last_seen: datetime | None, now: datetime) -> Result:
    """Apply DERMS's result to its check, once."""
    check = connection.execute(sa.select(status_checks).where(
        status_checks.c.communication_id == communication_id)).one_or_none()
    if check is None:
        return Result("unknown")
    if check.status in (TIMED_OUT, SUPERSEDED) and check.late_result is None:
        connection.execute(sa.update(status_checks).where(status_checks.c.communication_id == communication_id)
                           .values(late_result=status, result_message=message, last_seen=last_seen))
        return Result("late", check)
    if check.status != AWAITRESP:
        return Result("repeat", check)
    connection.execute(sa.update(status_checks).where(status_checks.c.communication_id == communication_id)
                       .values(status=status, result_message=message, last_seen=last_seen, answered_at=now))
    return Result("applied", check)


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


def current_round(connection: Connection, enrollment_id: str) -> list[Any]:
    """The device-setup checks of the enrollment's latest round."""
    latest = sa.select(sa.func.max(status_checks.c.setup_round)).where(
        status_checks.c.enrollment_id == enrollment_id).scalar_subquery()
    return list(connection.execute(sa.select(status_checks).where(
        status_checks.c.enrollment_id == enrollment_id, status_checks.c.setup_round == latest)).all())


def get(connection: Connection, communication_id: str) -> Any:
    return connection.execute(sa.select(status_checks).where(
        status_checks.c.communication_id == communication_id)).one_or_none()


def describe(row: Any) -> dict[str, Any]:
    def iso(value: Any) -> str | None:
        value = as_utc(value)
        return value.isoformat() if value else None

    return {
        "communicationId": row.communication_id, "purpose": row.purpose, "enrollmentId": row.enrollment_id,
        "deviceId": row.device_id, "headEndSystem": row.head_end_system, "nicId": row.nic_id,
        "status": row.status, "message": row.result_message, "lastSeen": iso(row.last_seen),
        "lateResult": row.late_result, "requestedBy": row.requested_by, "requestedAt": iso(row.requested_at),
        "deadline": iso(row.deadline), "answeredAt": iso(row.answered_at),
    }
