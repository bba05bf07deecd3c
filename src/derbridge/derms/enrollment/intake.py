"""F4, DERMS's side: aggregators ask DERMS to enroll their customers' devices in a program.

An aggregator posts a batch of enrollment records (the shape of the F4 `enrollments[]` items); DERMS checks it
whole, stores the batch and its records, and forwards it through its outbox as ONE enrollment request to the
hub's `/hub/from-derms/enroll-to-dacs`. The program system takes one record per call, so the hub posts the
per-record results back once every record is settled (`/enroll-to-dacs/results`); a later callback for the
same batch (the hub resubmitted it) replaces the earlier results. The aggregator polls its batch.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from derbridge.clock import as_utc, iso_utc, utcnow
from derbridge.derms.schema import enrollment_batches, enrollment_records, outbound_messages
from derbridge.errors import InvalidInput, NotFound
from derbridge.store.db import reading
from derbridge.store.outbox import new_outbox_values
from derbridge.web.wire import UtcDateTime

FORWARD_PATH = "/hub/from-derms/enroll-to-dacs"
MAX_RECORDS = 1000
SUBMITTED, COMPLETE, PARTIAL, FAILED = "SUBMITTED", "COMPLETE", "PARTIAL", "FAILED"
SUCCESS = "SUCCESS"
BATCH_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,49}$"


def text(limit: int) -> Any:
    return Field(default=None, max_length=limit)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Params(Strict):
    messageId: str = Field(min_length=1, max_length=120)
    """Becomes the program system's transactionId: an enrollment asked twice is one enrollment."""


class CustomerInfo(Strict):
    cisPersonId: str | None = text(30)
    cisAccountId: str | None = text(30)
    name: str | None = text(254)
    homePhone: str | None = text(24)
    businessPhone: str | None = text(24)
    email: str | None = text(254)

    @model_validator(mode="after")
    def names_the_customer(self) -> CustomerInfo:
        if not (self.cisPersonId or self.cisAccountId or self.name):
            raise ValueError("the customer needs a cisPersonId, a cisAccountId or a name")
        return self


class ProgramInfo(Strict):
    cisServiceAgreementId: str | None = text(30)
    programCode: str = Field(min_length=1, max_length=30)
    startDateTimeISO: UtcDateTime
    endDateTimeISO: UtcDateTime | None = None

    @model_validator(mode="after")
    def ends_after_it_starts(self) -> ProgramInfo:
        if self.endDateTimeISO is not None and self.endDateTimeISO <= self.startDateTimeISO:
            raise ValueError("endDateTimeISO must be after startDateTimeISO")
        return self


class LocationInfo(Strict):
    locationId: str | None = text(30)
    division: str | None = text(30)
    cisPremiseId: str | None = text(30)
    cisServicePointId: str | None = text(30)
    timeZone: str | None = text(40)
    address1: str | None = text(254)
    address2: str | None = text(254)
    address3: str | None = text(254)
    address4: str | None = text(254)
    city: str | None = text(90)
    county: str | None = text(90)
    state: str | None = text(6)
    postal: str | None = text(12)
    country: str | None = text(3)


class Asset(Strict):
    sequence: int | None = Field(default=None, ge=1, le=999)
    assetId: str | None = text(30)
    specification: str = Field(min_length=3, max_length=60, pattern=r"^[^!]+![^!]+$")
    """DERMS's `MAKE!MODEL`; the hub maps it to the program system's specification."""
    assetType: str | None = text(30)
    badgeNo: str | None = text(30)
    serialNo: str | None = text(60)
    nicId: str = Field(min_length=1, max_length=100)
    headEndSystem: str = Field(min_length=1, max_length=50)


class AssetInfo(Strict):
    installationMethod: Literal["X1RE", "X1SD", "X1SI", "X1UI"]
    assetOwnership: Literal["W1CO", "W1OW"]
    assetList: list[Asset] = Field(min_length=1, max_length=20)


class EnrollmentRecord(Strict):
    """One enrollment, as the F4 `enrollments[]` item carries it."""

    params: Params
    enrollmentSource: Literal["X1BY", "X1CC", "X1SS"] = "X1BY"
    customerInfo: CustomerInfo
    programInfo: ProgramInfo
    locationInfo: LocationInfo = Field(default_factory=LocationInfo)
    assetInfo: AssetInfo


