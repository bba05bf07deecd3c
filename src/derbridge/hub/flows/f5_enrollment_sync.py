"""F5 — enrollment sync, program system → DERMS, and DERMS's acknowledgement back.

When an enrollment completes, a customer unenrolls, or a device is replaced or added, the program system
writes a sync request; the hub maps its `sendDetails` to DERMS's `/enroll` message. DERMS registers new
devices with their head end and deregisters removed ones, then acknowledges with a head-end registration
status per device (D1RE registered, D1DR deregistered, D1NR not registered), which the hub maps to the
program system's acknowledgement. Idempotency key: the sync request id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from derbridge.clock import iso_z
from derbridge.hub.flows.relay import Relay
from derbridge.hub.flows.wire import ExceptionInfo, SyncRequestId, Wire
from derbridge.hub.lookups import Lookups

Id30 = Field(min_length=1, max_length=30)

# ---- program system → hub -------------------------------------------------------------------------------


class ContactInfo(Wire):
    contactId: str | None = Field(default=None, max_length=30)
    cisPersonId: str | None = Field(default=None, max_length=30)
    """Optional on the wire: DERMS refuses a sync without a known person as a business error (documented)."""


class SubscriptionInfo(Wire):
    subscriptionId: str = Field(min_length=1, max_length=14)
    cisAccountId: str = Id30
    subscriptionType: str | None = Field(default=None, max_length=30)
    status: Literal["ACTIVE", "INACTIVE"]
    programId: str | None = Field(default=None, max_length=12)
    programCode: str = Id30
    startDateTime: datetime
    endDateTime: datetime | None = None
    unenrollReason: str | None = Field(default=None, max_length=30)


class ControllableDevice(Wire):
    deviceId: str = Field(min_length=1, max_length=12)
    nicId: str = Field(min_length=1, max_length=100)
    headEndSystem: str = Field(min_length=1, max_length=50)
    specification: str | None = Field(default=None, max_length=60)
    deviceType: str | None = Field(default=None, max_length=30)
    installDateTime: datetime | None = None
    removalDateTime: datetime | None = None
    isActive: bool
    nameplateKw: float | None = Field(default=None, ge=0)
    nameplateKwh: float | None = Field(default=None, ge=0)
    networkAddress: str | None = Field(default=None, max_length=100)


class DeviceGroup(Wire):
    groupCategory: Literal["PROGRAM", "MODEL", "RATE"]
    groupCode: str = Field(min_length=1, max_length=60)
    effectiveStartDateTime: datetime
    effectiveEndDateTime: datetime | None = None


class LocationInfo(Wire):
    division: str | None = Field(default=None, max_length=30)
    servicePointId: str | None = Field(default=None, max_length=30)
    cisPremiseId: str | None = Field(default=None, max_length=30)
    cisServicePointId: str = Id30
    controllableDevices: list[ControllableDevice] = Field(min_length=1, max_length=100)
    deviceGroups: list[DeviceGroup] = Field(default_factory=list, max_length=300)


class SendDetails(Wire):
    syncRequestId: SyncRequestId
    contactInfo: ContactInfo
    subscriptionInfo: SubscriptionInfo
    locationInfo: LocationInfo


class EnrollmentSync(Wire):
    """The program system's outbound enrollment sync (its message wraps the fields in `sendDetails`)."""

    sendDetails: SendDetails


# ---- DERMS → hub ----------------------------------------------------------------------------------------


class DeviceHeadendStatus(Wire):
    deviceId: str = Field(min_length=1, max_length=12)
    headEndRegistration: Literal["D1RE", "D1DR", "D1NR"]
    message: str = Field(default="", max_length=2000)


class EnrollAck(Wire):
    dacsMessageId: SyncRequestId
    hasError: bool
    exceptionInfo: list[ExceptionInfo] = Field(default_factory=list, max_length=100)
    deviceHeadendStatus: list[DeviceHeadendStatus] = Field(default_factory=list, max_length=1000)
    whenISO: str | None = None


# ---- mapping --------------------------------------------------------------------------------------------


def _iso_or_none(value: datetime | None) -> str | None:
    return iso_z(value) if value is not None else None


