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
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from derbridge.dacs import enrollment_sync, statuschecks
from derbridge.dacs.cis import CustomerContext, customer_context
from derbridge.dacs.ids import new_id
from derbridge.dacs.programs import Program, program_by_code, program_type_by_code
from derbridge.dacs.schema import (
    active_device_keys,
    controllable_devices,
    enrollment_assets,
    enrollment_history,
    enrollments,
    program_subscriptions,
    status_checks,
)

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
    customer, location = request.customerInfo, request.locationInfo
    keys = [(a.headEndSystem, a.nicId) for a in request.assetInfo.assetList if a.headEndSystem and a.nicId]
    program = program_by_code(connection, request.programInfo.programCode)
    program_type = program_type_by_code(connection, program.program_type_code) if program else None
    return Facts(
        customer=customer_context(connection, customer.cisPersonId or "", customer.cisAccountId or "",
                                  location.cisServicePointId or "", request.programInfo.cisServiceAgreementId or "",
                                  on=start),
        program=program, device_required=program_type is None or program_type.device_required,
        enrolled_devices=_enrolled(connection, keys))


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


def enroll(engine: Engine, request: EnrollRequest, raw: str, now: datetime, check_timeout_s: float) -> Enrolled:
    """Create the enrollment (PENDING), validate it, and start device setup or record the refusal."""
    for attempt in (1, 2):
        try:
            with engine.begin() as connection:
                existing = _by_transaction(connection, request.transactionId)
                if existing is not None:
                    return _duplicate(existing, request.transactionId)
                return _create(connection, request, raw, now, check_timeout_s)
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _by_transaction(connection: Connection, transaction_id: str | None) -> Any:
    if transaction_id is None:
        return None
    return connection.execute(sa.select(enrollments.c.enrollment_id, enrollments.c.status).where(
        enrollments.c.transaction_id == transaction_id)).one_or_none()


def _duplicate(existing: Any, transaction_id: str | None) -> Enrolled:
    return Enrolled(existing.enrollment_id, existing.status, refusal(ALREADY_EXISTS, transactionId=transaction_id),
                    duplicate=True)


def _create(connection: Connection, request: EnrollRequest, raw: str, now: datetime, timeout_s: float) -> Enrolled:
    enrollment_id = new_id(ENROLLMENT_DIGITS)
    start = request.programInfo.startDate or now.date()
    customer, location, assets = request.customerInfo, request.locationInfo, request.assetInfo
    connection.execute(sa.insert(enrollments).values(
        enrollment_id=enrollment_id, transaction_id=request.transactionId, enrollment_source=request.enrollmentSource,
        status=PENDING, program_code=request.programInfo.programCode, cis_person_id=customer.cisPersonId,
        cis_account_id=customer.cisAccountId, cis_premise_id=location.cisPremiseId,
        cis_service_point_id=location.cisServicePointId,
        cis_service_agreement_id=request.programInfo.cisServiceAgreementId, division=location.division,
        start_date=start, installation_method=assets.installationMethod, asset_ownership=assets.assetOwnership,
        request=raw, created_at=now, updated_at=now))
    if assets.assetList:
        connection.execute(sa.insert(enrollment_assets), [{
            "enrollment_id": enrollment_id, "sequence": a.sequence, "asset_id": a.assetId,
            "specification": a.specification, "asset_type": a.assetType, "badge_no": a.badgeNo,
            "serial_no": a.serialNo, "nic_id": a.nicId, "head_end_system": a.headEndSystem} for a in assets.assetList])
    _history(connection, enrollment_id, PENDING, "received", now)
    return _validate_and_proceed(connection, enrollment_id, request, now, timeout_s)