class EnrollmentBatch(Strict):
    """What an aggregator posts: up to 1,000 records, under its own batch id or one DERMS gives it."""

    batchId: str | None = Field(default=None, pattern=BATCH_ID)
    records: list[EnrollmentRecord] = Field(min_length=1, max_length=MAX_RECORDS)


def batch_errors(batch: EnrollmentBatch, head_ends: Iterable[str]) -> list[dict[str, Any]]:
    """What the field checks cannot see: repeats inside the batch, and devices on head ends DERMS cannot reach."""
    known = set(head_ends)
    errors: list[dict[str, Any]] = []
    first_message: dict[str, int] = {}
    first_device: dict[tuple[str, str], str] = {}
    for index, record in enumerate(batch.records):
        message_id = record.params.messageId
        if message_id in first_message:
            errors.append(_error(f"records.{index}.params.messageId",
                                 f"repeats records.{first_message[message_id]}.params.messageId", "duplicate"))
        first_message.setdefault(message_id, index)
        for position, asset in enumerate(record.assetInfo.assetList):
            field = f"records.{index}.assetInfo.assetList.{position}"
            if asset.headEndSystem not in known:
                errors.append(_error(f"{field}.headEndSystem", f"DERMS has no head-end system {asset.headEndSystem!r}"
                                     f" (it knows {', '.join(sorted(known)) or 'none'})", "unknown_head_end"))
            device = (asset.headEndSystem, asset.nicId)
            if device in first_device:
                errors.append(_error(f"{field}.nicId", f"the same device as {first_device[device]}", "duplicate"))
            first_device.setdefault(device, f"{field}.nicId")
    return errors


def _error(field: str, message: str, kind: str) -> dict[str, Any]:
    return {"field": field, "message": message, "type": kind}


def new_batch_id() -> str:
    return f"B{utcnow().strftime('%Y%m%d%H%M%S')}-{secrets.token_hex(4)}"


def submit(engine: Engine, batch: EnrollmentBatch, instance_id: str) -> tuple[dict[str, Any], bool]:
    """Store the batch and its records and queue the enrollment request, atomically.

    Returns the batch and whether it is new; a batch id already held returns the batch held.
    """
    batch_id = batch.batchId or new_batch_id()
    held = find(engine, batch_id)
    if held is not None:
        return held, False
    now = utcnow()
    records = [record.model_dump(mode="json", exclude_none=True) for record in batch.records]
    try:
        with engine.begin() as connection:
            connection.execute(sa.insert(enrollment_batches).values(
                batch_id=batch_id, status=SUBMITTED, records=len(records), enrolled=0, refused=0,
                submitted_at=now))
            connection.execute(sa.insert(enrollment_records), [
                {"batch_id": batch_id, "message_id": record.params.messageId, "sequence": index + 1,
                 "head_end_system": record.assetInfo.assetList[0].headEndSystem,
                 "nic_ids": ",".join(asset.nicId for asset in record.assetInfo.assetList),
                 "program_code": record.programInfo.programCode, "record": json.dumps(dumped)}
                for index, (record, dumped) in enumerate(zip(batch.records, records, strict=True))])
            connection.execute(sa.insert(outbound_messages).values(
                message_key=f"enroll:{batch_id}", kind="enroll-request",
                **new_outbox_values(FORWARD_PATH, {"batchId": batch_id, "drmsInstanceId": instance_id,
                                                   "enrollments": records})))
    except IntegrityError:  # the same batch id, submitted at the same moment by another request
        held = find(engine, batch_id)
        if held is None:
            raise
        return held, False
    return find(engine, batch_id) or {}, True


# ---- the per-record results the hub posts back ----

