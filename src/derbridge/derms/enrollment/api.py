"""DERMS's endpoints about devices behind head ends: status checks (F6), aggregator enrollments (F4, with the
results the hub posts back), and the head ends themselves for operators."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from derbridge.config import Settings
from derbridge.derms.acks import msg_ack
from derbridge.derms.enrollment import intake as enrollments
from derbridge.derms.headend.service import NewDevice, OnlineChange, add_device, set_online
from derbridge.derms.services import DermsServices
from derbridge.derms.status_checks import checks as status_checks
from derbridge.web.batch import Answer, add_single_and_batch
from derbridge.web.problems import Problem, RejectionKeeper, problem_response


def hub_router(services: DermsServices, keep_rejected: RejectionKeeper) -> APIRouter:
    """What the hub posts (credential `hub`): status checks, and the results of enrollment requests."""
    router = APIRouter(tags=["integration"])
    runtime = services.runtime

    def receive_status_check(body: status_checks.StatusCheckMessage) -> Answer:
        recorded = status_checks.receive(runtime.db, body)
        if recorded:
            services.wake_status_checks()
        return Answer(202 if recorded else 200, msg_ack(body.dacsMessageId, "ACCEPTED" if recorded else "DUPLICATE"))

    add_single_and_batch(router, "/status_check", status_checks.StatusCheckMessage, receive_status_check,
                         keep_rejected, summary="Check a device's communication status (F6); the result follows")

    def receive_results(body: enrollments.EnrollmentResults) -> Answer:
        applied = enrollments.apply_results(runtime.db, body)
        return Answer(202 if applied else 200, msg_ack(body.batchId, "ACCEPTED" if applied else "DUPLICATE"))

    add_single_and_batch(router, "/enroll-to-dacs/results", enrollments.EnrollmentResults, receive_results,
                         keep_rejected, summary="Per-record results of an enrollment request (F4)")
    return router


def aggregator_router(services: DermsServices, settings: Settings, keep_rejected: RejectionKeeper) -> APIRouter:
    """What aggregators call (credential `aggregator`): enroll devices, follow their batches."""
    router = APIRouter(prefix="/api/aggregator", tags=["aggregator"])
    runtime = services.runtime

    @router.post("/enrollments", status_code=202, summary="Enroll devices: up to 1,000 records in one batch")
    async def submit(body: enrollments.EnrollmentBatch, request: Request) -> JSONResponse:
        errors = enrollments.batch_errors(body, services.head_ends.gateway.head_ends)
        if errors:
            await keep_rejected(request, request.scope.get("derbridge.body", b""), errors)
            return problem_response(422, "Invalid request", f"bad fields: {', '.join(e['field'] for e in errors)}",
                                    errors)
        batch, created = await run_in_threadpool(enrollments.submit, runtime.db, body, settings.derms_instance_id)
        if created:
            runtime.wake_senders()
        return JSONResponse(batch, status_code=202 if created else 200)

    @router.get("/enrollments", summary="Enrollment batches, newest first")
    def list_batches(status: Literal["SUBMITTED", "COMPLETE", "PARTIAL", "FAILED"] | None = None,
                     limit: int = 50) -> list[dict[str, Any]]:
        return enrollments.list_batches(runtime.db, status, min(max(limit, 1), 1000))

    @router.get("/enrollments/{batch_id}", summary="A batch: its status and each record's result")
    def batch(batch_id: str, results: bool = True) -> dict[str, Any]:
        found = enrollments.find(runtime.db, batch_id, with_records=results)
        if found is None:
            raise Problem(404, "Unknown batch", f"DERMS holds no enrollment batch {batch_id!r}")
        return found

    return router


def operator_router(services: DermsServices) -> APIRouter:
    """Status checks and head ends, for operators."""
    router = APIRouter(prefix="/api", tags=["operator"])
    runtime = services.runtime

    @router.get("/status-checks", summary="Device status checks, newest first")
    def list_checks(nicId: str | None = None, headEndSystem: str | None = None,  # noqa: N803 (query names)
                    status: Literal["NEW", "HELD", "ANSWERED"] | None = None, limit: int = 50) -> list[dict[str, Any]]:
        return status_checks.search(runtime.db, nic_id=nicId, head_end_system=headEndSystem, status=status,
                                    limit=min(max(limit, 1), 1000))

    @router.get("/status-checks/{dacs_message_id}", summary="One status check and its result")
    def check(dacs_message_id: str) -> dict[str, Any]:
        found = status_checks.find(runtime.db, dacs_message_id)
        if found is None:
            raise Problem(404, "Unknown status check", f"DERMS holds no status check {dacs_message_id!r}")
        return found

    @router.get("/headends", summary="DERMS's head-end systems, where each runs, and its fleet")
    def head_ends() -> list[dict[str, Any]]:
        return services.head_ends.describe()

    @router.post("/headends/{name}/devices", status_code=201, summary="Add a device to an in-process cloud")
    def add(name: str, body: NewDevice) -> dict[str, Any]:
        return add_device(cloud(name), body)

    @router.put("/headends/{name}/devices/{nic_id}/online",
                summary="Take a device of an in-process cloud on or off line now")
    def online(name: str, nic_id: str, body: OnlineChange) -> dict[str, Any]:
        return set_online(cloud(name), nic_id, body)

    def cloud(name: str) -> Any:
        try:
            return services.head_ends.cloud(name)
        except KeyError as exc:
            status = 409 if name in services.head_ends.remote else 404
            raise Problem(status, "No such in-process cloud", str(exc.args[0])) from exc

    return router
