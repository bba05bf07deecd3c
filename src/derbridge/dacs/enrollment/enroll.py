"""The enroll call (F4, one enrollment per call as documented): the enrollment created PENDING, validated, and on to
device setup or refused. Calls that arrive together are written together (runtime/group_commit.py)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from derbridge.dacs.enrollment.activation import activate_all
from derbridge.dacs.enrollment.setup import setup_checks
from derbridge.dacs.enrollment.states import (
    DEVICE_SETUP,
    ENROLLMENT_DIGITS,
    PENDING,
    VAL_ERROR,
    Enrolled,
    exception_values,
    histories,
)
from derbridge.dacs.enrollment.validation import ALREADY_EXISTS, Facts, Refusal, read_facts_many, refusal, validate
from derbridge.dacs.enrollment.wire import Asset, EnrollRequest
from derbridge.dacs.ids import new_id
from derbridge.dacs.schema import (
    enrollment_assets,
    enrollments,
)
from derbridge.dacs.status_checks import checks as status_checks
from derbridge.store.db import reading

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
    checks: list[status_checks.Check] = []
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
            checks += setup_checks(enrollment_id, request, 1)
            answers[enrollment_id] = Enrolled(enrollment_id, DEVICE_SETUP)
    if not rows:
        return []
    connection.execute(sa.insert(enrollments), rows)
    if assets:
        connection.execute(sa.insert(enrollment_assets), assets)
    histories(connection, history, now)
    status_checks.start_checks(connection, checks, now, timeout_s)
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
        **exception_values(refused)}


def _asset_row(enrollment_id: str, asset: Asset) -> dict[str, Any]:
    return {"enrollment_id": enrollment_id, "sequence": asset.sequence, "asset_id": asset.assetId,
            "specification": asset.specification, "asset_type": asset.assetType, "badge_no": asset.badgeNo,
            "serial_no": asset.serialNo, "nic_id": asset.nicId, "head_end_system": asset.headEndSystem}
