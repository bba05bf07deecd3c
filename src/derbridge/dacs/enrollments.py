"""Enrollments: a customer joins a program with devices.

The life of an enrollment:

    PENDING ──validation──► DEVICE-SETUP ──every device's status check SUCCESS──► ACTIVE ──► UNENROLLED
       │                         │
       └──► VAL-ERROR            └──► SETUP-ERROR (a check failed or got no result in time)

Both error states carry a message category, number and text, and an agent can retry them: a VAL-ERROR is
validated again (after the data was fixed), a SETUP-ERROR gets new status checks. Each validation failure
has its own message number (MESSAGES). A second request with the same transactionId is not a new
enrollment: it is answered with message 10589 ("already exists") and the existing enrollment.

ACTIVE creates the program subscription and a controllable device per requested asset at the service
point, and writes the enrollment sync (F5) in the same transaction; so do an unenrollment, a device
replacement and an added device. Validation is a pure function of the request and the facts read for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from derbridge.dacs import enrollment_sync, statuschecks
from derbridge.dacs.cis import CustomerContext, CustomerIds, customer_contexts
from derbridge.dacs.ids import new_id
from derbridge.dacs.programs import Program, program_by_code, program_type_by_code
from derbridge.dacs.schema import (
    active_device_keys,
    controllable_devices,
    enrollment_assets,
    enrollment_history,
    enrollments,
    program_subscriptions,
    programs,
    status_checks,
)
from derbridge.store.db import as_utc, iso_utc, reading

PENDING, VAL_ERROR, DEVICE_SETUP, SETUP_ERROR = "PENDING", "VAL-ERROR", "DEVICE-SETUP", "SETUP-ERROR"
ACTIVE, UNENROLLED = "ACTIVE", "UNENROLLED"
RETRYABLE = (VAL_ERROR, SETUP_ERROR)
UNENROLL_REASONS = ("LSSL", "CUSTOMEROPTOUT", "INACTIVESERVICE", "INELIGIBLERATE")
ENROLLMENT_DIGITS, SUBSCRIPTION_DIGITS, DEVICE_DIGITS = 12, 14, 12

CATEGORY = 90000
"""The message category of the program system's own enrollment messages."""
ALREADY_EXISTS = 10589
"""The vendor's message number for an enrollment whose transactionId already exists."""
MESSAGES: dict[int, str] = {
    90001: "customer not identified: cisPersonId is required",
    90002: "customer {cisPersonId} is not known",
    90003: "account {cisAccountId} is not known",
    90004: "account {cisAccountId} does not belong to customer {cisPersonId}",
    90005: "service point {cisServicePointId} is not known",
    90006: "service point {cisServicePointId} is not on account {cisAccountId}",
    90007: "premise {cisPremiseId} is not the premise of service point {cisServicePointId}",
    90008: "service agreement {cisServiceAgreementId} is not known",
    90009: "service agreement {cisServiceAgreementId} does not tie account {cisAccountId} to service point "
           "{cisServicePointId}",
    90010: "service agreement {cisServiceAgreementId} is not in effect on {startDate}",
    90011: "program {programCode} is not known",
    90012: "program {programCode} is {programStatus}: only ACTIVE programs enroll",
    90013: "program {programCode} does not run on {startDate}",
    90014: "rate {rateCode} is not eligible for program {programCode}",
    90015: "a bring-your-own, customer-owned enrollment must give each device's {missing}",
    90016: "device specification {specification} is not eligible for program {programCode}",
    90017: "device {headEndSystem}/{nicId} is already enrolled (device {deviceId})",
    90018: "device {headEndSystem}/{nicId} is listed twice",
    90019: "program {programCode} requires a device and none was given",
    90020: "device {headEndSystem}/{nicId} failed its status check: {message}",
    90021: "no status for device {headEndSystem}/{nicId} within {timeout:g} s",
    10589: "an enrollment with transactionId {transactionId} already exists",
}


# ---- the request (the program system's enroll API) ------------------------------------------------------


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CustomerInfo(Strict):
    cisPersonId: str | None = Field(default=None, max_length=30)
    cisAccountId: str | None = Field(default=None, max_length=30)
    name: str | None = Field(default=None, max_length=254)
    homePhone: str | None = Field(default=None, max_length=24)
    businessPhone: str | None = Field(default=None, max_length=24)
    email: str | None = Field(default=None, max_length=254)


class ProgramInfo(Strict):
    programCode: str = Field(min_length=1, max_length=30)
    cisServiceAgreementId: str | None = Field(default=None, max_length=30)
    startDate: date | None = None


class LocationInfo(Strict):
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


class Asset(Strict):
    sequence: int = Field(ge=1, le=999)
    assetId: str | None = Field(default=None, max_length=30)
    specification: str | None = Field(default=None, max_length=60)
    assetType: str | None = Field(default=None, max_length=30)
    badgeNo: str | None = Field(default=None, max_length=30)
    serialNo: str | None = Field(default=None, max_length=60)
    nicId: str | None = Field(default=None, max_length=100)
    headEndSystem: str | None = Field(default=None, max_length=50)


