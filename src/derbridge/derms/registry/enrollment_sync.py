"""The enrollment sync receiver (F5): the program system's view of one subscription, its location, devices and
device groups, applied to DERMS's registry once per dacsMessageId.

A request (one message, or a batch of them) is applied in one transaction: messages are split into rounds in
which no subscription or device appears twice, and each round is staged and applied set-based
(derms/registry/records.py), so a batch costs a few statements per round, not per device. A sync for a customer the
CIS does not know is refused as a business error: nothing of it is applied and its ack is queued at once.
The ack of an accepted sync waits for the registration worker (derms/registry/registration.py) to bring its devices'
head-end registration in line, and then reports each device's registration.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from derbridge.clock import iso_z, utcnow
from derbridge.derms.acks import MESSAGE_CATEGORY
from derbridge.derms.registry import records as registry
from derbridge.derms.registry.records import Refusal
from derbridge.derms.schema import (
    devices,
    enrollment_sync_devices,
    enrollment_syncs,
    outbound_messages,
    received_messages,
    subscriptions,
)
from derbridge.store.outbox import new_outbox_values
from derbridge.web.wire import UtcDateTime

ACK_PATH = "/hub/from-derms/sendEnrollAck"
PENDING, ACKED, REFUSED = "PENDING", "ACKED", "REFUSED"

# exceptionInfo of a refused sync: one entry per CIS key DERMS does not know (DERMS's own category, acks.py).
MESSAGE_NUMBERS = {"cisPersonId": 201, "contactId": 202, "cisServicePointId": 203}
MAX_COMMENTS, MAX_DEVICE_MESSAGE = 254, 2000




class _Part(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class ContactInfo(_Part):
    # Missing keys are not a bad request but a business error (the vendor's own example: no CIS person id).
    contactId: str | None = Field(default=None, max_length=30)
    cisPersonId: str | None = Field(default=None, max_length=30)


class SubscriptionInfo(_Part):
    subscriptionId: str = Field(min_length=1, max_length=14)
    cisAccountId: str = Field(min_length=1, max_length=30)
    subscriptionType: str | None = Field(default=None, max_length=30)
    status: Literal["ACTIVE", "INACTIVE"]
    programId: str | None = Field(default=None, max_length=12)
    programCode: str = Field(min_length=1, max_length=30)
    startDateTimeISO: UtcDateTime
    endDateTimeISO: UtcDateTime | None = None
    unenrollReason: Literal["LSSL", "CUSTOMEROPTOUT", "INACTIVESERVICE", "INELIGIBLERATE"] | None = None


class ControllableDevice(_Part):
    deviceId: str = Field(min_length=1, max_length=12)
    nicId: str = Field(min_length=1, max_length=100)
    headEndSystem: str = Field(min_length=1, max_length=50)
    specification: str | None = Field(default=None, max_length=60)
    deviceType: str | None = Field(default=None, max_length=30)
    installDateTimeISO: UtcDateTime | None = None
    removalDateTimeISO: UtcDateTime | None = None
    isActive: bool
    nameplateKw: float | None = Field(default=None, ge=0)
    nameplateKwh: float | None = Field(default=None, ge=0)
    networkAddress: str | None = Field(default=None, max_length=100)


class DeviceGroup(_Part):
    groupCategory: Literal["PROGRAM", "MODEL", "RATE"]
    groupCode: str = Field(min_length=1, max_length=60)
    effectiveStartDateTimeISO: UtcDateTime
    effectiveEndDateTimeISO: UtcDateTime | None = None


class LocationInfo(_Part):
    division: str | None = Field(default=None, max_length=30)
    servicePointId: str | None = Field(default=None, max_length=30)
    cisPremiseId: str | None = Field(default=None, max_length=30)
    cisServicePointId: str | None = Field(default=None, max_length=30)
    controllableDevices: list[ControllableDevice] = Field(default_factory=list, max_length=1000)
    deviceGroups: list[DeviceGroup] = Field(default_factory=list, max_length=200)

    @model_validator(mode="after")
    def _each_device_and_group_once(self) -> LocationInfo:
        keys = [(device.headEndSystem, device.nicId) for device in self.controllableDevices]
        if len(set(keys)) != len(keys):
            raise ValueError("controllableDevices lists a device (headEndSystem, nicId) more than once")
        ids = [device.deviceId for device in self.controllableDevices]
        if len(set(ids)) != len(ids):
            raise ValueError("controllableDevices lists a deviceId more than once")
        groups = [(g.groupCategory, g.groupCode, g.effectiveStartDateTimeISO) for g in self.deviceGroups]
        if len(set(groups)) != len(groups):
            raise ValueError("deviceGroups lists a group (category, code, start) more than once")
        return self


class EnrollMessage(_Part):
    """The enrollment sync DERMS accepts at /enroll (docs/wire.md, F5)."""

    dacsMessageId: str = Field(min_length=1, max_length=14)
    contactInfo: ContactInfo
    subscriptionInfo: SubscriptionInfo
    locationInfo: LocationInfo


# ---- receiving ---------------------------------------------------------------------------------------------------

def receive(engine: Engine, messages: list[EnrollMessage], now: datetime | None = None) -> list[bool]:
    """Apply every message not seen before, in one transaction; True for each message taken now, False for a
    repeat. Two requests racing with the same message: the loser retries and finds it a repeat."""
    for attempt in range(3):
        try:
            with engine.begin() as connection:
                return receive_in(connection, messages, now or utcnow())
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def receive_in(connection: Connection, messages: list[EnrollMessage], now: datetime) -> list[bool]:
    seen = _already_received(connection, [message.dacsMessageId for message in messages])
    fresh, taken = [], []
    for message in messages:
        new = message.dacsMessageId not in seen
        seen.add(message.dacsMessageId)
        fresh.append(new)
        if new:
            taken.append(message)
    if not taken:
        return fresh
    connection.execute(sa.insert(received_messages), [
        {"message_id": message.dacsMessageId, "kind": "enroll", "received_at": now} for message in taken])
    refused: list[tuple[EnrollMessage, Refusal]] = []
    for round_ in rounds(taken):
        refused += _apply_round(connection, round_, now)
    if refused:
        _queue_refusals(connection, refused, now)
    return fresh


def _already_received(connection: Connection, ids: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        found.update(connection.execute(sa.select(received_messages.c.message_id).where(
            received_messages.c.message_id.in_(ids[start:start + 500]))).scalars())
    return found


def rounds(messages: Iterable[EnrollMessage]) -> list[list[EnrollMessage]]:
    """Messages in rounds where no subscription or device appears twice; a message comes in a later round than
    every earlier message it shares one with, so applying round after round keeps the arrival order."""
    last_round: dict[tuple[str, ...], int] = {}
    grouped: list[list[EnrollMessage]] = []
    for message in messages:
        keys = [("subscription", message.subscriptionInfo.subscriptionId),
                *(("device", device.headEndSystem, device.nicId)
                  for device in message.locationInfo.controllableDevices)]
        number = max((last_round[key] + 1 for key in keys if key in last_round), default=0)
        for key in keys:
            last_round[key] = number
        if number == len(grouped):
            grouped.append([])
        grouped[number].append(message)
    return grouped


def _apply_round(connection: Connection, messages: list[EnrollMessage], now: datetime
                 ) -> list[tuple[EnrollMessage, Refusal]]:
    by_id = {message.dacsMessageId: message for message in messages}
    with registry.temporary(connection, registry.staged_subscriptions, registry.staged_devices,
                            registry.staged_groups):
        _stage(connection, messages)
        refusals = registry.take_refused(connection)
        refused_ids = {refusal.message_id for refusal in refusals}
        _drop_staged_parts(connection, sorted(refused_ids))
        accepted = [message for message in messages if message.dacsMessageId not in refused_ids]
        if accepted:
            registry.upsert_subscriptions(connection, now)
            registry.upsert_devices(connection, registry.staged_device_rows(), now)
            registry.replace_groups(connection)
            registry.refresh_registrations(connection)
            _record_pending(connection, accepted, now)
    return [(by_id[refusal.message_id], refusal) for refusal in refusals]


def _stage(connection: Connection, messages: list[EnrollMessage]) -> None:
    connection.execute(sa.insert(registry.staged_subscriptions), [_subscription_row(m) for m in messages])
    device_rows = [_device_row(m, device) for m in messages for device in m.locationInfo.controllableDevices]
    if device_rows:
        connection.execute(sa.insert(registry.staged_devices), device_rows)
    group_rows = [_group_row(m, group) for m in messages for group in m.locationInfo.deviceGroups]
    if group_rows:
        connection.execute(sa.insert(registry.staged_groups), group_rows)


def _drop_staged_parts(connection: Connection, message_ids: list[str]) -> None:
    for table in (registry.staged_devices, registry.staged_groups):
        for start in range(0, len(message_ids), 500):
            connection.execute(sa.delete(table).where(table.c.message_id.in_(message_ids[start:start + 500])))


def _subscription_row(message: EnrollMessage) -> dict[str, Any]:
    subscription, location = message.subscriptionInfo, message.locationInfo
    return {
        "message_id": message.dacsMessageId, "subscription_id": subscription.subscriptionId,
        "subscription_type": subscription.subscriptionType, "status": subscription.status,
        "program_id": subscription.programId, "program_code": subscription.programCode,
        "cis_person_id": message.contactInfo.cisPersonId, "contact_id": message.contactInfo.contactId,
        "cis_account_id": subscription.cisAccountId, "division": location.division,
        "service_point_id": location.servicePointId, "cis_premise_id": location.cisPremiseId,
        "cis_service_point_id": location.cisServicePointId, "start_at": subscription.startDateTimeISO,
        "end_at": subscription.endDateTimeISO,
    }


def _device_row(message: EnrollMessage, device: ControllableDevice) -> dict[str, Any]:
    return {
        "message_id": message.dacsMessageId, "head_end_system": device.headEndSystem, "nic_id": device.nicId,
        "device_id": device.deviceId, "subscription_id": message.subscriptionInfo.subscriptionId,
        "specification": device.specification, "device_type": device.deviceType, "active": device.isActive,
        "installed_at": device.installDateTimeISO, "removed_at": device.removalDateTimeISO,
        "nameplate_kw": device.nameplateKw, "nameplate_kwh": device.nameplateKwh,
        "network_address": device.networkAddress,
    }


def _group_row(message: EnrollMessage, group: DeviceGroup) -> dict[str, Any]:
    return {"message_id": message.dacsMessageId, "subscription_id": message.subscriptionInfo.subscriptionId,
            "group_category": group.groupCategory, "group_code": group.groupCode,
            "effective_start": group.effectiveStartDateTimeISO, "effective_end": group.effectiveEndDateTimeISO}


def _record_pending(connection: Connection, accepted: list[EnrollMessage], now: datetime) -> None:
    """The accepted syncs wait for their acks, each with the devices its ack reports: those it lists (noting a
    newer state kept instead), and, when its subscription is now inactive, every device of the subscription."""
    connection.execute(sa.insert(enrollment_syncs), [
        {"dacs_message_id": m.dacsMessageId, "subscription_id": m.subscriptionInfo.subscriptionId,
         "state": PENDING, "has_error": False, "received_at": now} for m in accepted])
    staged, s = registry.staged_devices, registry.staged_subscriptions
    columns = ["dacs_message_id", "head_end_system", "nic_id", "device_id", "newer_message_id"]
    listed = (sa.select(staged.c.message_id, staged.c.head_end_system, staged.c.nic_id, staged.c.device_id,
                        sa.case((devices.c.last_message_id != staged.c.message_id, devices.c.last_message_id)))
              .join(devices, sa.and_(devices.c.head_end_system == staged.c.head_end_system,
                                     devices.c.nic_id == staged.c.nic_id)))
    connection.execute(sa.insert(enrollment_sync_devices).from_select(columns, listed))
    not_listed = ~sa.exists().where(staged.c.message_id == s.c.message_id,
                                    staged.c.head_end_system == devices.c.head_end_system,
                                    staged.c.nic_id == devices.c.nic_id)
    unenrolled = (sa.select(s.c.message_id, devices.c.head_end_system, devices.c.nic_id, devices.c.device_id,
                            sa.null())
                  .join(subscriptions, sa.and_(subscriptions.c.subscription_id == s.c.subscription_id,
                                               subscriptions.c.last_message_id == s.c.message_id))
                  .join(devices, devices.c.subscription_id == s.c.subscription_id)
                  .where(subscriptions.c.status == "INACTIVE", not_listed))
    connection.execute(sa.insert(enrollment_sync_devices).from_select(columns, unenrolled))


def _queue_refusals(connection: Connection, refused: list[tuple[EnrollMessage, Refusal]], now: datetime) -> None:
    connection.execute(sa.insert(enrollment_syncs), [
        {"dacs_message_id": m.dacsMessageId, "subscription_id": m.subscriptionInfo.subscriptionId,
         "state": REFUSED, "has_error": True, "received_at": now, "acked_at": now} for m, _ in refused])
    connection.execute(sa.insert(outbound_messages), [
        {"message_key": ack_key(m.dacsMessageId), "kind": "enroll-ack",
         **new_outbox_values(ACK_PATH, refusal_ack(m, refusal, now))} for m, refusal in refused])


# ---- acknowledgements ----------------------------------------------------------------------------------------------

def ack_key(dacs_message_id: str) -> str:
    return f"enroll-ack:{dacs_message_id}"



def refusal_ack(message: EnrollMessage, refusal: Refusal, when: datetime) -> dict[str, Any]:
    """hasError, an exceptionInfo entry per unknown CIS key, and every device not registered."""
    exceptions = [
        {"messageCategory": MESSAGE_CATEGORY, "messageNumber": MESSAGE_NUMBERS[name],
         "comments": registry.unknown_key_text(name, value)[:MAX_COMMENTS], "sequence": sequence,
         "messageParameters": [{"messageParameterValue": value or "", "parameterSequence": 1}]}
        for sequence, (name, value) in enumerate(refusal.unknown.items(), start=1)]
    reason = f"not registered: the enrollment sync was refused ({refusal.reason()})"[:MAX_DEVICE_MESSAGE]
    statuses = [{"deviceId": device.deviceId, "headEndRegistration": "D1NR", "message": reason}
                for device in message.locationInfo.controllableDevices]
    return {"dacsMessageId": message.dacsMessageId, "hasError": True, "exceptionInfo": exceptions,
            "deviceHeadendStatus": statuses, "whenISO": iso_z(when)}


def settled_ack(dacs_message_id: str, statuses: list[dict[str, Any]], when: datetime) -> dict[str, Any]:
    return {"dacsMessageId": dacs_message_id, "hasError": False, "exceptionInfo": [],
            "deviceHeadendStatus": statuses, "whenISO": iso_z(when)}


def device_status(device_id: str, registration_status: str, message: str | None,
                  newer_message_id: str | None) -> dict[str, Any]:
    """One device's line in an ack: its registration code, the head end's message, and a note when the registry
    kept a newer state of the device than the sync's."""
    notes = [message] if message else []
    if newer_message_id:
        notes.append(f"not applied: DERMS holds a newer state of this device (from sync {newer_message_id})")
    return {"deviceId": device_id, "headEndRegistration": registry.HEAD_END_CODES[registration_status],
            "message": "; ".join(notes)[:MAX_DEVICE_MESSAGE]}


def list_syncs(connection: Connection, *, state: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    query = sa.select(enrollment_syncs)
    if state:
        query = query.where(enrollment_syncs.c.state == state.upper())
    rows = connection.execute(query.order_by(enrollment_syncs.c.received_at.desc()).limit(limit))
    return [{"dacsMessageId": row.dacs_message_id, "subscriptionId": row.subscription_id, "state": row.state,
             "hasError": row.has_error, "receivedAt": iso_z(row.received_at),
             "ackedAt": iso_z(row.acked_at)} for row in rows]