def _validate_and_proceed(connection: Connection, enrollment_id: str, request: EnrollRequest, now: datetime,
                          timeout_s: float) -> Enrolled:
    start = request.programInfo.startDate or now.date()
    facts = read_facts(connection, request, start)
    refused = validate(request, facts, start)
    if refused is not None:
        _set_status(connection, enrollment_id, VAL_ERROR, now, refused)
        return Enrolled(enrollment_id, VAL_ERROR, refused)
    program = facts.program
    assert program is not None
    connection.execute(sa.update(enrollments).where(enrollments.c.enrollment_id == enrollment_id)
                       .values(program_id=program.program_id))
    _set_status(connection, enrollment_id, DEVICE_SETUP, now, note="validated")
    if not request.assetInfo.assetList:
        return _activate(connection, enrollment_id, now)
    _start_device_setup(connection, enrollment_id, request, now, timeout_s)
    return Enrolled(enrollment_id, DEVICE_SETUP)


def _start_device_setup(connection: Connection, enrollment_id: str, request: EnrollRequest, now: datetime,
                        timeout_s: float) -> None:
    setup_round = statuschecks.start_setup_round(connection, enrollment_id)
    for asset in request.assetInfo.assetList:
        device = statuschecks.Device(asset.headEndSystem or "", asset.nicId or "", asset.specification,
                                     asset.assetType, request.locationInfo.division)
        statuschecks.start_check(connection, device, statuschecks.DEVICE_SETUP, now, timeout_s,
                                 enrollment_id=enrollment_id, asset_sequence=asset.sequence, setup_round=setup_round)


# ---- device setup results, timeouts, activation ----------------------------------------------------------


def on_status_result(engine: Engine, communication_id: str, status: str, message: str | None,
                     last_seen: datetime | None, now: datetime) -> str:
    """Apply a status check's result; for a device-setup check, move its enrollment on. Returns the outcome:
    applied, late, repeat or unknown."""
    with engine.begin() as connection:
        result = statuschecks.record_result(connection, communication_id, status, message, last_seen, now)
        check = result.check
        if result.outcome == "applied" and check.purpose == statuschecks.DEVICE_SETUP:
            _after_setup_check(connection, check, status, message, now)
    return result.outcome


def _after_setup_check(connection: Connection, check: Any, status: str, message: str | None,
                       now: datetime) -> None:
    enrollment = _enrollment(connection, check.enrollment_id)
    if enrollment is None or enrollment.status != DEVICE_SETUP:
        return
    if status == statuschecks.FAILURE:
        refused = refusal(90020, headEndSystem=check.head_end_system, nicId=check.nic_id,
                          message=message or "no reason given")
        _set_status(connection, enrollment.enrollment_id, SETUP_ERROR, now, refused)
        return
    if all(each.status == statuschecks.SUCCESS
           for each in statuschecks.current_round(connection, enrollment.enrollment_id)):
        _activate(connection, enrollment.enrollment_id, now)


def expire_status_checks(engine: Engine, now: datetime | None = None) -> int:
    """Checks without a result by their deadline time out; so does the device setup waiting on them."""
    now = now or datetime.now(UTC)
    with engine.begin() as connection:
        expired = statuschecks.overdue(connection, now)
        for check in expired:
            enrollment = _enrollment(connection, check.enrollment_id) if check.enrollment_id else None
            if enrollment is not None and enrollment.status == DEVICE_SETUP:
                waited = (now - _utc(check.requested_at)).total_seconds()
                refused = refusal(90021, headEndSystem=check.head_end_system, nicId=check.nic_id, timeout=waited)
                _set_status(connection, enrollment.enrollment_id, SETUP_ERROR, now, refused)
    return len(expired)