class AssetInfo(Strict):
    installationMethod: Literal["X1RE", "X1SD", "X1SI", "X1UI"]
    assetOwnership: Literal["W1CO", "W1OW"]
    assetList: list[Asset] = Field(default_factory=list, max_length=20)


class EnrollRequest(Strict):
    """A request to enroll a customer in a program with devices."""

    transactionId: str | None = Field(default=None, min_length=1, max_length=120)
    enrollmentSource: Literal["X1BY", "X1CC", "X1SS"] = "X1BY"
    customerInfo: CustomerInfo
    programInfo: ProgramInfo
    locationInfo: LocationInfo = Field(default_factory=LocationInfo)
    assetInfo: AssetInfo


# ---- validation: pure, over the facts read for the request ----------------------------------------------


@dataclass(frozen=True)
class Refusal:
    number: int
    text: str

    @property
    def category(self) -> int:
        return CATEGORY if self.number != ALREADY_EXISTS else 0


def refusal(number: int, **values: Any) -> Refusal:
    return Refusal(number, MESSAGES[number].format(**values)[:254])


@dataclass(frozen=True)
class Facts:
    """What the database says about the ids a request names."""

    customer: CustomerContext
    program: Program | None
    device_required: bool = True
    enrolled_devices: dict[tuple[str, str], str] = field(default_factory=dict)  # (head end, nic) → device id


def validate(request: EnrollRequest, facts: Facts, start: date) -> Refusal | None:
    """The first rule the request breaks, in the order an agent would check them; None when it is valid."""
    customer, program_info, location = request.customerInfo, request.programInfo, request.locationInfo
    ids = {"cisPersonId": customer.cisPersonId, "cisAccountId": customer.cisAccountId,
           "cisServicePointId": location.cisServicePointId, "cisPremiseId": location.cisPremiseId,
           "cisServiceAgreementId": program_info.cisServiceAgreementId, "programCode": program_info.programCode,
           "startDate": start.isoformat()}
    return (_customer_refusal(facts.customer, ids) or _service_refusal(facts.customer, ids)
            or _program_refusal(facts, ids, start) or _device_refusal(request, facts))


def _customer_refusal(customer: CustomerContext, ids: dict[str, Any]) -> Refusal | None:
    if not ids["cisPersonId"]:
        return refusal(90001)
    if not customer.person_known:
        return refusal(90002, **ids)
    if not customer.account_known:
        return refusal(90003, **ids)
    if not customer.account_is_persons:
        return refusal(90004, **ids)
    return None


def _service_refusal(customer: CustomerContext, ids: dict[str, Any]) -> Refusal | None:
    if not customer.service_point_known:
        return refusal(90005, **ids)
    if not customer.service_point_on_account:
        return refusal(90006, **ids)
    if ids["cisPremiseId"] and customer.cis_premise_id != ids["cisPremiseId"]:
        return refusal(90007, **ids)
    if not customer.agreement_known:
        return refusal(90008, **ids)
    if not customer.agreement_matches:
        return refusal(90009, **ids)
    if not customer.agreement_active:
        return refusal(90010, **ids)
    return None


def _program_refusal(facts: Facts, ids: dict[str, Any], start: date) -> Refusal | None:
    program = facts.program
    if program is None:
        return refusal(90011, **ids)
    if program.status != ACTIVE:
        return refusal(90012, programStatus=program.status, **ids)
    if start < program.start_date or (program.end_date is not None and start > program.end_date):
        return refusal(90013, **ids)
    rate = facts.customer.rate_code
    if program.eligible_rates and rate not in program.eligible_rates:
        return refusal(90014, rateCode=rate, **ids)
    return None


def _device_refusal(request: EnrollRequest, facts: Facts) -> Refusal | None:
    program = facts.program
    assert program is not None
    assets = request.assetInfo.assetList
    if facts.device_required and not assets:
        return refusal(90019, programCode=program.program_code)
    byo_customer_owned = (request.assetInfo.installationMethod, request.assetInfo.assetOwnership) == ("X1SI", "W1CO")
    required = {"specification": "specification", "assetType": "asset type", "nicId": "NIC id",
                "headEndSystem": "head-end system"}
    seen: set[tuple[str, str]] = set()
    for asset in assets:
        missing = [label for name, label in required.items() if not getattr(asset, name)]
        if byo_customer_owned and missing:
            return refusal(90015, missing=", ".join(missing))
        eligible = program.eligible_specifications
        if asset.specification and eligible and asset.specification not in eligible:
            return refusal(90016, specification=asset.specification, programCode=program.program_code)
        key = (asset.headEndSystem or "", asset.nicId or "")
        if key in facts.enrolled_devices:
            return refusal(90017, headEndSystem=key[0], nicId=key[1], deviceId=facts.enrolled_devices[key])
        if asset.nicId and key in seen:
            return refusal(90018, headEndSystem=key[0], nicId=key[1])
        seen.add(key)
    return None


# ---- reading the facts ------------------------------------------------------------------------------------


def read_facts(connection: Connection, request: EnrollRequest, start: date) -> Facts:
    [facts] = read_facts_many(connection, [(request, start)])
    return facts