class RecordResult(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    id: str = Field(min_length=1, max_length=120)
    """The record's params.messageId."""
    value: str | None = Field(default=None, max_length=2000)
    """The enrollment id on success, else the refusal's text."""
    responseCode: Literal["SUCCESS", "ERROR", "FAILURE"]
    responseTimeISO: UtcDateTime | None = None
    messageCategory: int | None = None
    messageNumber: int | None = None


class Responses(BaseModel):
    model_config = ConfigDict(extra="ignore")
    response: list[RecordResult] = Field(default_factory=list, max_length=MAX_RECORDS)


class EnrollmentResults(BaseModel):
    """What the hub posts to /enroll-to-dacs/results once every record of a batch is settled."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    batchId: str = Field(min_length=1, max_length=60)
    ackType: Literal["SUCCESS", "ERROR", "FAILURE"]
    whenISO: UtcDateTime
    responses: Responses = Field(default_factory=Responses)


def apply_results(engine: Engine, results: EnrollmentResults) -> bool:
    """Replace the batch's results with these; False if results at least as new are already held.

    An unknown batch is 404; a result for a record the batch does not hold is 422, and nothing is applied.
    """
    b, r = enrollment_batches, enrollment_records
    now = utcnow()
    with engine.begin() as connection:
        batch = connection.execute(sa.select(b).where(b.c.batch_id == results.batchId).with_for_update()).first()
        if batch is None:
            raise NotFound("enrollment batch", results.batchId)
        held_when = as_utc(batch.results_when)
        if held_when is not None and results.whenISO < held_when:
            return False
        message_ids = set(connection.execute(sa.select(r.c.message_id).where(r.c.batch_id == results.batchId))
                          .scalars())
        strangers = {f"responses.response.{index}.id": f"batch {results.batchId} has no record {item.id!r}"
                     for index, item in enumerate(results.responses.response) if item.id not in message_ids}
        if strangers:
            raise InvalidInput(strangers)
        connection.execute(sa.update(r).where(r.c.batch_id == results.batchId).values(
            response_code=None, enrollment_id=None, message_category=None, message_number=None, message_text=None,
            result_at=None))
        if results.responses.response:
            connection.execute(
                sa.update(r).where(r.c.batch_id == results.batchId, r.c.message_id == sa.bindparam("key"))
                .values(response_code=sa.bindparam("code"), enrollment_id=sa.bindparam("enrollment"),
                        message_category=sa.bindparam("category"), message_number=sa.bindparam("number"),
                        message_text=sa.bindparam("text"), result_at=sa.bindparam("at")),
                [{"key": item.id, "code": item.responseCode,
                  "enrollment": item.value[:30] if item.responseCode == SUCCESS and item.value else None,
                  "category": item.messageCategory, "number": item.messageNumber,
                  "text": None if item.responseCode == SUCCESS else item.value, "at": item.responseTimeISO or now}
                 for item in results.responses.response])
        codes: list[str] = [item.responseCode for item in {i.id: i for i in results.responses.response}.values()]
        enrolled = codes.count(SUCCESS)
        status = COMPLETE if enrolled == batch.records else PARTIAL if enrolled else FAILED
        connection.execute(sa.update(b).where(b.c.batch_id == results.batchId).values(
            status=status, enrolled=enrolled, refused=len(codes) - enrolled, ack_type=results.ackType,
            results_when=results.whenISO, results_at=now))
    return True


# ---- what an aggregator or an operator asks ----

def find(engine: Engine, batch_id: str, with_records: bool = False) -> dict[str, Any] | None:
    b, r = enrollment_batches, enrollment_records
    with reading(engine) as connection:
        batch = connection.execute(sa.select(b).where(b.c.batch_id == batch_id)).first()
        if batch is None:
            return None
        found = describe_batch(batch)
        if with_records:
            rows = connection.execute(sa.select(r).where(r.c.batch_id == batch_id).order_by(r.c.sequence)).all()
            found["results"] = [describe_record(row) for row in rows]
    return found


def list_batches(engine: Engine, status: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    b = enrollment_batches
    query = sa.select(b).order_by(b.c.submitted_at.desc()).limit(limit)
    if status is not None:
        query = query.where(b.c.status == status)
    with reading(engine) as connection:
        return [describe_batch(row) for row in connection.execute(query).all()]


def describe_batch(row: Any) -> dict[str, Any]:
    return {"batchId": row.batch_id, "status": row.status, "records": row.records, "enrolled": row.enrolled,
            "refused": row.refused, "awaiting": row.records - row.enrolled - row.refused, "ackType": row.ack_type,
            "submittedAt": iso_utc(row.submitted_at), "resultsAt": iso_utc(row.results_at)}


def describe_record(row: Any) -> dict[str, Any]:
    return {"messageId": row.message_id, "sequence": row.sequence, "headEndSystem": row.head_end_system,
            "nicIds": row.nic_ids.split(","), "programCode": row.program_code, "responseCode": row.response_code,
            "enrollmentId": row.enrollment_id, "messageCategory": row.message_category,
            "messageNumber": row.message_number, "messageText": row.message_text}
