"""Device setup: a status check (F6) for every requested device; the results move the enrollment on to ACTIVE or
to SETUP-ERROR, and checks without a result in time expire."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from derbridge.clock import as_utc, utcnow
from derbridge.dacs.enrollment.activation import activate, activate_all
from derbridge.dacs.enrollment.states import (
    DEVICE_SETUP,
    SETUP_ERROR,
    VAL_ERROR,
    Enrolled,
    enrollment_row,
    set_statuses,
)
from derbridge.dacs.enrollment.validation import Refusal, read_facts, refusal, validate
from derbridge.dacs.enrollment.wire import EnrollRequest
from derbridge.dacs.schema import (
    enrollments,
)
from derbridge.dacs.status_checks import checks as status_checks
from derbridge.store.db import reading


def validate_again(connection: Connection, enrollment: Any, now: datetime, timeout_s: float) -> Enrolled:
    """A refused enrollment, validated once more (an agent fixed the data): on to device setup, or refused."""
    request = EnrollRequest.model_validate_json(enrollment.request)
    start = request.programInfo.startDate or now.date()
    facts = read_facts(connection, request, start)
    refused = validate(request, facts, start)
    if refused is not None:
        set_statuses(connection, [(enrollment.enrollment_id, VAL_ERROR, refused, None)], now)
        return Enrolled(enrollment.enrollment_id, VAL_ERROR, refused)
    assert facts.program is not None
    connection.execute(sa.update(enrollments).where(enrollments.c.enrollment_id == enrollment.enrollment_id)
                       .values(program_id=facts.program.program_id))
    set_statuses(connection, [(enrollment.enrollment_id, DEVICE_SETUP, None, "validated")], now)
    if not request.assetInfo.assetList:
        return activate(connection, enrollment_row(connection, enrollment.enrollment_id), now)
    setup_round = status_checks.start_setup_round(connection, enrollment.enrollment_id)
    status_checks.start_checks(connection, setup_checks(enrollment.enrollment_id, request, setup_round), now,
                              timeout_s)
    return Enrolled(enrollment.enrollment_id, DEVICE_SETUP)


def setup_checks(enrollment_id: str, request: EnrollRequest, setup_round: int) -> list[status_checks.Check]:
    """A status check for every requested device: the enrollment goes on when all of them succeed."""
    return [status_checks.Check(
        status_checks.Device(asset.headEndSystem or "", asset.nicId or "", asset.specification, asset.assetType,
                            request.locationInfo.division),
        status_checks.DEVICE_SETUP, enrollment_id=enrollment_id, asset_sequence=asset.sequence,
        setup_round=setup_round) for asset in request.assetInfo.assetList]


# ---- device setup results, timeouts, activation ----------------------------------------------------------


def on_status_result(engine: Engine, answer: status_checks.Answer, now: datetime) -> str:
    [outcome] = on_status_results(engine, [answer], now)
    return outcome


def on_status_results(engine: Engine, answers: list[status_checks.Answer], now: datetime) -> list[str]:
    """Apply status check results, one transaction for all; device setups they complete move their
    enrollments on. One outcome per answer: applied, late, repeat or unknown."""
    with engine.begin() as connection:
        results = status_checks.record_results(connection, answers, now)
        setup = [(result.check, answer) for result, answer in zip(results, answers, strict=True)
                 if result.outcome == "applied" and result.check.purpose == status_checks.DEVICE_SETUP]
        if setup:
            _after_setup_checks(connection, setup, now)
    return [result.outcome for result in results]


def _after_setup_checks(connection: Connection, setup: list[tuple[Any, status_checks.Answer]], now: datetime) -> None:
    """A failed check stops its enrollment's device setup; a setup whose checks all succeeded activates."""
    waiting = {row.enrollment_id: row for row in connection.execute(sa.select(enrollments).where(
        enrollments.c.enrollment_id.in_({check.enrollment_id for check, _answer in setup}),
        enrollments.c.status == DEVICE_SETUP))}
    failed: dict[str, Refusal] = {}
    for check, answer in setup:
        if answer.status == status_checks.FAILURE and check.enrollment_id in waiting:
            failed.setdefault(check.enrollment_id, refusal(
                90020, headEndSystem=check.head_end_system, nicId=check.nic_id,
                message=answer.message or "no reason given"))
    set_statuses(connection, [(enrollment, SETUP_ERROR, problem, None) for enrollment, problem in failed.items()], now)
    rounds = status_checks.current_rounds(connection, set(waiting) - set(failed))
    arrival = {check.enrollment_id: number for number, (check, _answer) in reversed(list(enumerate(setup)))}
    ready = sorted((waiting[enrollment_id] for enrollment_id, checks in rounds.items()
                    if all(check.status == status_checks.SUCCESS for check in checks)),
                   key=lambda enrollment: arrival[enrollment.enrollment_id])  # first confirmed, first served
    if ready:
        activate_all(connection, ready, now)


def expire_status_checks(engine: Engine, now: datetime | None = None) -> int:
    """Checks without a result by their deadline time out; so does the device setup waiting on them."""
    now = now or utcnow()
    with reading(engine) as connection:  # runs every second: take no turn to write when nothing is overdue
        if not status_checks.any_overdue(connection, now):
            return 0
    with engine.begin() as connection:
        expired = status_checks.overdue(connection, now)
        setups = {check.enrollment_id: check for check in expired if check.enrollment_id}
        if setups:
            waiting = set(connection.execute(sa.select(enrollments.c.enrollment_id).where(
                enrollments.c.enrollment_id.in_(setups), enrollments.c.status == DEVICE_SETUP)).scalars())
            set_statuses(connection, [
                (enrollment_id, SETUP_ERROR, refusal(90021, headEndSystem=check.head_end_system, nicId=check.nic_id,
                                                     timeout=(now - as_utc(check.requested_at)).total_seconds()), None)
                for enrollment_id, check in setups.items() if enrollment_id in waiting], now)
    return len(expired)