def read_facts_many(connection: Connection, requests: list[tuple[EnrollRequest, date]]) -> list[Facts]:
    """The facts of many requests (each with its start day) in a few reads, whatever their number."""
    if not requests:
        return []
    programs_by_code = {code: program_by_code(connection, code)
                        for code in {request.programInfo.programCode for request, _start in requests}}
    type_codes = {program.program_type_code for program in programs_by_code.values() if program is not None}
    device_required = {code: found is None or found.device_required
                       for code in type_codes for found in [program_type_by_code(connection, code)]}
    contexts = customer_contexts(connection, [CustomerIds(
        request.customerInfo.cisPersonId or "", request.customerInfo.cisAccountId or "",
        request.locationInfo.cisServicePointId or "", request.programInfo.cisServiceAgreementId or "", start)
        for request, start in requests])
    enrolled = _enrolled(connection, [(asset.headEndSystem, asset.nicId) for request, _start in requests
                                      for asset in request.assetInfo.assetList if asset.headEndSystem and asset.nicId])
    facts = []
    for (request, _start), customer in zip(requests, contexts, strict=True):
        program = programs_by_code[request.programInfo.programCode]
        facts.append(Facts(customer=customer, program=program,
                           device_required=program is None or device_required[program.program_type_code],
                           enrolled_devices=enrolled))
    return facts