def _activate(connection: Connection, enrollment_id: str, now: datetime) -> Enrolled:
    """Subscription, devices at the service point, their keys, and the enrollment sync — or SETUP-ERROR when
    a device was enrolled elsewhere meanwhile (the key table's primary key makes two at once impossible)."""
    enrollment = _enrollment(connection, enrollment_id)
    assert enrollment is not None
    subscription_id = new_id(SUBSCRIPTION_DIGITS)
    program = program_by_code(connection, enrollment.program_code)
    start = datetime.combine(enrollment.start_date, datetime.min.time(), tzinfo=UTC)
    connection.execute(sa.insert(program_subscriptions).values(
        subscription_id=subscription_id, enrollment_id=enrollment_id, program_id=enrollment.program_id,
        program_code=enrollment.program_code, subscription_type=program.program_type_code if program else "DR",
        status=ACTIVE, cis_person_id=enrollment.cis_person_id, cis_account_id=enrollment.cis_account_id,
        cis_service_agreement_id=enrollment.cis_service_agreement_id,
        cis_service_point_id=enrollment.cis_service_point_id, start_at=start, updated_at=now))
    assets = [NewDevice.requested(row) for row in connection.execute(sa.select(enrollment_assets).where(
        enrollment_assets.c.enrollment_id == enrollment_id).order_by(enrollment_assets.c.sequence))]
    taken = _enrolled(connection, [(asset.head_end_system, asset.nic_id) for asset in assets])
    if taken:
        [(head_end, nic), other] = next(iter(taken.items()))
        refused = refusal(90017, headEndSystem=head_end, nicId=nic, deviceId=other)
        _set_status(connection, enrollment_id, SETUP_ERROR, now, refused)
        return Enrolled(enrollment_id, SETUP_ERROR, refused)
    for asset in assets:
        _add_device(connection, enrollment, subscription_id, asset, now)
    connection.execute(sa.update(enrollments).where(enrollments.c.enrollment_id == enrollment_id)
                       .values(subscription_id=subscription_id))
    _set_status(connection, enrollment_id, ACTIVE, now, note=f"subscription {subscription_id}")
    enrollment_sync.write_sync(connection, subscription_id, division=enrollment.division)
    return Enrolled(enrollment_id, ACTIVE)


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


def _add_device(connection: Connection, enrollment: Any, subscription_id: str, asset: NewDevice,
                now: datetime) -> str:
    device_id = new_id(DEVICE_DIGITS)
    connection.execute(sa.insert(active_device_keys).values(
        head_end_system=asset.head_end_system, nic_id=asset.nic_id, device_id=device_id))
    connection.execute(sa.insert(controllable_devices).values(
        device_id=device_id, enrollment_id=enrollment.enrollment_id, subscription_id=subscription_id,
        status=ACTIVE, head_end_system=asset.head_end_system, nic_id=asset.nic_id,
        specification=asset.specification, device_type=asset.asset_type, serial_no=asset.serial_no,
        badge_no=asset.badge_no, asset_id=asset.asset_id, cis_service_point_id=enrollment.cis_service_point_id,
        installed_at=now, updated_at=now))
    return device_id


# ---- agents: retry, unenroll, replace and add devices, status checks --------------------------------------


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
        request = EnrollRequest.model_validate_json(enrollment.request)
        _history(connection, enrollment_id, enrollment.status, "retried", now)
        if enrollment.status == VAL_ERROR:
            return _validate_and_proceed(connection, enrollment_id, request, now, timeout_s)
        _set_status(connection, enrollment_id, DEVICE_SETUP, now, note="device setup retried")
        _start_device_setup(connection, enrollment_id, request, now, timeout_s)
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
        _set_status(connection, enrollment_id, UNENROLLED, now, note=f"unenrolled: {reason}")
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
        _history(connection, enrollment.enrollment_id, enrollment.status,
                 f"device {device_id} replaced by {new_device_id}", now)
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
        _history(connection, enrollment_id, ACTIVE, f"device {device_id} added", now)
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
        return statuschecks.start_check(connection, about, statuschecks.AGENT, now, timeout_s,
                                        device_id=device_id, requested_by=requested_by)


def _remove_device(connection: Connection, device_id: str, now: datetime) -> None:
    connection.execute(sa.update(controllable_devices).where(controllable_devices.c.device_id == device_id)
                       .values(status="REMOVED", removed_at=now, updated_at=now))
    connection.execute(sa.delete(active_device_keys).where(active_device_keys.c.device_id == device_id))


def _active_devices(connection: Connection, subscription_id: str) -> list[Any]:
    return list(connection.execute(sa.select(controllable_devices).where(
        controllable_devices.c.subscription_id == subscription_id, controllable_devices.c.status == ACTIVE)).all())


