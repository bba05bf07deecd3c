"""Enrollment syncs (F5): what DERMS must learn when an enrollment completes, ends, or changes its devices,
and the acknowledgement that tells each device's head-end registration.

A sync carries the subscription, the customer's contact, the device location and the devices that matter
now: the active ones, and any removed in the change being synced (DERMS deregisters those). It is a sync
request, written in the same transaction as the change. The ack completes the sync request and sets each
named device's head-end registration (D1RE / D1DR / D1NR) — unless a newer sync already set it, since
acks may arrive out of order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from derbridge.clock import iso_z, utcnow
from derbridge.dacs.schema import (
    contacts,
    controllable_devices,
    program_subscriptions,
    service_agreements,
    service_points,
    sync_requests,
)
from derbridge.dacs.sync.sync_requests import COMPLETE, ERROR, write_sync_requests

SYNC_PATH = "/hub/from-dacs/enrollmentSync"
SYNC_KIND = "ENROLLMENT"
REGISTRATIONS = ("D1RE", "D1DR", "D1NR")
"""A device's head-end registration as DERMS acknowledges it: registered, deregistered, not registered."""


@dataclass(frozen=True)
class Sync:
    """One subscription's state to send: the subscription and the devices that matter (row-like objects)."""

    subscription: Any
    devices: list[Any]
    premise_id: str | None
    division: str | None
    unenroll_reason: str | None = None


def write_sync(connection: Connection, subscription_id: str, removed_device_ids: tuple[str, ...] = (),
               division: str | None = None, unenroll_reason: str | None = None) -> str:
    """Write the sync request for a subscription's current state (plus the devices just removed)."""
    subscription = connection.execute(sa.select(program_subscriptions).where(
        program_subscriptions.c.subscription_id == subscription_id)).one()
    devices = list(connection.execute(sa.select(controllable_devices).where(
        controllable_devices.c.subscription_id == subscription_id,
        sa.or_(controllable_devices.c.status == "ACTIVE",
               controllable_devices.c.device_id.in_(removed_device_ids)))
        .order_by(controllable_devices.c.device_id)).all())
    [sync_request_id] = write_syncs(connection, [Sync(subscription, devices, None, division, unenroll_reason)])
    return sync_request_id


def write_syncs(connection: Connection, syncs: list[Sync]) -> list[str]:
    """Sync requests for several subscriptions at once, reading their contacts, premises and rates in one
    query each; returns the sync request ids, in order."""
    people = {sync.subscription.cis_person_id for sync in syncs}
    first_contact = dict(connection.execute(sa.select(contacts.c.cis_person_id, sa.func.min(contacts.c.contact_id))
                                            .where(contacts.c.cis_person_id.in_(people))
                                            .group_by(contacts.c.cis_person_id)).all())
    agreements = {sync.subscription.cis_service_agreement_id for sync in syncs} - {None}
    rates = dict(connection.execute(sa.select(service_agreements.c.cis_service_agreement_id,
                                              service_agreements.c.rate_code)
                                    .where(service_agreements.c.cis_service_agreement_id.in_(agreements))).all())
    unplaced = {sync.subscription.cis_service_point_id for sync in syncs if sync.premise_id is None}
    premises = dict(connection.execute(sa.select(service_points.c.cis_service_point_id, service_points.c.cis_premise_id)
                                       .where(service_points.c.cis_service_point_id.in_(unplaced))).all())

    def build(sync: Sync) -> Any:
        subscription = sync.subscription
        return lambda sync_request_id: message(
            sync_request_id, subscription, sync.devices, first_contact.get(subscription.cis_person_id),
            sync.premise_id or premises.get(subscription.cis_service_point_id),
            rates.get(subscription.cis_service_agreement_id), sync.division, sync.unenroll_reason)

    return write_sync_requests(connection, SYNC_KIND, SYNC_PATH,
                               [(sync.subscription.subscription_id, build(sync)) for sync in syncs])