def to_derms(sync: EnrollmentSync, _lookups: Lookups) -> dict[str, Any]:
    """The program system's sync as DERMS's `/enroll` message."""
    details = sync.sendDetails
    subscription, location = details.subscriptionInfo, details.locationInfo
    return {
        "dacsMessageId": details.syncRequestId,
        "contactInfo": {"contactId": details.contactInfo.contactId, "cisPersonId": details.contactInfo.cisPersonId},
        "subscriptionInfo": {
            "subscriptionId": subscription.subscriptionId, "cisAccountId": subscription.cisAccountId,
            "subscriptionType": subscription.subscriptionType, "status": subscription.status,
            "programId": subscription.programId, "programCode": subscription.programCode,
            "startDateTimeISO": iso_z(subscription.startDateTime),
            "endDateTimeISO": _iso_or_none(subscription.endDateTime),
            "unenrollReason": subscription.unenrollReason,
        },
        "locationInfo": {
            "division": location.division, "servicePointId": location.servicePointId,
            "cisPremiseId": location.cisPremiseId, "cisServicePointId": location.cisServicePointId,
            "controllableDevices": [_device_to_derms(device) for device in location.controllableDevices],
            "deviceGroups": [
                {"groupCategory": group.groupCategory, "groupCode": group.groupCode,
                 "effectiveStartDateTimeISO": iso_z(group.effectiveStartDateTime),
                 "effectiveEndDateTimeISO": _iso_or_none(group.effectiveEndDateTime)}
                for group in location.deviceGroups
            ],
        },
    }


def _device_to_derms(device: ControllableDevice) -> dict[str, Any]:
    return {
        "deviceId": device.deviceId, "nicId": device.nicId, "headEndSystem": device.headEndSystem,
        "specification": device.specification, "deviceType": device.deviceType,
        "installDateTimeISO": _iso_or_none(device.installDateTime),
        "removalDateTimeISO": _iso_or_none(device.removalDateTime), "isActive": device.isActive,
        "nameplateKw": device.nameplateKw, "nameplateKwh": device.nameplateKwh,
        "networkAddress": device.networkAddress,
    }


def to_dacs_ack(ack: EnrollAck, _lookups: Lookups) -> dict[str, Any]:
    """DERMS's ack as the program system's `postAcknowledgement`."""
    return {
        "syncRequestId": ack.dacsMessageId,
        "hasError": ack.hasError,
        "exceptionInfo": [info.model_dump(exclude_none=True) for info in ack.exceptionInfo],
        "deviceHeadendStatus": [status.model_dump() for status in ack.deviceHeadendStatus],
    }


def sync_keys(sync: EnrollmentSync) -> dict[str, str]:
    """Every id an operator may look the sync up by: the sync, the subscription, the customer, each device."""
    details = sync.sendDetails
    keys = {"syncRequestId": details.syncRequestId, "subscriptionId": details.subscriptionInfo.subscriptionId,
            "cisAccountId": details.subscriptionInfo.cisAccountId}
    if details.contactInfo.cisPersonId:
        keys["cisPersonId"] = details.contactInfo.cisPersonId
    for number, device in enumerate(details.locationInfo.controllableDevices, start=1):
        keys[f"deviceId.{number}"] = device.deviceId
        keys[f"nicId.{number}"] = device.nicId
    return keys


def ack_keys(ack: EnrollAck) -> dict[str, str]:
    keys = {"syncRequestId": ack.dacsMessageId}
    for number, status in enumerate(ack.deviceHeadendStatus, start=1):
        keys[f"deviceId.{number}"] = status.deviceId
    return keys


RELAYS = [
    Relay(
        flow="F5", kind="enrollment-sync", source="dacs", target="derms",
        inbound_path="/hub/from-dacs/enrollmentSync", model=EnrollmentSync, target_path="/enroll",
        business_key=lambda m: m.sendDetails.syncRequestId, keys=sync_keys, to_target=to_derms,
        summary="An enrollment completed, ended, or changed its devices in the program system",
    ),
    Relay(
        flow="F5", kind="enrollment-ack", source="derms", target="dacs",
        inbound_path="/hub/from-derms/sendEnrollAck", model=EnrollAck,
        target_path="/rest/apis/cross/digitalAssets/programEnrollments/postAcknowledgement",
        business_key=lambda m: m.dacsMessageId, keys=ack_keys, to_target=to_dacs_ack,
        summary="DERMS acknowledges an enrollment sync with each device's head-end registration",
    ),
]
