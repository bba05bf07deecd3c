"""F4 — enrollment request: DERMS → program system, one call per record, per-record results back to DERMS.

Aggregators enroll customers' devices through DERMS, which forwards them in one message of many records.
The program system takes one enrollment per call, so the hub records the message as a parent with one part
per record (hub/messagelog.py) and delivers each part on its own — never batched, as documented — one after
another in the records' order, as the vendor's loop does (unless `enroll_concurrently`). Each record's
`messageId` becomes the program system's `transactionId`: a record sent twice (a retry after a fault, or the
same record in a later message) is answered with message 10589 and the existing enrollment, which counts as
success, so no enrollment is ever created twice.

A business refusal of a record (the enrollment's status VAL-ERROR or ERROR, or a business message number)
marks that record ERROR and the others go on. A technical fault is retried, holding the records behind it;
one that will not pass (a dead letter) stops the run: the records not yet sent are held, and the results say
FAILURE. A record whose device model or asset type is not in its lookup cannot be mapped: it is reported as
an error and kept as a dead letter to be resubmitted once the lookup has the value.

The results reach DERMS as the vendor's do, as the answer to its request: a MsgAck with one response per
record, once every record is settled, or after `reply_wait_s` with each record as it stands — applied,
refused, failed, or not sent yet — while the retries go on (DERMS resends the request to hear the rest). A
DERMS that takes the results as a callback (`derms_enroll_callback`, derbridge's own) is answered `RECEIVED`
at once and gets them posted to `/enroll-to-dacs/results` once every record is settled.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from pydantic import Field, model_validator
from sqlalchemy.engine import Engine

from derbridge.config import Settings
from derbridge.hub import messagelog
from derbridge.hub.flows.relay import Leg, status_after, unmappable
from derbridge.hub.flows.wire import Wire, iso_now
from derbridge.hub.flows.wire import check_route as routed_here
from derbridge.hub.lookup_catalog import ASSET_SPEC, ASSET_TYPE, DACS, DERMS
from derbridge.hub.lookups import LookupMissing, Lookups
from derbridge.hub.replies import Reply
from derbridge.web.batch import Answer
from derbridge.web.client import Outcome

FLOW = "F4"
REQUEST_KIND, RECORD_KIND = "enrollment-request", "enrollment-record"
ENROLL_PATH = "/rest/apis/cross/digitalAssets/programEnrollments/enroll"
RESULTS_PATH = "/enroll-to-dacs/results"
ALREADY_EXISTS = 10589
HUB_CATEGORY, CANNOT_MAP = 90100, 90101
"""The hub's own message for a record it could not map (a lookup lacks a row)."""
BUSINESS_STATUSES = ("VAL-ERROR", "ERROR")

# ---- DERMS → hub ----------------------------------------------------------------------------------------


class Params(Wire):
    messageId: str = Field(min_length=1, max_length=120)


class CustomerInfo(Wire):
    cisPersonId: str | None = Field(default=None, max_length=30)
    cisAccountId: str | None = Field(default=None, max_length=30)
    name: str | None = Field(default=None, max_length=254)
    homePhone: str | None = Field(default=None, max_length=24)
    businessPhone: str | None = Field(default=None, max_length=24)
    email: str | None = Field(default=None, max_length=254)


class ProgramInfo(Wire):
    cisServiceAgreementId: str | None = Field(default=None, max_length=30)
    programCode: str = Field(min_length=1, max_length=30)
    startDateTimeISO: datetime | None = None
    endDateTimeISO: datetime | None = None


class LocationInfo(Wire):
    locationId: str | None = Field(default=None, max_length=30)
    division: str | None = Field(default=None, max_length=30)
    cisPremiseId: str | None = Field(default=None, max_length=30)
    cisServicePointId: str | None = Field(default=None, max_length=30)
    timeZone: str | None = Field(default=None, max_length=40)
    address1: str | None = Field(default=None, max_length=254)
    city: str | None = Field(default=None, max_length=90)
    county: str | None = Field(default=None, max_length=90)
    state: str | None = Field(default=None, max_length=6)
    postal: str | None = Field(default=None, max_length=12)
    country: str | None = Field(default=None, max_length=3)


class Asset(Wire):
    sequence: int = Field(ge=1, le=999)
    assetId: str | None = Field(default=None, max_length=30)
    specification: str | None = Field(default=None, max_length=100)
    """DERMS's MAKE!MODEL."""
    assetType: str | None = Field(default=None, max_length=30)
    """DERMS's asset type, mapped by lookup."""
    badgeNo: str | None = Field(default=None, max_length=30)
    serialNo: str | None = Field(default=None, max_length=60)
    nicId: str | None = Field(default=None, max_length=100)
    headEndSystem: str | None = Field(default=None, max_length=50)


class AssetInfo(Wire):
    installationMethod: Literal["X1RE", "X1SD", "X1SI", "X1UI"]
    assetOwnership: Literal["W1CO", "W1OW"]
    assetList: list[Asset] = Field(default_factory=list, max_length=20)


