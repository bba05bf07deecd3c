"""Enrollment syncs (F5): what DERMS must learn when an enrollment completes, ends, or changes its devices,
and the acknowledgement that tells each device's head-end registration.

A sync carries the subscription, the customer's contact, the device location and the devices that matter
now: the active ones, and any removed in the change being synced (DERMS deregisters those). It is a sync
request, written in the same transaction as the change. The ack completes the sync request and sets each
named device's head-end registration (D1RE / D1DR / D1NR) — unless a newer sync already set it, since
acks may arrive out of order.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from derbridge.dacs.schema import (
    contacts,
    controllable_devices,
    program_subscriptions,
    service_agreements,
    service_points,
    sync_requests,
)
from derbridge.dacs.syncrequests import acknowledge_in, write_sync_request
from derbridge.store.db import as_utc, utcnow

SYNC_PATH = "/hub/from-dacs/enrollmentSync"
SYNC_KIND = "ENROLLMENT"
REGISTRATIONS = ("D1RE", "D1DR", "D1NR")


def write_sync(connection: Connection, subscription_id: str, removed_device_ids: tuple[str, ...] = (),
               division: str | None = None, unenroll_reason: str | None = None) -> str:
    """Write the sync request for a subscription's current state (plus the devices just removed)."""
    subscription = connection.execute(sa.select(program_subscriptions).where(
        program_subscriptions.c.subscription_id == subscription_id)).one()
    devices = connection.execute(sa.select(controllable_devices).where(
        controllable_devices.c.subscription_id == subscription_id,
        sa.or_(controllable_devices.c.status == "ACTIVE",
               controllable_devices.c.device_id.in_(removed_device_ids)))
        .order_by(controllable_devices.c.device_id)).all()
    premise_id = connection.execute(sa.select(service_points.c.cis_premise_id).where(
        service_points.c.cis_service_point_id == subscription.cis_service_point_id)).scalar_one_or_none()
    return write_sync_request(connection, SYNC_KIND, subscription_id, SYNC_PATH, lambda sync_request_id: message(
        sync_request_id, subscription, devices, contact_of(connection, subscription.cis_person_id), premise_id,
        rate_of(connection, subscription.cis_service_agreement_id), division, unenroll_reason))


def message(sync_request_id: str, subscription: Any, devices: list[Any], contact_id: str | None,
            premise_id: str | None, rate_code: str | None, division: str | None,
            unenroll_reason: str | None) -> dict[str, Any]:
    """The outbound enrollment sync, fields wrapped in `sendDetails` as the program system sends them."""
    start = _iso(subscription.start_at)
    groups = [("PROGRAM", subscription.program_code)]
    groups += sorted({("MODEL", device.specification) for device in devices if device.specification})
    if rate_code:
        groups.append(("RATE", rate_code))
    return {"sendDetails": {
        "syncRequestId": sync_request_id,
        "contactInfo": {"contactId": contact_id, "cisPersonId": subscription.cis_person_id},
        "subscriptionInfo": {
            "subscriptionId": subscription.subscription_id, "cisAccountId": subscription.cis_account_id,
            "subscriptionType": subscription.subscription_type, "status": subscription.status,
            "programId": subscription.program_id, "programCode": subscription.program_code,
            "startDateTime": start, "endDateTime": _iso(subscription.end_at), "unenrollReason": unenroll_reason,
        },
        "locationInfo": {
            "division": division, "servicePointId": subscription.cis_service_point_id,
            "cisPremiseId": premise_id, "cisServicePointId": subscription.cis_service_point_id,
            "controllableDevices": [device_message(device) for device in devices],
            "deviceGroups": [{"groupCategory": category, "groupCode": code, "effectiveStartDateTime": start,
                              "effectiveEndDateTime": _iso(subscription.end_at)} for category, code in groups],
        },
    }}


def device_message(device: Any) -> dict[str, Any]:
    return {
        "deviceId": device.device_id, "nicId": device.nic_id, "headEndSystem": device.head_end_system,
        "specification": device.specification, "deviceType": device.device_type,
        "installDateTime": _iso(device.installed_at), "removalDateTime": _iso(device.removed_at),
        "isActive": device.status == "ACTIVE", "nameplateKw": None, "nameplateKwh": None, "networkAddress": None,
    }


def contact_of(connection: Connection, cis_person_id: str) -> str | None:
    """The person's first contact on record (DERMS knows the same contacts from the CIS)."""
    return connection.execute(sa.select(contacts.c.contact_id).where(contacts.c.cis_person_id == cis_person_id)
                              .order_by(contacts.c.contact_id).limit(1)).scalar_one_or_none()


def rate_of(connection: Connection, cis_service_agreement_id: str | None) -> str | None:
    if cis_service_agreement_id is None:
        return None
    return connection.execute(sa.select(service_agreements.c.rate_code).where(
        service_agreements.c.cis_service_agreement_id == cis_service_agreement_id)).scalar_one_or_none()


def apply_ack(engine: Engine, sync_request_id: str, has_error: bool, device_statuses: list[dict[str, str]],
              payload: dict[str, Any]) -> str:
    """Complete the sync request and record each device's registration; 'applied', 'already synchronized'
    or 'unknown'."""
    with engine.begin() as connection:
        result = acknowledge_in(connection, sync_request_id, has_error, payload)
        if result != "applied":
            return result
        synced_at = connection.execute(sa.select(sync_requests.c.created_at).where(
            sync_requests.c.sync_request_id == sync_request_id)).scalar_one()
        for status in device_statuses:
            _set_registration(connection, status["deviceId"], status["headEndRegistration"],
                              status.get("message") or None, synced_at)
    return result


def _set_registration(connection: Connection, device_id: str, registration: str, message: str | None,
                      synced_at: datetime) -> None:
    """Only a sync at least as new as the one that last set the registration may change it."""
    table = controllable_devices
    connection.execute(sa.update(table).where(
        table.c.device_id == device_id,
        sa.or_(table.c.registration_updated_at.is_(None), table.c.registration_updated_at <= synced_at))
        .values(head_end_registration=registration, registration_message=message,
                registration_updated_at=synced_at, updated_at=utcnow()))


def _iso(value: datetime | None) -> str | None:
    value = as_utc(value)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None
