"""F6 — device status check: program system → DERMS, and the result back asynchronously.

The program system asks for a device's latest communication status (while setting up an enrollment's
device, or when an agent troubleshoots one). DERMS acknowledges at once, asks the device's head end, and
later posts the result, which the hub relays to the program system. The two legs are paired by the
program system's `communicationId` (DERMS's `dacsMessageId`, the program system's `transactionID`): the hub
opens a correlation when the check passes, closes it when the result does, and marks checks that got no
result in time (see hub/correlations.py). Idempotency keys: the communicationId, per leg.

Each leg is answered as the vendor's middleware answers it, with the far side's own answer (hub/replies.py):
the program system's check with DERMS's MsgAck, as `responseDetails.externalId` = DERMS's `dacsMessageId`;
DERMS's result with a MsgAck whose `responseCode` is the program system's `boStatus`. With
`store_and_forward` (derbridge's own peers) each is answered `RECEIVED` once recorded instead.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import Field
from sqlalchemy.engine import Engine

from derbridge.clock import iso_z
from derbridge.config import Settings
from derbridge.hub import correlations, messagelog, metrics
from derbridge.hub.context import current
from derbridge.hub.flows.relay import Extended, Relay
from derbridge.hub.flows.wire import Wire, iso_now
from derbridge.hub.lookup_catalog import CONNECTION_ID, DACS, DERMS
from derbridge.hub.lookups import Lookups
from derbridge.hub.replies import Reply
from derbridge.web.batch import Answer

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
    """The program system's `controllableDeviceStatus/response`, as documented: the result's status under the
    check's transactionID."""
    return {"responseDetail": {"transactionID": result.dacsMessageId, "result": {"status": result.responseCode}}}


def to_dacs_with_detail(result: StatusResult, lookups: Lookups) -> dict[str, Any]:
    """The same with DERMS's words and the device's last report, for a program system that takes them
    (`dacs_status_detail`): the reference one shows them to agents."""
    mapped = to_dacs(result, lookups)
    mapped["responseDetail"]["result"].update(
        message=result.message, lastSeenDateTime=iso_z(result.lastSeenISO) if result.lastSeenISO else None)
    return mapped


# ---- answering each leg with the far side's answer ---------------------------------------------------------

BO_STATUSES = ("SUCCESS", "ERROR", "FAILURE")
SETTLED = (messagelog.DELIVERED, messagelog.DECLINED, messagelog.DEAD)
"""The far side has answered: the message was taken, or refused for good."""


def answer_check(db: Engine, message_id: int, out_of_time: bool) -> Answer | None:
    """The program system's check, answered from DERMS's MsgAck: `responseDetails.externalId` is DERMS's
    `dacsMessageId`. A refusal is ERROR; no answer from DERMS in time, FAILURE (202: the hub keeps trying)."""
    row = messagelog.message_row(db, message_id)
    if row.status not in SETTLED and not out_of_time:
        return None
    now = iso_now()
    if row.status == messagelog.DELIVERED:
        ack = _json_object(row.response)
        first = _first_response(ack)
        return Answer(200, {"ackType": ack.get("ackType", "SUCCESS"), "whenISO": now, "responseDetails": {
            "externalId": first.get("dacsMessageId", row.business_key), "responseCode": first.get("responseCode"),
            "responseTimeISO": now}})
    refused = row.status in SETTLED
    return Answer(200 if refused else 202, {"ackType": "ERROR" if refused else "FAILURE", "whenISO": now,
                                            "responseDetails": {"externalId": None, "responseCode": None,
                                                                "message": _why(row, "DERMS"),
                                                                "responseTimeISO": now}})


def answer_result(db: Engine, message_id: int, out_of_time: bool) -> Answer | None:
    """DERMS's result, answered with the program system's `boStatus` (SUCCESS, ERROR or FAILURE) under the
    check's communicationId; a refusal is ERROR, no answer in time FAILURE (202: the hub keeps trying), `value`
    then saying why."""
    row = messagelog.message_row(db, message_id)
    if row.status not in SETTLED and not out_of_time:
        return None
    value = row.business_key
    if row.status == messagelog.DELIVERED:
        given = _json_object(row.response).get("boStatus")
        status, code = (given if given in BO_STATUSES else "SUCCESS"), 200
    else:
        status, code = ("ERROR", 200) if row.status in SETTLED else ("FAILURE", 202)
        value = _why(row, "the program system")
    now = iso_now()
    return Answer(code, {"ackType": status, "whenISO": now, "responses": {"response": [
        {"id": row.business_key, "value": value, "responseCode": status, "responseTimeISO": now,
         "dacsMessageId": row.business_key}]}})


def _why(row: Any, far_side: str) -> str:
    if row.status in SETTLED:
        return f"{far_side} refused it: {row.last_error}"[:254]
    waiting = f" (last try: {row.last_error})" if row.last_error else ""
    return f"{far_side} has not taken it yet{waiting}; the hub keeps delivering it (message {row.id})"[:254]


def _json_object(text: str | None) -> dict[str, Any]:
    found = json.loads(text) if text else None
    return found if isinstance(found, dict) else {}


def _first_response(ack: dict[str, Any]) -> dict[str, Any]:
    responses = (ack.get("responses") or {}).get("response") or [{}]
    return responses[0] if isinstance(responses[0], dict) else {}


def replies_with_results(settings: Settings) -> bool:
    return not settings.store_and_forward


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
        to_target=to_derms, on_recorded=open_check, reply=Reply(replies_with_results, answer_check),
        summary="The program system asks for a device's latest communication status",
    ),
    Relay(
        flow="F6", kind="status-result", source="derms", target="dacs",
        inbound_path="/hub/from-derms/status-check-ack-to-dacs", model=StatusResult,
        target_path="/rest/apis/cross/digitalAssets/controllableDeviceStatus/response",
        business_key=lambda m: m.dacsMessageId, keys=lambda m: {"communicationId": m.dacsMessageId},
        to_target=to_dacs, extended=Extended(lambda settings: settings.dacs_status_detail, to_dacs_with_detail),
        on_recorded=close_check, reply=Reply(replies_with_results, answer_result),
        summary="DERMS reports a device's latest communication status",
    ),
]
