"""F4 over HTTP, DERMS's side: aggregators enroll their customers' devices in batches and follow them; the hub
posts back each batch's per-record results."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from derbridge.config import Settings
from derbridge.derms.acks import msg_ack
from derbridge.derms.enrollment import intake
from derbridge.derms.services import DermsServices
from derbridge.errors import NotFound
from derbridge.web.batch import Answer, add_single_and_batch
from derbridge.web.problems import RejectionKeeper, problem_response


def integration_router(services: DermsServices, keep_rejected: RejectionKeeper) -> APIRouter:
    """What the hub posts (credential `hub`): the results of enrollment requests."""
    router = APIRouter(tags=["integration"])
    runtime = services.runtime

    def receive_results(body: intake.EnrollmentResults) -> Answer:
        applied = intake.apply_results(runtime.db, body)
        return Answer(202 if applied else 200, msg_ack(body.batchId, "ACCEPTED" if applied else "DUPLICATE"))

    add_single_and_batch(router, "/enroll-to-dacs/results", intake.EnrollmentResults, receive_results,
                         keep_rejected, summary="Per-record results of an enrollment request (F4)")
    return router


def aggregator_router(services: DermsServices, settings: Settings, keep_rejected: RejectionKeeper) -> APIRouter:
    """What aggregators call (credential `aggregator`): enroll devices, follow their batches."""
    router = APIRouter(prefix="/api/aggregator", tags=["aggregator"])
    runtime = services.runtime

    @router.post("/enrollments", status_code=202, summary="Enroll devices: up to 1,000 records in one batch")
    async def submit(body: intake.EnrollmentBatch, request: Request) -> JSONResponse:
        errors = intake.batch_errors(body, services.head_ends.gateway.head_ends)
        if errors:
            await keep_rejected(request, request.scope.get("derbridge.body", b""), errors)
            return problem_response(422, "Invalid request", f"bad fields: {', '.join(e['field'] for e in errors)}",
                                    errors)
        batch, created = await run_in_threadpool(intake.submit, runtime.db, body, settings.derms_instance_id)
        if created:
            runtime.wake_senders()
        return JSONResponse(batch, status_code=202 if created else 200)

    @router.get("/enrollments", summary="Enrollment batches, newest first")
    def list_batches(status: Literal["SUBMITTED", "COMPLETE", "PARTIAL", "FAILED"] | None = None,
                     limit: int = 50) -> list[dict[str, Any]]:
        return intake.list_batches(runtime.db, status, min(max(limit, 1), 1000))

    @router.get("/enrollments/{batch_id}", summary="A batch: its status and each record's result")
    def batch(batch_id: str, results: bool = True) -> dict[str, Any]:
        found = intake.find(runtime.db, batch_id, with_records=results)
        if found is None:
            raise NotFound("enrollment batch", batch_id)
        return found

    return router