def message(sync_request_id: str, subscription: Any, devices: list[Any], contact_id: str | None,
            premise_id: str | None, rate_code: str | None, division: str | None,
            unenroll_reason: str | None) -> dict[str, Any]:
    """The outbound enrollment sync, fields wrapped in `sendDetails` as the program system sends them."""
    start = iso_z(subscription.start_at)
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
            "startDateTime": start, "endDateTime": iso_z(subscription.end_at), "unenrollReason": unenroll_reason,
        },
        "locationInfo": {
            "division": division, "servicePointId": subscription.cis_service_point_id,
            "cisPremiseId": premise_id, "cisServicePointId": subscription.cis_service_point_id,
            "controllableDevices": [device_message(device) for device in devices],
            "deviceGroups": [{"groupCategory": category, "groupCode": code, "effectiveStartDateTime": start,
                              "effectiveEndDateTime": iso_z(subscription.end_at)} for category, code in groups],
        },
    }}


def device_message(device: Any) -> dict[str, Any]:
    return {
        "deviceId": device.device_id, "nicId": device.nic_id, "headEndSystem": device.head_end_system,
        "specification": device.specification, "deviceType": device.device_type,
        "installDateTime": iso_z(device.installed_at), "removalDateTime": iso_z(device.removed_at),
        "isActive": device.status == "ACTIVE", "nameplateKw": None, "nameplateKwh": None, "networkAddress": None,
    }


@dataclass(frozen=True)
class Ack:
    """DERMS's acknowledgement of one sync, as the hub relays it."""

    sync_request_id: str
    has_error: bool
    device_statuses: list[dict[str, str]]
    payload: dict[str, Any]


def apply_ack(engine: Engine, ack: Ack) -> str:
    [result] = apply_acks(engine, [ack])
    return result


def apply_acks(engine: Engine, acks: list[Ack]) -> list[str]:
    """Complete each sync request and record each device's registration, all in one transaction; per ack
    'applied', 'already synchronized' or 'unknown'."""
    with engine.begin() as connection:
        found = {row.sync_request_id: row for row in connection.execute(
            sa.select(sync_requests.c.sync_request_id, sync_requests.c.status, sync_requests.c.created_at)
            .where(sync_requests.c.sync_request_id.in_({ack.sync_request_id for ack in acks})))}
        results, completed, registrations = [], [], []
        done: set[str] = set()
        now = utcnow()
        for ack in acks:
            row = found.get(ack.sync_request_id)
            if row is None:
                results.append("unknown")
                continue
            if row.status in (COMPLETE, ERROR) or ack.sync_request_id in done:
                results.append("already synchronized")
                continue
            done.add(ack.sync_request_id)
            results.append("applied")
            completed.append({"sync": ack.sync_request_id, "outcome": ERROR if ack.has_error else COMPLETE,
                              "ack": json.dumps(ack.payload)})
            registrations += [{"device": status["deviceId"], "registration": status["headEndRegistration"],
                               "message": status.get("message") or None, "synced": row.created_at}
                              for status in ack.device_statuses]
        if completed:
            connection.execute(sa.update(sync_requests).where(sync_requests.c.sync_request_id == sa.bindparam("sync"))
                               .values(status=sa.bindparam("outcome"), acked_at=now,
                                       ack_payload=sa.bindparam("ack")), completed)
        if registrations:
            _set_registrations(connection, registrations, now)
    return results


def _set_registrations(connection: Connection, registrations: list[dict[str, Any]], now: datetime) -> None:
    """Only a sync at least as new as the one that last set a device's registration may change it."""
    table = controllable_devices
    connection.execute(sa.update(table).where(
        table.c.device_id == sa.bindparam("device"),
        sa.or_(table.c.registration_updated_at.is_(None), table.c.registration_updated_at <= sa.bindparam("synced")))
        .values(head_end_registration=sa.bindparam("registration"), registration_message=sa.bindparam("message"),
                registration_updated_at=sa.bindparam("synced"), updated_at=now), registrations)

