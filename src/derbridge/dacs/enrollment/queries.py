"""What an agent reads of enrollments, their devices and status checks."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from derbridge.clock import iso_utc
from derbridge.dacs.enrollment.states import enrollment_row
from derbridge.dacs.schema import (
    controllable_devices,
    enrollment_history,
    enrollments,
    status_checks,
)
from derbridge.dacs.status_checks import checks
from derbridge.store.db import reading

# ---- reading ----------------------------------------------------------------------------------------------


def describe(engine: Engine, enrollment_id: str) -> dict[str, Any] | None:
    with reading(engine) as connection:
        row = enrollment_row(connection, enrollment_id)
        if row is None:
            return None
        history = connection.execute(sa.select(enrollment_history).where(
            enrollment_history.c.enrollment_id == enrollment_id).order_by(enrollment_history.c.id)).all()
        devices = connection.execute(sa.select(controllable_devices).where(
            controllable_devices.c.enrollment_id == enrollment_id).order_by(controllable_devices.c.device_id)).all()
        asked = connection.execute(sa.select(status_checks).where(
            status_checks.c.enrollment_id == enrollment_id).order_by(status_checks.c.requested_at)).all()
    return {**summary(row), "history": [{"status": h.status, "note": h.note, "at": iso_utc(h.at)} for h in history],
            "devices": [device_summary(d) for d in devices],
            "statusChecks": [checks.describe(check) for check in asked]}


def summary(row: Any) -> dict[str, Any]:
    exception = None
    if row.exception_number is not None:
        exception = {"messageCategory": row.exception_category, "messageNumber": row.exception_number,
                     "comments": row.exception_text}
    return {
        "enrollmentId": row.enrollment_id, "transactionId": row.transaction_id, "status": row.status,
        "enrollmentSource": row.enrollment_source, "programCode": row.program_code, "cisPersonId": row.cis_person_id,
        "cisAccountId": row.cis_account_id, "cisServicePointId": row.cis_service_point_id,
        "subscriptionId": row.subscription_id, "startDate": row.start_date.isoformat() if row.start_date else None,
        "unenrollReason": row.unenroll_reason, "exception": exception, "createdAt": iso_utc(row.created_at),
        "updatedAt": iso_utc(row.updated_at),
    }


def device_summary(row: Any) -> dict[str, Any]:
    return {
        "deviceId": row.device_id, "enrollmentId": row.enrollment_id, "subscriptionId": row.subscription_id,
        "status": row.status, "headEndSystem": row.head_end_system, "nicId": row.nic_id,
        "specification": row.specification, "deviceType": row.device_type, "serialNo": row.serial_no,
        "cisServicePointId": row.cis_service_point_id, "installedAt": iso_utc(row.installed_at),
        "removedAt": iso_utc(row.removed_at), "headEndRegistration": row.head_end_registration,
        "registrationMessage": row.registration_message,
    }


def search(engine: Engine, status: str | None = None, cis_account_id: str | None = None,
           limit: int = 200) -> list[dict[str, Any]]:
    query = sa.select(enrollments).order_by(enrollments.c.created_at.desc()).limit(limit)
    if status:
        query = query.where(enrollments.c.status == status)
    if cis_account_id:
        query = query.where(enrollments.c.cis_account_id == cis_account_id)
    with reading(engine) as connection:
        return [summary(row) for row in connection.execute(query)]


def status_check(engine: Engine, communication_id: str) -> dict[str, Any] | None:
    with reading(engine) as connection:
        found = checks.get(connection, communication_id)
    return checks.describe(found) if found is not None else None


def counts_by_status(engine: Engine) -> dict[str, int]:
    with reading(engine) as connection:
        rows = connection.execute(sa.select(enrollments.c.status, sa.func.count())
                                  .group_by(enrollments.c.status)).all()
    return {str(status): int(count) for status, count in rows}


def devices(engine: Engine, registration: str | None = None, status: str | None = None,
            limit: int = 200) -> list[dict[str, Any]]:
    query = sa.select(controllable_devices).order_by(controllable_devices.c.device_id).limit(limit)
    if registration:
        query = query.where(controllable_devices.c.head_end_registration == registration)
    if status:
        query = query.where(controllable_devices.c.status == status)
    with reading(engine) as connection:
        return [device_summary(row) for row in connection.execute(query)]