class EnrollmentRecord(Wire):
    params: Params
    enrollmentSource: Literal["X1BY", "X1CC", "X1SS"] = "X1BY"
    customerInfo: CustomerInfo
    programInfo: ProgramInfo
    locationInfo: LocationInfo = Field(default_factory=LocationInfo)
    assetInfo: AssetInfo


class EnrollmentRequest(Wire):
    """DERMS's message: the enrollment requests aggregators sent it, many in one."""

    batchId: str = Field(min_length=1, max_length=60)
    drmsInstanceId: str | None = Field(default=None, max_length=30)
    enrollments: list[EnrollmentRecord] = Field(min_length=1, max_length=1000)

    @model_validator(mode="after")
    def one_record_per_message_id(self) -> EnrollmentRequest:
        seen: set[str] = set()
        for record in self.enrollments:
            if record.params.messageId in seen:
                raise ValueError(f"enrollments: messageId {record.params.messageId!r} appears more than once")
            seen.add(record.params.messageId)
        return self


# ---- mapping a record ------------------------------------------------------------------------------------


def to_dacs(record: EnrollmentRecord, lookups: Lookups) -> dict[str, Any]:
    """One record as the program system's enroll call: every documented field, `locationId` included; each
    asset's MAKE!MODEL and asset type through their lookups."""
    program, location, assets = record.programInfo, record.locationInfo, record.assetInfo
    return {
        "transactionId": record.params.messageId,
        "enrollmentSource": record.enrollmentSource,
        "customerInfo": record.customerInfo.model_dump(),
        "programInfo": {"cisServiceAgreementId": program.cisServiceAgreementId, "programCode": program.programCode,
                        "startDate": program.startDateTimeISO.date().isoformat() if program.startDateTimeISO else None},
        "locationInfo": location.model_dump(),
        "assetInfo": {"installationMethod": assets.installationMethod, "assetOwnership": assets.assetOwnership,
                      "assetList": [_asset_to_dacs(asset, lookups) for asset in assets.assetList]},
    }


def _asset_to_dacs(asset: Asset, lookups: Lookups) -> dict[str, Any]:
    """Both lookups apply to every asset (LookupMissing for a value they lack); a value DERMS did not send stays
    unsent, for the program system to judge (a bring-your-own, customer-owned device needs both)."""
    return {
        "sequence": asset.sequence, "assetId": asset.assetId,
        "specification": lookups.value(ASSET_SPEC, DERMS, asset.specification, DACS) if asset.specification else None,
        "assetType": lookups.value(ASSET_TYPE, DERMS, asset.assetType, DACS) if asset.assetType else None,
        "badgeNo": asset.badgeNo, "serialNo": asset.serialNo, "nicId": asset.nicId,
        "headEndSystem": asset.headEndSystem,
    }


def check_route(request: EnrollmentRequest, lookups: Lookups) -> None:
    """The DERMS instance must route to this hub's program system (the Routing lookup)."""
    routed_here(request.drmsInstanceId, lookups)


# ---- the intake: one parent, one part per record ---------------------------------------------------------


@dataclass(frozen=True)
class Intake:
    flow: str = FLOW
    kind: str = REQUEST_KIND
    source: str = "derms"
    target: str = "derms"
    inbound_path: str = "/hub/from-derms/enroll-to-dacs"
    model: type[EnrollmentRequest] = EnrollmentRequest
    summary: str = "Aggregators' enrollment requests, many in one message, for the program system"
    on_recorded: None = None

    @property
    def reply(self) -> Reply:
        return Reply(lambda settings: not settings.derms_enroll_callback, answer_request)

    @staticmethod
    def business_key(request: EnrollmentRequest) -> str:
        return request.batchId

    def new_message(self, request: EnrollmentRequest, raw: str, lookups: Lookups,
                    settings: Settings) -> messagelog.NewMessage:
        """The parent, delivered as a results callback where DERMS takes one, else complete once composed."""
        keys = {"batchId": request.batchId}
        if request.drmsInstanceId:
            keys["drmsInstanceId"] = request.drmsInstanceId
        return messagelog.NewMessage(
            flow=FLOW, kind=REQUEST_KIND, source="derms", target="derms", business_key=request.batchId,
            idempotency_key=f"{FLOW}:{REQUEST_KIND}:{request.batchId}", inbound_payload=raw,
            outbound_path=RESULTS_PATH if settings.derms_enroll_callback else "", outbound_payload=None, keys=keys,
            status=messagelog.WAITING,
            parts=tuple(self._part(request, record, lookups) for record in request.enrollments))

    def _part(self, request: EnrollmentRequest, record: EnrollmentRecord, lookups: Lookups) -> messagelog.NewMessage:
        message_id = record.params.messageId
        part = messagelog.NewMessage(
            flow=FLOW, kind=RECORD_KIND, source="derms", target="dacs", business_key=message_id,
            idempotency_key=f"{FLOW}:{RECORD_KIND}:{request.batchId}:{message_id}",
            inbound_payload=record.model_dump_json(), outbound_path=ENROLL_PATH, outbound_payload=None,
            keys=record_keys(request, record))
        try:
            check_route(request, lookups)
            return replace(part, outbound_payload=to_dacs(record, lookups))
        except LookupMissing as error:
            return unmappable(part, error)