# ---- state and history ------------------------------------------------------------------------------------


def _set_status(connection: Connection, enrollment_id: str, status: str, now: datetime,
                refused: Refusal | None = None, note: str | None = None) -> None:
    values: dict[str, Any] = {"status": status, "updated_at": now}
    if refused is not None:
        values.update(exception_category=refused.category, exception_number=refused.number,
                      exception_text=refused.text)
    elif status not in RETRYABLE:
        values.update(exception_category=None, exception_number=None, exception_text=None)
    connection.execute(sa.update(enrollments).where(enrollments.c.enrollment_id == enrollment_id).values(**values))
    _history(connection, enrollment_id, status, refused.text if refused else note, now)


def _history(connection: Connection, enrollment_id: str, status: str, note: str | None, now: datetime) -> None:
    connection.execute(sa.insert(enrollment_history).values(
        enrollment_id=enrollment_id, status=status, note=(note or "")[:254] or None, at=now))


def _enrollment(connection: Connection, enrollment_id: str) -> Any:
    return connection.execute(sa.select(enrollments).where(enrollments.c.enrollment_id == enrollment_id)).one_or_none()


def _required(connection: Connection, enrollment_id: str) -> Any:
    found = _enrollment(connection, enrollment_id)
    if found is None:
        raise NotFound(f"no enrollment {enrollment_id!r}")
    return found


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# ---- reading ----------------------------------------------------------------------------------------------


def describe(engine: Engine, enrollment_id: str) -> dict[str, Any] | None:
    with engine.connect() as connection:
        row = _enrollment(connection, enrollment_id)
        if row is None:
            return None
        history = connection.execute(sa.select(enrollment_history).where(
            enrollment_history.c.enrollment_id == enrollment_id).order_by(enrollment_history.c.id)).all()
        devices = connection.execute(sa.select(controllable_devices).where(
            controllable_devices.c.enrollment_id == enrollment_id).order_by(controllable_devices.c.device_id)).all()
        checks = connection.execute(sa.select(status_checks).where(
            status_checks.c.enrollment_id == enrollment_id).order_by(status_checks.c.requested_at)).all()
    return {**summary(row), "history": [{"status": h.status, "note": h.note, "at": _iso(h.at)} for h in history],
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
        "unenrollReason": row.unenroll_reason, "exception": exception, "createdAt": _iso(row.created_at),
        "updatedAt": _iso(row.updated_at),
    }


def device_summary(row: Any) -> dict[str, Any]:
    return {
        "deviceId": row.device_id, "enrollmentId": row.enrollment_id, "subscriptionId": row.subscription_id,
        "status": row.status, "headEndSystem": row.head_end_system, "nicId": row.nic_id,
        "specification": row.specification, "deviceType": row.device_type, "serialNo": row.serial_no,
        "cisServicePointId": row.cis_service_point_id, "installedAt": _iso(row.installed_at),
        "removedAt": _iso(row.removed_at), "headEndRegistration": row.head_end_registration,
        "registrationMessage": row.registration_message,
    }


def search(engine: Engine, status: str | None = None, cis_account_id: str | None = None,
           limit: int = 200) -> list[dict[str, Any]]:
    query = sa.select(enrollments).order_by(enrollments.c.created_at.desc()).limit(limit)
    if status:
        query = query.where(enrollments.c.status == status)
    if cis_account_id:
        query = query.where(enrollments.c.cis_account_id == cis_account_id)
    with engine.connect() as connection:
        return [summary(row) for row in connection.execute(query)]


def status_check(engine: Engine, communication_id: str) -> dict[str, Any] | None:
    with engine.connect() as connection:
        found = statuschecks.get(connection, communication_id)
    return statuschecks.describe(found) if found is not None else None


def counts_by_status(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
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
    with engine.connect() as connection:
        return [device_summary(row) for row in connection.execute(query)]


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return _utc(value).isoformat()
