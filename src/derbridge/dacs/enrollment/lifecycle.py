"""An agent's actions on an enrollment: retry an error, unenroll, replace or add a device, check a device's
status. Each change DERMS must know of writes an enrollment sync (F5) in the same transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from derbridge.dacs.enrollment import enrollment_sync
from derbridge.dacs.enrollment.activation import NewDevice, add_device_row
from derbridge.dacs.enrollment.setup import setup_checks, validate_again
from derbridge.dacs.enrollment.states import (
    ACTIVE,
    DEVICE_SETUP,
    RETRYABLE,
    UNENROLL_REASONS,
    UNENROLLED,
    VAL_ERROR,
    Enrolled,
    histories,
    required,
    set_statuses,
)
from derbridge.dacs.enrollment.validation import enrolled_devices, refusal
from derbridge.dacs.enrollment.wire import Asset, EnrollRequest
from derbridge.dacs.programs.programs import program_by_code
from derbridge.dacs.schema import (
    active_device_keys,
    controllable_devices,
    enrollments,
    program_subscriptions,
)
from derbridge.dacs.status_checks import checks as status_checks
from derbridge.errors import Conflict, InvalidInput, NotFound


def retry(engine: Engine, enrollment_id: str, now: datetime, timeout_s: float) -> Enrolled:
    """Validate a VAL-ERROR enrollment again, or give a SETUP-ERROR enrollment new status checks."""
    with engine.begin() as connection:
        enrollment = required(connection, enrollment_id)
        if enrollment.status not in RETRYABLE:
            raise Conflict(f"enrollment {enrollment_id} is {enrollment.status}: only "
                                     f"{' and '.join(RETRYABLE)} enrollments can be retried")
        histories(connection, [(enrollment_id, enrollment.status, "retried")], now)
        if enrollment.status == VAL_ERROR:
            return validate_again(connection, enrollment, now, timeout_s)
        set_statuses(connection, [(enrollment_id, DEVICE_SETUP, None, "device setup retried")], now)
        setup_round = status_checks.start_setup_round(connection, enrollment_id)
        request = EnrollRequest.model_validate_json(enrollment.request)
        status_checks.start_checks(connection, setup_checks(enrollment_id, request, setup_round), now, timeout_s)
        return Enrolled(enrollment_id, DEVICE_SETUP)


def unenroll(engine: Engine, enrollment_id: str, reason: str, now: datetime) -> str:
    """End an ACTIVE enrollment: subscription INACTIVE, devices removed, the sync to DERMS; returns its id."""
    if reason not in UNENROLL_REASONS:
        raise InvalidInput({"reason": f"must be one of {', '.join(UNENROLL_REASONS)}"})
    with engine.begin() as connection:
        enrollment = required(connection, enrollment_id)
        if enrollment.status != ACTIVE:
            raise Conflict(f"enrollment {enrollment_id} is {enrollment.status}: only ACTIVE enrollments "
                                     "can be unenrolled")
        subscription_id = enrollment.subscription_id
        connection.execute(sa.update(program_subscriptions).where(
            program_subscriptions.c.subscription_id == subscription_id)
            .values(status="INACTIVE", end_at=now, updated_at=now))
        removed = _active_devices(connection, subscription_id)
        for device in removed:
            _remove_device(connection, device.device_id, now)
        connection.execute(sa.update(enrollments).where(enrollments.c.enrollment_id == enrollment_id)
                           .values(unenroll_reason=reason))
        set_statuses(connection, [(enrollment_id, UNENROLLED, None, f"unenrolled: {reason}")], now)
        return enrollment_sync.write_sync(connection, subscription_id, tuple(d.device_id for d in removed),
                                          division=enrollment.division, unenroll_reason=reason)


def replace_device(engine: Engine, device_id: str, replacement: Asset, now: datetime) -> tuple[str, str]:
    """Remove a device and put another in its place on the same subscription; returns (new device id, sync id)."""
    with engine.begin() as connection:
        old = connection.execute(sa.select(controllable_devices).where(
            controllable_devices.c.device_id == device_id)).one_or_none()
        if old is None:
            raise NotFound("device", device_id)
        if old.status != ACTIVE:
            raise Conflict(f"device {device_id} is {old.status}: only an ACTIVE device can be replaced")
        enrollment = required(connection, old.enrollment_id)
        _check_new_device(connection, enrollment, replacement)
        _remove_device(connection, device_id, now)
        new_device_id = add_device_row(connection, enrollment, old.subscription_id, NewDevice.of(replacement), now)
        histories(connection, [(enrollment.enrollment_id, enrollment.status,
                                 f"device {device_id} replaced by {new_device_id}")], now)
        sync_id = enrollment_sync.write_sync(connection, old.subscription_id, (device_id,),
                                             division=enrollment.division)
        return new_device_id, sync_id


def add_device(engine: Engine, enrollment_id: str, asset: Asset, now: datetime) -> tuple[str, str]:
    """Add a device to an ACTIVE enrollment; returns (device id, sync request id)."""
    with engine.begin() as connection:
        enrollment = required(connection, enrollment_id)
        if enrollment.status != ACTIVE:
            raise Conflict(f"enrollment {enrollment_id} is {enrollment.status}: devices can only be "
                                     "added to an ACTIVE enrollment")
        _check_new_device(connection, enrollment, asset)
        device_id = add_device_row(connection, enrollment, enrollment.subscription_id, NewDevice.of(asset), now)
        histories(connection, [(enrollment_id, ACTIVE, f"device {device_id} added")], now)
        return device_id, enrollment_sync.write_sync(connection, enrollment.subscription_id,
                                                     division=enrollment.division)


def _check_new_device(connection: Connection, enrollment: Any, asset: Asset) -> None:
    """A device put on an enrollment obeys the rules of a requested one; a refusal is a conflict."""
    missing = [name for name in ("specification", "assetType", "nicId", "headEndSystem") if not getattr(asset, name)]
    if missing:
        raise refusal(90015, missing=", ".join(missing)).error()
    program = program_by_code(connection, enrollment.program_code)
    eligible = program.eligible_specifications if program else frozenset()
    if eligible and asset.specification not in eligible:
        raise refusal(90016, specification=asset.specification, programCode=enrollment.program_code).error()
    taken = enrolled_devices(connection, [(asset.headEndSystem or "", asset.nicId or "")])
    if taken:
        [(key, other)] = taken.items()
        raise refusal(90017, headEndSystem=key[0], nicId=key[1], deviceId=other).error()


def check_device(engine: Engine, device_id: str, requested_by: str, now: datetime, timeout_s: float) -> str:
    """An agent asks for a device's status (troubleshooting); returns the communication id."""
    with engine.begin() as connection:
        device = connection.execute(sa.select(controllable_devices, enrollments.c.division).join(
            enrollments, enrollments.c.enrollment_id == controllable_devices.c.enrollment_id).where(
            controllable_devices.c.device_id == device_id)).one_or_none()
        if device is None:
            raise NotFound("device", device_id)
        about = status_checks.Device(device.head_end_system, device.nic_id, device.specification, device.device_type,
                                    device.division)
        [communication_id] = status_checks.start_checks(connection, [status_checks.Check(
            about, status_checks.AGENT, device_id=device_id, requested_by=requested_by)], now, timeout_s)
        return communication_id


def _remove_device(connection: Connection, device_id: str, now: datetime) -> None:
    connection.execute(sa.update(controllable_devices).where(controllable_devices.c.device_id == device_id)
                       .values(status="REMOVED", removed_at=now, updated_at=now))
    connection.execute(sa.delete(active_device_keys).where(active_device_keys.c.device_id == device_id))


def _active_devices(connection: Connection, subscription_id: str) -> list[Any]:
    return list(connection.execute(sa.select(controllable_devices).where(
        controllable_devices.c.subscription_id == subscription_id, controllable_devices.c.status == ACTIVE)).all())