def _enrolled(connection: Connection, keys: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    if not keys:
        return {}
    rows = connection.execute(sa.select(active_device_keys).where(
        sa.tuple_(active_device_keys.c.head_end_system, active_device_keys.c.nic_id).in_(keys))).all()
    return {(row.head_end_system, row.nic_id): row.device_id for row in rows}


# ---- the enroll call --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Enrolled:
    """The answer to an enroll call."""

    enrollment_id: str
    status: str
    refusal: Refusal | None = None
    duplicate: bool = False

    def as_answer(self, request_transaction_id: str | None) -> dict[str, Any]:
        answer: dict[str, Any] = {"enrollmentId": self.enrollment_id, "transactionId": request_transaction_id,
                                  "status": self.status}
        if self.refusal is not None:
            answer["exception"] = {"messageCategory": self.refusal.category, "messageNumber": self.refusal.number,
                                   "comments": self.refusal.text}
        return answer


Submission = tuple[EnrollRequest, str]
"""An enroll request and its text as received (kept on the enrollment)."""


def enroll(engine: Engine, request: EnrollRequest, raw: str, now: datetime, check_timeout_s: float) -> Enrolled:
    """Create the enrollment, validate it, and start device setup or record the refusal."""
    [done] = enroll_many(engine, [(request, raw)], now, check_timeout_s)
    return done


def enroll_many(engine: Engine, submissions: list[Submission], now: datetime,
                check_timeout_s: float) -> list[Enrolled]:
    """Enroll many requests together (the enroll calls that arrived at the same time), one answer each.

    The facts are read before the write transaction, which then only writes: a system takes enroll calls
    many at a time and writes one transaction at a time. What the facts cannot promise is kept by the
    database: a transactionId is unique, and a device is taken once (checked again at activation). When the
    database refuses the group (another writer took one of its transactionIds meanwhile, or an id was drawn
    twice), each request is enrolled on its own, so the others do not pay for it.
    """
    try:
        return _enroll_group(engine, submissions, now, check_timeout_s)
    except IntegrityError:
        if len(submissions) == 1:
            return _enroll_group(engine, submissions, now, check_timeout_s)  # now found as the duplicate it is
        return [done for submission in submissions
                for done in enroll_many(engine, [submission], now, check_timeout_s)]


def _enroll_group(engine: Engine, submissions: list[Submission], now: datetime, timeout_s: float) -> list[Enrolled]:
    starts = [request.programInfo.startDate or now.date() for request, _raw in submissions]
    with reading(engine) as connection:
        existing = _by_transactions(connection, [request.transactionId for request, _raw in submissions])
        first_of: dict[str, int] = {}
        fresh: list[int] = []
        for index, (request, _raw) in enumerate(submissions):
            transaction_id = request.transactionId
            if transaction_id is not None and (transaction_id in existing or transaction_id in first_of):
                continue
            if transaction_id is not None:
                first_of[transaction_id] = index
            fresh.append(index)
        facts = read_facts_many(connection, [(submissions[index][0], starts[index]) for index in fresh])
    with engine.begin() as connection:
        created = dict(zip(fresh, _create_many(connection, [submissions[index] for index in fresh], facts,
                                               [starts[index] for index in fresh], now, timeout_s), strict=True))
    answers = []
    for index, (request, _raw) in enumerate(submissions):
        transaction_id = request.transactionId
        if index in created:
            answers.append(created[index])
        elif transaction_id in existing:
            answers.append(_duplicate(existing[transaction_id], transaction_id))
        else:  # the same transactionId twice in one group: the later one is the duplicate of the first
            assert transaction_id is not None
            answers.append(_duplicate(created[first_of[transaction_id]], transaction_id))
    return answers


def _by_transactions(connection: Connection, transaction_ids: list[str | None]) -> dict[str, Any]:
    wanted = {transaction_id for transaction_id in transaction_ids if transaction_id is not None}
    if not wanted:
        return {}
    return {row.transaction_id: row for row in connection.execute(
        sa.select(enrollments.c.enrollment_id, enrollments.c.status, enrollments.c.transaction_id)
        .where(enrollments.c.transaction_id.in_(wanted)))}


def _duplicate(existing: Any, transaction_id: str | None) -> Enrolled:
    return Enrolled(existing.enrollment_id, existing.status, refusal(ALREADY_EXISTS, transactionId=transaction_id),
                    duplicate=True)


def _create_many(connection: Connection, submissions: list[Submission], facts: list[Facts], starts: list[date],
                 now: datetime, timeout_s: float) -> list[Enrolled]:
    """Insert the enrollments as validation leaves them, each with its PENDING history before; start the
    device setups, and activate at once those that have no device to set up."""
    answers: dict[str, Enrolled] = {}
    rows: list[dict[str, Any]] = []
    assets: list[dict[str, Any]] = []
    history: list[tuple[str, str, str | None]] = []
    checks: list[statuschecks.Check] = []
    without_devices: list[str] = []
    for (request, raw), fact, start in zip(submissions, facts, starts, strict=True):
        enrollment_id = new_id(ENROLLMENT_DIGITS)
        refused = validate(request, fact, start)
        status = VAL_ERROR if refused is not None else DEVICE_SETUP
        rows.append(_enrollment_row(enrollment_id, request, raw, fact, start, refused, now))
        assets += [_asset_row(enrollment_id, asset) for asset in request.assetInfo.assetList]
        history += [(enrollment_id, PENDING, "received"),
                    (enrollment_id, status, refused.text if refused else "validated")]
        if refused is not None:
            answers[enrollment_id] = Enrolled(enrollment_id, VAL_ERROR, refused)
        elif not request.assetInfo.assetList:
            without_devices.append(enrollment_id)
        else:
            checks += _setup_checks(enrollment_id, request, 1)
            answers[enrollment_id] = Enrolled(enrollment_id, DEVICE_SETUP)
    if not rows:
        return []
    connection.execute(sa.insert(enrollments), rows)
    if assets:
        connection.execute(sa.insert(enrollment_assets), assets)
    _histories(connection, history, now)
    statuschecks.start_checks(connection, checks, now, timeout_s)
    if without_devices:
        ready = list(connection.execute(sa.select(enrollments).where(enrollments.c.enrollment_id.in_(without_devices))))
        answers.update((done.enrollment_id, done) for done in activate_all(connection, ready, now))
    return [answers[row["enrollment_id"]] for row in rows]


def _enrollment_row(enrollment_id: str, request: EnrollRequest, raw: str, facts: Facts, start: date,
                    refused: Refusal | None, now: datetime) -> dict[str, Any]:
    customer, location, assets = request.customerInfo, request.locationInfo, request.assetInfo
    return {
        "enrollment_id": enrollment_id, "transaction_id": request.transactionId,
        "enrollment_source": request.enrollmentSource, "status": VAL_ERROR if refused is not None else DEVICE_SETUP,
        "program_code": request.programInfo.programCode,
        "program_id": facts.program.program_id if refused is None and facts.program else None,
        "cis_person_id": customer.cisPersonId, "cis_account_id": customer.cisAccountId,
        "cis_premise_id": location.cisPremiseId or facts.customer.cis_premise_id,
        "cis_service_point_id": location.cisServicePointId,
        "cis_service_agreement_id": request.programInfo.cisServiceAgreementId, "division": location.division,
        "start_date": start, "installation_method": assets.installationMethod,
        "asset_ownership": assets.assetOwnership, "request": raw, "created_at": now, "updated_at": now,
        **_exception_values(refused)}


def _asset_row(enrollment_id: str, asset: Asset) -> dict[str, Any]:
    return {"enrollment_id": enrollment_id, "sequence": asset.sequence, "asset_id": asset.assetId,
            "specification": asset.specification, "asset_type": asset.assetType, "badge_no": asset.badgeNo,
            "serial_no": asset.serialNo, "nic_id": asset.nicId, "head_end_system": asset.headEndSystem}


def _validate_again(connection: Connection, enrollment: Any, now: datetime, timeout_s: float) -> Enrolled:
    """A refused enrollment, validated once more (an agent fixed the data): on to device setup, or refused."""
    request = EnrollRequest.model_validate_json(enrollment.request)
    start = request.programInfo.startDate or now.date()
    facts = read_facts(connection, request, start)
    refused = validate(request, facts, start)
    if refused is not None:
        _set_statuses(connection, [(enrollment.enrollment_id, VAL_ERROR, refused, None)], now)
        return Enrolled(enrollment.enrollment_id, VAL_ERROR, refused)
    assert facts.program is not None
    connection.execute(sa.update(enrollments).where(enrollments.c.enrollment_id == enrollment.enrollment_id)
                       .values(program_id=facts.program.program_id))
    _set_statuses(connection, [(enrollment.enrollment_id, DEVICE_SETUP, None, "validated")], now)
    if not request.assetInfo.assetList:
        return _activate(connection, _enrollment(connection, enrollment.enrollment_id), now)
    setup_round = statuschecks.start_setup_round(connection, enrollment.enrollment_id)
    statuschecks.start_checks(connection, _setup_checks(enrollment.enrollment_id, request, setup_round), now,
                              timeout_s)
    return Enrolled(enrollment.enrollment_id, DEVICE_SETUP)


def _setup_checks(enrollment_id: str, request: EnrollRequest, setup_round: int) -> list[statuschecks.Check]:
    """A status check for every requested device: the enrollment goes on when all of them succeed."""
    return [statuschecks.Check(
        statuschecks.Device(asset.headEndSystem or "", asset.nicId or "", asset.specification, asset.assetType,
                            request.locationInfo.division),
        statuschecks.DEVICE_SETUP, enrollment_id=enrollment_id, asset_sequence=asset.sequence,
        setup_round=setup_round) for asset in request.assetInfo.assetList]


# ---- device setup results, timeouts, activation ----------------------------------------------------------


def on_status_result(engine: Engine, answer: statuschecks.Answer, now: datetime) -> str:
    [outcome] = on_status_results(engine, [answer], now)
    return outcome


def on_status_results(engine: Engine, answers: list[statuschecks.Answer], now: datetime) -> list[str]:
    """Apply status check results, one transaction for all; device setups they complete move their
    enrollments on. One outcome per answer: applied, late, repeat or unknown."""
    with engine.begin() as connection:
        results = statuschecks.record_results(connection, answers, now)
        setup = [(result.check, answer) for result, answer in zip(results, answers, strict=True)
                 if result.outcome == "applied" and result.check.purpose == statuschecks.DEVICE_SETUP]
        if setup:
            _after_setup_checks(connection, setup, now)
    return [result.outcome for result in results]


def _after_setup_checks(connection: Connection, setup: list[tuple[Any, statuschecks.Answer]], now: datetime) -> None:
    """A failed check stops its enrollment's device setup; a setup whose checks all succeeded activates."""
    waiting = {row.enrollment_id: row for row in connection.execute(sa.select(enrollments).where(
        enrollments.c.enrollment_id.in_({check.enrollment_id for check, _answer in setup}),
        enrollments.c.status == DEVICE_SETUP))}
    failed: dict[str, Refusal] = {}
    for check, answer in setup:
        if answer.status == statuschecks.FAILURE and check.enrollment_id in waiting:
            failed.setdefault(check.enrollment_id, refusal(
                90020, headEndSystem=check.head_end_system, nicId=check.nic_id,
                message=answer.message or "no reason given"))
    _set_statuses(connection, [(enrollment, SETUP_ERROR, problem, None) for enrollment, problem in failed.items()], now)
    rounds = statuschecks.current_rounds(connection, set(waiting) - set(failed))
    arrival = {check.enrollment_id: number for number, (check, _answer) in reversed(list(enumerate(setup)))}
    ready = sorted((waiting[enrollment_id] for enrollment_id, checks in rounds.items()
                    if all(check.status == statuschecks.SUCCESS for check in checks)),
                   key=lambda enrollment: arrival[enrollment.enrollment_id])  # first confirmed, first served
    if ready:
        activate_all(connection, ready, now)


def expire_status_checks(engine: Engine, now: datetime | None = None) -> int:
    """Checks without a result by their deadline time out; so does the device setup waiting on them."""
    now = now or datetime.now(UTC)
    with reading(engine) as connection:  # runs every second: take no turn to write when nothing is overdue
        if not statuschecks.any_overdue(connection, now):
            return 0
    with engine.begin() as connection:
        expired = statuschecks.overdue(connection, now)
        setups = {check.enrollment_id: check for check in expired if check.enrollment_id}
        if setups:
            waiting = set(connection.execute(sa.select(enrollments.c.enrollment_id).where(
                enrollments.c.enrollment_id.in_(setups), enrollments.c.status == DEVICE_SETUP)).scalars())
            _set_statuses(connection, [
                (enrollment_id, SETUP_ERROR, refusal(90021, headEndSystem=check.head_end_system, nicId=check.nic_id,
                                                     timeout=(now - as_utc(check.requested_at)).total_seconds()), None)
                for enrollment_id, check in setups.items() if enrollment_id in waiting], now)
    return len(expired)


def _activate(connection: Connection, enrollment: Any, now: datetime) -> Enrolled:
    [done] = activate_all(connection, [enrollment], now)
    return done


def activate_all(connection: Connection, ready: list[Any], now: datetime) -> list[Enrolled]:
    """Activate enrollments whose device setup is done, a few statements for all of them: a subscription
    each, its devices at the service point and their keys, and the enrollment sync. An enrollment one of
    whose devices was enrolled elsewhere meanwhile goes to SETUP-ERROR instead."""
    ids = [row.enrollment_id for row in ready]
    assets: dict[str, list[NewDevice]] = {}
    for row in connection.execute(sa.select(enrollment_assets).where(enrollment_assets.c.enrollment_id.in_(ids))
                                  .order_by(enrollment_assets.c.enrollment_id, enrollment_assets.c.sequence)):
        assets.setdefault(row.enrollment_id, []).append(NewDevice.requested(row))
    taken = _enrolled(connection, [(d.head_end_system, d.nic_id) for devices in assets.values() for d in devices])
    activated: list[Any] = []
    refused: list[StatusChange] = []
    outcome: dict[str, Enrolled] = {}
    for enrollment in ready:
        clash = next((d for d in assets.get(enrollment.enrollment_id, [])
                      if (d.head_end_system, d.nic_id) in taken), None)
        if clash is not None:
            problem = refusal(90017, headEndSystem=clash.head_end_system, nicId=clash.nic_id,
                              deviceId=taken[(clash.head_end_system, clash.nic_id)])
            refused.append((enrollment.enrollment_id, SETUP_ERROR, problem, None))
            outcome[enrollment.enrollment_id] = Enrolled(enrollment.enrollment_id, SETUP_ERROR, problem)
            continue
        for device in assets.get(enrollment.enrollment_id, []):
            taken[(device.head_end_system, device.nic_id)] = "in this batch"  # two enrollments, one device
        activated.append(enrollment)
        outcome[enrollment.enrollment_id] = Enrolled(enrollment.enrollment_id, ACTIVE)
    _set_statuses(connection, refused, now)
    if activated:
        _write_activations(connection, activated, assets, now)
    return [outcome[enrollment_id] for enrollment_id in ids]


def _write_activations(connection: Connection, activated: list[Any], assets: dict[str, list[NewDevice]],
                       now: datetime) -> None:
    types = dict(connection.execute(sa.select(programs.c.program_id, programs.c.program_type_code).where(
        programs.c.program_id.in_({e.program_id for e in activated}))).all())
    subscriptions = [SimpleNamespace(
        subscription_id=new_id(SUBSCRIPTION_DIGITS), enrollment_id=e.enrollment_id, program_id=e.program_id,
        program_code=e.program_code, subscription_type=types.get(e.program_id, "DR"), status=ACTIVE,
        cis_person_id=e.cis_person_id, cis_account_id=e.cis_account_id,
        cis_service_agreement_id=e.cis_service_agreement_id, cis_service_point_id=e.cis_service_point_id,
        start_at=datetime.combine(e.start_date, datetime.min.time(), tzinfo=UTC), end_at=None, updated_at=now)
        for e in activated]
    devices = {s.subscription_id: [_device_row(e, s.subscription_id, d, now) for d in assets.get(e.enrollment_id, [])]
               for e, s in zip(activated, subscriptions, strict=True)}
    connection.execute(sa.insert(program_subscriptions), [vars(s) for s in subscriptions])
    every_device = [vars(d) for each in devices.values() for d in each]
    if every_device:
        connection.execute(sa.insert(active_device_keys), [
            {"head_end_system": d["head_end_system"], "nic_id": d["nic_id"], "device_id": d["device_id"]}
            for d in every_device])
        connection.execute(sa.insert(controllable_devices), every_device)
    connection.execute(sa.update(enrollments).where(enrollments.c.enrollment_id == sa.bindparam("enrollment"))
                       .values(subscription_id=sa.bindparam("subscription")), [
        {"enrollment": s.enrollment_id, "subscription": s.subscription_id} for s in subscriptions])
    _set_statuses(connection, [(s.enrollment_id, ACTIVE, None, f"subscription {s.subscription_id}")
                               for s in subscriptions], now)
    divisions = {e.enrollment_id: e.division for e in activated}
    premises = {e.enrollment_id: e.cis_premise_id for e in activated}
    enrollment_sync.write_syncs(connection, [
        enrollment_sync.Sync(s, devices[s.subscription_id], premises[s.enrollment_id], divisions[s.enrollment_id])
        for s in subscriptions])


def _device_row(enrollment: Any, subscription_id: str, device: NewDevice, now: datetime) -> SimpleNamespace:
    return SimpleNamespace(
        device_id=new_id(DEVICE_DIGITS), enrollment_id=enrollment.enrollment_id, subscription_id=subscription_id,
        status=ACTIVE, head_end_system=device.head_end_system, nic_id=device.nic_id,
        specification=device.specification, device_type=device.asset_type, serial_no=device.serial_no,
        badge_no=device.badge_no, asset_id=device.asset_id, cis_service_point_id=enrollment.cis_service_point_id,
        installed_at=now, removed_at=None, head_end_registration=None, registration_message=None,
        registration_updated_at=None, updated_at=now)


@dataclass(frozen=True)
class NewDevice:
    """A device about to be put on a subscription: a requested asset, a replacement or an addition."""

    head_end_system: str
    nic_id: str
    specification: str | None
    asset_type: str | None
    serial_no: str | None
    badge_no: str | None
    asset_id: str | None

    @classmethod
    def of(cls, asset: Asset) -> NewDevice:
        return cls(asset.headEndSystem or "", asset.nicId or "", asset.specification, asset.assetType,
                   asset.serialNo, asset.badgeNo, asset.assetId)

    @classmethod
    def requested(cls, row: Any) -> NewDevice:
        return cls(row.head_end_system or "", row.nic_id or "", row.specification, row.asset_type, row.serial_no,
                   row.badge_no, row.asset_id)


def _add_device(connection: Connection, enrollment: Any, subscription_id: str, device: NewDevice,
                now: datetime) -> str:
    row = _device_row(enrollment, subscription_id, device, now)
    connection.execute(sa.insert(active_device_keys).values(
        head_end_system=row.head_end_system, nic_id=row.nic_id, device_id=row.device_id))
    connection.execute(sa.insert(controllable_devices).values(**vars(row)))
    return str(row.device_id)


class EnrollmentConflict(Exception):
    """The enrollment is not in a state that allows the action; the message says which state it is in."""


class NotFound(Exception):
    pass


def retry(engine: Engine, enrollment_id: str, now: datetime, timeout_s: float) -> Enrolled:
    """Validate a VAL-ERROR enrollment again, or give a SETUP-ERROR enrollment new status checks."""
    with engine.begin() as connection:
        enrollment = _required(connection, enrollment_id)
        if enrollment.status not in RETRYABLE:
            raise EnrollmentConflict(f"enrollment {enrollment_id} is {enrollment.status}: only "
                                     f"{' and '.join(RETRYABLE)} enrollments can be retried")
        _histories(connection, [(enrollment_id, enrollment.status, "retried")], now)
        if enrollment.status == VAL_ERROR:
            return _validate_again(connection, enrollment, now, timeout_s)
        _set_statuses(connection, [(enrollment_id, DEVICE_SETUP, None, "device setup retried")], now)
        setup_round = statuschecks.start_setup_round(connection, enrollment_id)
        request = EnrollRequest.model_validate_json(enrollment.request)
        statuschecks.start_checks(connection, _setup_checks(enrollment_id, request, setup_round), now, timeout_s)
        return Enrolled(enrollment_id, DEVICE_SETUP)


def unenroll(engine: Engine, enrollment_id: str, reason: str, now: datetime) -> str:
    """End an ACTIVE enrollment: subscription INACTIVE, devices removed, the sync to DERMS; returns its id."""
    if reason not in UNENROLL_REASONS:
        raise ValueError(f"unenroll reason must be one of {', '.join(UNENROLL_REASONS)}")
    with engine.begin() as connection:
        enrollment = _required(connection, enrollment_id)
        if enrollment.status != ACTIVE:
            raise EnrollmentConflict(f"enrollment {enrollment_id} is {enrollment.status}: only ACTIVE enrollments "
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
        _set_statuses(connection, [(enrollment_id, UNENROLLED, None, f"unenrolled: {reason}")], now)
        return enrollment_sync.write_sync(connection, subscription_id, tuple(d.device_id for d in removed),
                                          division=enrollment.division, unenroll_reason=reason)


def replace_device(engine: Engine, device_id: str, replacement: Asset, now: datetime) -> tuple[str, str]:
    """Remove a device and put another in its place on the same subscription; returns (new device id, sync id)."""
    with engine.begin() as connection:
        old = connection.execute(sa.select(controllable_devices).where(
            controllable_devices.c.device_id == device_id)).one_or_none()
        if old is None:
            raise NotFound(f"no device {device_id!r}")
        if old.status != ACTIVE:
            raise EnrollmentConflict(f"device {device_id} is {old.status}: only an ACTIVE device can be replaced")
        enrollment = _required(connection, old.enrollment_id)
        _check_new_device(connection, enrollment, replacement)
        _remove_device(connection, device_id, now)
        new_device_id = _add_device(connection, enrollment, old.subscription_id, NewDevice.of(replacement), now)
        _histories(connection, [(enrollment.enrollment_id, enrollment.status,
                                 f"device {device_id} replaced by {new_device_id}")], now)
        sync_id = enrollment_sync.write_sync(connection, old.subscription_id, (device_id,),
                                             division=enrollment.division)
        return new_device_id, sync_id


def add_device(engine: Engine, enrollment_id: str, asset: Asset, now: datetime) -> tuple[str, str]:
    """Add a device to an ACTIVE enrollment; returns (device id, sync request id)."""
    with engine.begin() as connection:
        enrollment = _required(connection, enrollment_id)
        if enrollment.status != ACTIVE:
            raise EnrollmentConflict(f"enrollment {enrollment_id} is {enrollment.status}: devices can only be "
                                     "added to an ACTIVE enrollment")
        _check_new_device(connection, enrollment, asset)
        device_id = _add_device(connection, enrollment, enrollment.subscription_id, NewDevice.of(asset), now)
        _histories(connection, [(enrollment_id, ACTIVE, f"device {device_id} added")], now)
        return device_id, enrollment_sync.write_sync(connection, enrollment.subscription_id,
                                                     division=enrollment.division)


def _check_new_device(connection: Connection, enrollment: Any, asset: Asset) -> None:
    """A device put on an enrollment obeys the rules of a requested one; a refusal is a conflict."""
    missing = [name for name in ("specification", "assetType", "nicId", "headEndSystem") if not getattr(asset, name)]
    if missing:
        raise EnrollmentConflict(MESSAGES[90015].format(missing=", ".join(missing)))
    program = program_by_code(connection, enrollment.program_code)
    eligible = program.eligible_specifications if program else frozenset()
    if eligible and asset.specification not in eligible:
        raise EnrollmentConflict(MESSAGES[90016].format(specification=asset.specification,
                                                        programCode=enrollment.program_code))
    taken = _enrolled(connection, [(asset.headEndSystem or "", asset.nicId or "")])
    if taken:
        [(key, other)] = taken.items()
        raise EnrollmentConflict(MESSAGES[90017].format(headEndSystem=key[0], nicId=key[1], deviceId=other))


def check_device(engine: Engine, device_id: str, requested_by: str, now: datetime, timeout_s: float) -> str:
    """An agent asks for a device's status (troubleshooting); returns the communication id."""
    with engine.begin() as connection:
        device = connection.execute(sa.select(controllable_devices, enrollments.c.division).join(
            enrollments, enrollments.c.enrollment_id == controllable_devices.c.enrollment_id).where(
            controllable_devices.c.device_id == device_id)).one_or_none()
        if device is None:
            raise NotFound(f"no device {device_id!r}")
        about = statuschecks.Device(device.head_end_system, device.nic_id, device.specification, device.device_type,
                                    device.division)
        [communication_id] = statuschecks.start_checks(connection, [statuschecks.Check(
            about, statuschecks.AGENT, device_id=device_id, requested_by=requested_by)], now, timeout_s)
        return communication_id


def _remove_device(connection: Connection, device_id: str, now: datetime) -> None:
    connection.execute(sa.update(controllable_devices).where(controllable_devices.c.device_id == device_id)
                       .values(status="REMOVED", removed_at=now, updated_at=now))
    connection.execute(sa.delete(active_device_keys).where(active_device_keys.c.device_id == device_id))


def _active_devices(connection: Connection, subscription_id: str) -> list[Any]:
    return list(connection.execute(sa.select(controllable_devices).where(
        controllable_devices.c.subscription_id == subscription_id, controllable_devices.c.status == ACTIVE)).all())


# ---- state and history ------------------------------------------------------------------------------------


StatusChange = tuple[str, str, Refusal | None, str | None]
"""(enrollment id, new status, the refusal that caused it, or a note for the history)."""


def _set_statuses(connection: Connection, changes: list[StatusChange], now: datetime) -> None:
    """Move enrollments to new states, with a history line each, in two statements for all."""
    if not changes:
        return
    connection.execute(sa.update(enrollments).where(enrollments.c.enrollment_id == sa.bindparam("enrollment"))
                       .values(status=sa.bindparam("new_status"), updated_at=now,
                               exception_category=sa.bindparam("category"), exception_number=sa.bindparam("number"),
                               exception_text=sa.bindparam("text")),
                       [{"enrollment": enrollment_id, "new_status": status, **_exception_params(refused)}
                        for enrollment_id, status, refused, _note in changes])
    _histories(connection, [(enrollment_id, status, refused.text if refused else note)
                            for enrollment_id, status, refused, note in changes], now)


def _exception_values(refused: Refusal | None) -> dict[str, Any]:
    """An enrollment's exception columns: the refusal's message, or none."""
    if refused is None:
        return {"exception_category": None, "exception_number": None, "exception_text": None}
    return {"exception_category": refused.category, "exception_number": refused.number,
            "exception_text": refused.text}


def _exception_params(refused: Refusal | None) -> dict[str, Any]:
    values = _exception_values(refused)
    return {"category": values["exception_category"], "number": values["exception_number"],
            "text": values["exception_text"]}


def _histories(connection: Connection, lines: list[tuple[str, str, str | None]], now: datetime) -> None:
    if lines:
        connection.execute(sa.insert(enrollment_history), [
            {"enrollment_id": enrollment_id, "status": status, "note": (note or "")[:254] or None, "at": now}
            for enrollment_id, status, note in lines])


def _enrollment(connection: Connection, enrollment_id: str) -> Any:
    return connection.execute(sa.select(enrollments).where(enrollments.c.enrollment_id == enrollment_id)).one_or_none()


def _required(connection: Connection, enrollment_id: str) -> Any:
    found = _enrollment(connection, enrollment_id)
    if found is None:
        raise NotFound(f"no enrollment {enrollment_id!r}")
    return found


# ---- reading ----------------------------------------------------------------------------------------------


def describe(engine: Engine, enrollment_id: str) -> dict[str, Any] | None:
    with reading(engine) as connection:
        row = _enrollment(connection, enrollment_id)
        if row is None:
            return None
        history = connection.execute(sa.select(enrollment_history).where(
            enrollment_history.c.enrollment_id == enrollment_id).order_by(enrollment_history.c.id)).all()
        devices = connection.execute(sa.select(controllable_devices).where(
            controllable_devices.c.enrollment_id == enrollment_id).order_by(controllable_devices.c.device_id)).all()
        checks = connection.execute(sa.select(status_checks).where(
            status_checks.c.enrollment_id == enrollment_id).order_by(status_checks.c.requested_at)).all()
    return {**summary(row), "history": [{"status": h.status, "note": h.note, "at": iso_utc(h.at)} for h in history],
            "devices": [device_summary(d) for d in devices],
            "statusChecks": [statuschecks.describe(c) for c in checks]}


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
        found = statuschecks.get(connection, communication_id)
    return statuschecks.describe(found) if found is not None else None


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