def record_keys(request: EnrollmentRequest, record: EnrollmentRecord) -> dict[str, str]:
    keys = {"messageId": record.params.messageId, "batchId": request.batchId}
    if record.customerInfo.cisPersonId:
        keys["cisPersonId"] = record.customerInfo.cisPersonId
    if record.customerInfo.cisAccountId:
        keys["cisAccountId"] = record.customerInfo.cisAccountId
    for asset in record.assetInfo.assetList:
        if asset.nicId:
            keys[f"nicId.{asset.sequence}"] = asset.nicId
    return keys


def map_record_again(row: Any, lookups: Lookups, _settings: Settings) -> dict[str, Any]:
    return to_dacs(EnrollmentRecord.model_validate_json(row.inbound_payload), lookups)


# ---- reading the program system's answers ----------------------------------------------------------------


def record_status(outcome: Outcome) -> str:
    """A business refusal is DECLINED (the loop goes on); 10589 "already exists" is success."""
    body = outcome.body if isinstance(outcome.body, dict) else {}
    if outcome.delivered:
        return messagelog.DECLINED if body.get("status") in BUSINESS_STATUSES else messagelog.DELIVERED
    if _message_number(body) == ALREADY_EXISTS:
        return messagelog.DELIVERED
    if outcome.verdict == "permanent" and _message_number(body) is not None:
        return messagelog.DECLINED
    return status_after(outcome)


def _message_number(body: dict[str, Any]) -> int | None:
    number = body.get("messageNumber", (body.get("exception") or {}).get("messageNumber"))
    return int(number) if number is not None else None


def compose_results(parent: Any, parts: list[Any]) -> dict[str, Any]:
    """The per-record results, for the callback: SUCCESS when every record enrolled, ERROR when some were
    refused, FAILURE when the run stopped or a record failed for a technical reason."""
    responses = [record_response(part) for part in parts]
    return {"batchId": parent.business_key, "ackType": ack_type(responses), "whenISO": iso_now(),
            "responses": {"response": responses}}


def ack_type(responses: list[dict[str, Any]]) -> str:
    """FAILURE when a record was not applied, else ERROR when one was refused, else SUCCESS."""
    codes = {response["responseCode"] for response in responses}
    return "FAILURE" if "FAILURE" in codes else "ERROR" if "ERROR" in codes else "SUCCESS"


def answer_request(db: Engine, parent_id: int, out_of_time: bool) -> Answer | None:
    """DERMS's request answered as the vendor answers it: a MsgAck with `id`, `value`, `responseCode` and
    `responseTimeISO` per record, once every record is settled (200), or when time is up with each record as it
    stands (202: the hub goes on with those not settled)."""
    parts = messagelog.parts_of(db, parent_id)
    settled = all(part.status in messagelog.SETTLED for part in parts)
    if not settled and not out_of_time:
        return None
    responses = [{name: response[name] for name in ("id", "value", "responseCode", "responseTimeISO")}
                 for response in map(record_response, parts)]
    return Answer(200 if settled else 202, {"ackType": ack_type(responses), "whenISO": iso_now(),
                                            "responses": {"response": responses}})


def record_response(part: Any) -> dict[str, Any]:
    """One record as it stands: applied (SUCCESS, the enrollment id), refused (ERROR, the refusal), or not
    applied (FAILURE, why: failed, not sent because the run stopped, still being retried, not sent yet)."""
    body = json.loads(part.response) if part.response else {}
    body = body if isinstance(body, dict) else {}
    when = iso_now()
    base = {"id": part.business_key, "responseTimeISO": when}
    if part.status == messagelog.DELIVERED:
        number = _message_number(body)
        return {**base, "value": body.get("enrollmentId"), "responseCode": "SUCCESS",
                "messageCategory": body.get("messageCategory"), "messageNumber": number}
    if part.status == messagelog.DECLINED:
        exception = body.get("exception") or body
        return {**base, "value": exception.get("comments") or exception.get("detail") or "refused",
                "responseCode": "ERROR", "messageCategory": exception.get("messageCategory"),
                "messageNumber": _message_number(body)}
    if part.status == messagelog.DEAD and not part.attempts:
        return {**base, "value": part.last_error, "responseCode": "ERROR", "messageCategory": HUB_CATEGORY,
                "messageNumber": CANNOT_MAP}
    return {**base, "value": not_applied(part), "responseCode": "FAILURE", "messageCategory": None,
            "messageNumber": None}


def not_applied(part: Any) -> str:
    if part.status == messagelog.HELD:
        return "not sent: the run stopped at a record that failed"
    if part.status == messagelog.RETRYING:
        return f"not applied yet, being retried after a technical fault: {part.last_error}"
    if part.status == messagelog.RECEIVED:
        return "not sent yet"
    return f"failed: {part.last_error}"


INTAKE = Intake()
LEGS = [
    Leg(RECORD_KIND, batchable=False, status_after=record_status, map_again=map_record_again, ordered_parts=True),
    Leg(REQUEST_KIND, batchable=False, compose=compose_results, stop_when_a_part_dies=True),
]
