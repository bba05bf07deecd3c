"""F6 — device status check: program system → DERMS, and the result back asynchronously.

The program system asks for a device's latest communication status (while setting up an enrollment's
device, or when an agent troubleshoots one). DERMS acknowledges at once, asks the device's head end, and
later posts the result, which the hub relays to the program system. The two legs are paired by the
program system's `communicationId` (DERMS's `dacsMessageId`, the program system's `transactionID`): the hub
opens a correlation when the check passes, closes it when the result does, and marks checks that got no
result in time (see hub/correlations.py). Idempotency keys: the communicationId, per leg.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field
from sqlalchemy.engine import Engine

from derbridge.hub import correlations, messagelog, metrics
from derbridge.hub.context import current
from derbridge.hub.flows.relay import Relay
from derbridge.hub.flows.wire import Wire, iso
from derbridge.hub.lookup_catalog import CONNECTION_ID, DACS, DERMS
from derbridge.hub.lookups import Lookups

CommunicationId = Field(min_length=1, max_length=30)

# ---- program system → hub -------------------------------------------------------------------------------


class DeviceInfo(Wire):
    division: str | None = Field(default=None, max_length=30)
    deviceType: str | None = Field(default=None, max_length=30)
    specification: str | None = Field(default=None, max_length=60)
    headEndSystem: str = Field(min_length=1, max_length=50)
    nicid: str = Field(min_length=1, max_length=100)


class CheckDetails(Wire):
    communicationId: str = CommunicationId
    deviceInfo: DeviceInfo


class StatusCheck(Wire):
    """The program system's outbound status check (its message wraps the fields in `sendDetails`)."""

    sendDetails: CheckDetails


# ---- DERMS → hub ----------------------------------------------------------------------------------------


class StatusResult(Wire):
    dacsMessageId: str = CommunicationId
    responseCode: Literal["SUCCESS", "FAILURE"]
    message: str | None = Field(default=None, max_length=254)
    lastSeenISO: datetime | None = None


# ---- mapping --------------------------------------------------------------------------------------------


def to_derms(check: StatusCheck, lookups: Lookups) -> dict[str, Any]:
    """DERMS's `/status_check`: the device under `DeviceInfo`, the division's DERMS connection id beside it."""
    details = check.sendDetails
    device = details.deviceInfo
    connection_id = lookups.find(CONNECTION_ID, DACS, device.division, DERMS) if device.division else None
    return {
        "dacsMessageId": details.communicationId,
        "DeviceInfo": {"division": device.division, "deviceType": device.deviceType,
                       "specification": device.specification, "headEndSystem": device.headEndSystem,
                       "nicid": device.nicid},
        "ConnectivityProperties": {"Plugin": {"ConnectionId": connection_id}},
    }


def to_dacs(result: StatusResult, _lookups: Lookups) -> dict[str, Any]:
    """The program system's `controllableDeviceStatus/response`: the result under the check's transactionID."""
    return {"responseDetail": {
        "transactionID": result.dacsMessageId,
        "result": {"status": result.responseCode, "message": result.message,
                   "lastSeenDateTime": iso(result.lastSeenISO) if result.lastSeenISO else None},
    }}


# ---- pairing the legs -----------------------------------------------------------------------------------


def open_check(db: Engine, check: StatusCheck, recorded: messagelog.Recorded) -> None:
    correlations.open_request(db, check.sendDetails.communicationId, "F6", recorded.id,
                              current().settings.status_check_timeout_s)


def close_check(db: Engine, result: StatusResult, recorded: messagelog.Recorded) -> None:
    closed = correlations.close_with_reply(db, result.dacsMessageId, "F6", recorded.id)
    metrics.correlations.labels("F6", closed.state).inc()
    if closed.round_trip_s is not None and closed.state == correlations.ANSWERED:
        metrics.status_check_round_trip.observe(closed.round_trip_s)


RELAYS = [
    Relay(
        flow="F6", kind="status-check", source="dacs", target="derms",
        inbound_path="/hub/from-dacs/deviceStatusCheck", model=StatusCheck, target_path="/status_check",
        business_key=lambda m: m.sendDetails.communicationId,
        keys=lambda m: {"communicationId": m.sendDetails.communicationId,
                        "headEndSystem": m.sendDetails.deviceInfo.headEndSystem,
                        "nicId": m.sendDetails.deviceInfo.nicid},
        to_target=to_derms, on_recorded=open_check,
        summary="The program system asks for a device's latest communication status",
    ),
    Relay(
        flow="F6", kind="status-result", source="derms", target="dacs",
        inbound_path="/hub/from-derms/status-check-ack-to-dacs", model=StatusResult,
        target_path="/rest/apis/cross/digitalAssets/controllableDeviceStatus/response",
        business_key=lambda m: m.dacsMessageId, keys=lambda m: {"communicationId": m.dacsMessageId},
        to_target=to_dacs, on_recorded=close_check,
        summary="DERMS reports a device's latest communication status",
    ),
]
