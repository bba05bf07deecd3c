"""The program system's enrollment endpoints: the vendor cross-system API the hub calls (enroll, the
enrollment-sync acknowledgement, the status check result) and the agents' API under /api."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from derbridge.clock import utcnow
from derbridge.config import Settings
from derbridge.dacs.enrollment import enroll, enrollment_sync, lifecycle, queries, setup, states, wire
from derbridge.dacs.status_checks import checks as status_checks
from derbridge.errors import NotFound
from derbridge.runtime.group_commit import GroupCommit
from derbridge.runtime.system import Runtime
from derbridge.web.batch import Answer, add_single_and_batch_at_once, answer_of
from derbridge.web.problems import RejectionKeeper, problem_body
from derbridge.web.wire import UtcDateTime


def now() -> datetime:
    return utcnow()


# ---- the cross-system API (called by the hub) -------------------------------------------------------------


class ExceptionInfo(BaseModel):
    model_config = ConfigDict(extra="ignore")
    messageCategory: int = Field(ge=-99999, le=99999)
    messageNumber: int = Field(ge=-99999, le=99999)
    comments: str = Field(default="", max_length=254)


class DeviceHeadendStatus(BaseModel):
    model_config = ConfigDict(extra="ignore")
    deviceId: str = Field(min_length=1, max_length=12)
    headEndRegistration: Literal["D1RE", "D1DR", "D1NR"]
    message: str = Field(default="", max_length=2000)


class EnrollmentAcknowledgement(BaseModel):
    """DERMS's acknowledgement of an enrollment sync, with each device's head-end registration."""

    model_config = ConfigDict(extra="ignore")
    syncRequestId: str = Field(min_length=1, max_length=14)
    hasError: bool
    exceptionInfo: list[ExceptionInfo] = Field(default_factory=list, max_length=100)
    deviceHeadendStatus: list[DeviceHeadendStatus] = Field(default_factory=list, max_length=1000)


class StatusResult(BaseModel):
    model_config = ConfigDict(extra="ignore")
    status: str = Field(min_length=1, max_length=30)
    message: str | None = Field(default=None, max_length=254)
    lastSeenDateTime: UtcDateTime | None = None


class ResponseDetail(BaseModel):
    model_config = ConfigDict(extra="ignore")
    transactionID: str = Field(min_length=1, max_length=30)
    result: StatusResult


class StatusCheckResponse(BaseModel):
    """DERMS's result of a device status check, under the check's communication id (transactionID)."""

    model_config = ConfigDict(extra="ignore")
    responseDetail: ResponseDetail


def cross_router(runtime: Runtime, settings: Settings, keep_rejected: RejectionKeeper) -> APIRouter:
    router = APIRouter(prefix="/rest/apis/cross/digitalAssets", tags=["enrollments (cross-system)"])
    together: GroupCommit[enroll.Submission, states.Enrolled] = GroupCommit(
        lambda submissions: enroll.enroll_many(runtime.db, submissions, now(), settings.status_check_timeout_s))

    @router.post("/programEnrollments/enroll", summary="Enroll a customer's devices in a program (F4, one per call)")
    def enroll_one(body: wire.EnrollRequest, request: Request) -> JSONResponse:
        raw = request.scope.get("derbridge.body", b"").decode("utf-8", "replace") or body.model_dump_json()
        done = together.submit((body, raw))  # calls arriving together are written in one transaction
        runtime.wake_senders()
        if done.duplicate:
            assert done.refusal is not None
            detail = problem_body(409, "Enrollment already exists", done.refusal.text)
            return JSONResponse({**detail, **done.as_answer(body.transactionId),
                                 "messageCategory": done.refusal.category, "messageNumber": done.refusal.number},
                                status_code=409)
        return JSONResponse(done.as_answer(body.transactionId))

    def acknowledge(bodies: list[EnrollmentAcknowledgement]) -> list[Answer]:
        results = enrollment_sync.apply_acks(runtime.db, [enrollment_sync.Ack(
            body.syncRequestId, body.hasError, [status.model_dump() for status in body.deviceHeadendStatus],
            body.model_dump()) for body in bodies])
        return [_ack_answer(body.syncRequestId, result) for body, result in zip(bodies, results, strict=True)]

    def status_results(bodies: list[StatusCheckResponse]) -> list[Answer]:
        outcomes = setup.on_status_results(runtime.db, [status_checks.Answer(
            body.responseDetail.transactionID, body.responseDetail.result.status, body.responseDetail.result.message,
            body.responseDetail.result.lastSeenDateTime) for body in bodies], now())
        runtime.wake_senders()
        return [_status_answer(body.responseDetail.transactionID, outcome)
                for body, outcome in zip(bodies, outcomes, strict=True)]

    add_single_and_batch_at_once(router, "/programEnrollments/postAcknowledgement", EnrollmentAcknowledgement,
                                 acknowledge, keep_rejected, status_code=200,
                                 summary="DERMS's acknowledgement of an enrollment sync (F5)")
    add_single_and_batch_at_once(router, "/controllableDeviceStatus/response", StatusCheckResponse, status_results,
                                 keep_rejected, summary="The result of a device status check (F6)", status_code=200)
    return router


def _ack_answer(sync_request_id: str, result: str) -> Answer:
    if result == "unknown":
        return answer_of(NotFound("sync request", sync_request_id))
    return Answer(200, {"syncRequestId": sync_request_id, "result": result})


def _status_answer(communication_id: str, outcome: str) -> Answer:
    if outcome == "unknown":
        return answer_of(NotFound("status check", communication_id))
    return Answer(200, {"communicationId": communication_id, "boStatus": _bo_status(outcome), "result": outcome})


def _bo_status(outcome: str) -> str:
    """The vendor's answer, SUCCESS or ERROR: a result for a check that had already timed out is kept but
    changes nothing (`result` says which)."""
    return "SUCCESS" if outcome in ("applied", "repeat") else "ERROR"


# ---- the agents' API ----------------------------------------------------------------------------------------


class Unenrollment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Literal["LSSL", "CUSTOMEROPTOUT", "INACTIVESERVICE", "INELIGIBLERATE"]


def agent_router(runtime: Runtime, settings: Settings) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["enrollments"])
    timeout_s = settings.status_check_timeout_s

    @router.post("/enrollments", status_code=201, summary="Enroll a customer (an agent, source X1CC)")
    def create(body: wire.EnrollRequest) -> JSONResponse:
        done = enroll.enroll(runtime.db, body, body.model_dump_json(), now(), timeout_s)
        runtime.wake_senders()
        status = 409 if done.duplicate else 201
        return JSONResponse(done.as_answer(body.transactionId), status_code=status)

    @router.get("/enrollments", summary="Enrollments, newest first")
    def list_enrollments(status: str | None = None, cisAccountId: str | None = None,  # noqa: N803
                         limit: int = 200) -> list[dict[str, Any]]:
        return queries.search(runtime.db, status, cisAccountId, min(limit, 5000))

    @router.get("/enrollments/{enrollment_id}", summary="One enrollment with its history, devices and checks")
    def one(enrollment_id: str) -> dict[str, Any]:
        found = queries.describe(runtime.db, enrollment_id)
        if found is None:
            raise NotFound("enrollment", enrollment_id)
        return found

    @router.post("/enrollments/{enrollment_id}/retry",
                 summary="Validate a VAL-ERROR enrollment again, or rerun a SETUP-ERROR enrollment's device setup")
    def retry(enrollment_id: str) -> dict[str, Any]:
        done = lifecycle.retry(runtime.db, enrollment_id, now(), timeout_s)
        runtime.wake_senders()
        return done.as_answer(None)

    @router.post("/enrollments/{enrollment_id}/unenroll", summary="End an ACTIVE enrollment (syncs to DERMS)")
    def unenroll(enrollment_id: str, body: Unenrollment) -> dict[str, str]:
        sync_id = lifecycle.unenroll(runtime.db, enrollment_id, body.reason, now())
        runtime.wake_senders()
        return {"enrollmentId": enrollment_id, "status": states.UNENROLLED, "syncRequestId": sync_id}

    @router.post("/enrollments/{enrollment_id}/devices", status_code=201,
                 summary="Add a device to an ACTIVE enrollment (syncs to DERMS)")
    def add_device(enrollment_id: str, body: wire.Asset) -> dict[str, str]:
        device_id, sync_id = lifecycle.add_device(runtime.db, enrollment_id, body, now())
        runtime.wake_senders()
        return {"deviceId": device_id, "syncRequestId": sync_id}

    @router.post("/devices/{device_id}/replace", status_code=201,
                 summary="Replace a device with another on the same enrollment (syncs to DERMS)")
    def replace(device_id: str, body: wire.Asset) -> dict[str, str]:
        new_id, sync_id = lifecycle.replace_device(runtime.db, device_id, body, now())
        runtime.wake_senders()
        return {"replacedDeviceId": device_id, "deviceId": new_id, "syncRequestId": sync_id}

    @router.get("/devices", summary="Controllable devices")
    def list_devices(registration: str | None = None, status: str | None = None,
                     limit: int = 200) -> list[dict[str, Any]]:
        return queries.devices(runtime.db, registration, status, min(limit, 5000))

    @router.post("/devices/{device_id}/status-checks", status_code=201,
                 summary="Ask DERMS for the device's latest communication status (troubleshooting)")
    def check(device_id: str, request: Request) -> dict[str, str]:
        requested_by = str(getattr(request.state, "principal", "operator"))
        actor = request.headers.get("x-derbridge-actor")
        who = f"{requested_by} ({actor})" if actor else requested_by
        communication_id = lifecycle.check_device(runtime.db, device_id, who, now(), timeout_s)
        runtime.wake_senders()
        return {"communicationId": communication_id}

    @router.get("/status-checks/{communication_id}", summary="One status check and its result")
    def one_status_check(communication_id: str) -> dict[str, Any]:
        found = queries.status_check(runtime.db, communication_id)
        if found is None:
            raise NotFound("status check", communication_id)
        return found

    return router

