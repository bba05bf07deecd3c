"""Program events over HTTP: the vendor's cross-system calls the hub makes (F8 create and lifecycle, F9 reserve
device, F10 pre-event cancellation), and the agents' view of events and their participations."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from derbridge.clock import utcnow
from derbridge.dacs.events import participations, program_events
from derbridge.dacs.events.wire import LifecycleIn, PreEventCancellationIn, ProgramEventIn, ReserveDeviceIn
from derbridge.errors import DerbridgeError
from derbridge.runtime.group_commit import GroupCommit
from derbridge.runtime.system import Runtime
from derbridge.web.batch import Answer, add_single_and_batch
from derbridge.web.problems import RejectionKeeper

PROGRAM_EVENT = "/rest/apis/cross/service/programEvent/"
LIFECYCLE = "/rest/apis/cross/service/programEvent/lifecycle"
RESERVE_DEVICE = "/rest/apis/cross/service/programEventParticipation/reserveDevice"
PRE_EVENT_CANCELLATION = "/rest/apis/cross/service/programEventParticipation/preEventCancellation"
RESERVE_DEVICE_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": ReserveDeviceIn.model_json_schema()}}}}


def cross_router(runtime: Runtime, keep_rejected: RejectionKeeper) -> APIRouter:
    router = APIRouter(tags=["cross-system"])

    def create(body: ProgramEventIn) -> Answer:
        return Answer(200, program_events.create(runtime.db, body, utcnow()))

    def lifecycle(body: LifecycleIn) -> Answer:
        return Answer(200, program_events.change_status(runtime.db, body, utcnow()))

    def cancellation(body: PreEventCancellationIn) -> Answer:
        return Answer(200, program_events.cancel_before_start(runtime.db, body, utcnow()))

    add_single_and_batch(router, PROGRAM_EVENT, ProgramEventIn, create, keep_rejected, status_code=200,
                         summary="Create a program event: one stage of a DERMS event (F8)")
    add_single_and_batch(router, LIFECYCLE, LifecycleIn, lifecycle, keep_rejected, status_code=200,
                         summary="A status change of a DERMS event's program events (F8; F1CN also F10)")
    add_single_and_batch(router, PRE_EVENT_CANCELLATION, PreEventCancellationIn, cancellation, keep_rejected,
                         status_code=200, summary="Cancel an event before its start (F10, older releases)")

    together: GroupCommit[ReserveDeviceIn, participations.Answer] = GroupCommit(
        lambda bodies: participations.reserve_many(runtime.db, bodies, utcnow()))

    def reserve(body: ReserveDeviceIn) -> dict[str, Any]:
        """Calls arriving together (a list's chunks are sent concurrently) are written in one transaction."""
        answer = together.submit(body)
        if isinstance(answer, DerbridgeError):
            raise answer
        return answer

    @router.post(RESERVE_DEVICE, summary="Reserve devices for an upcoming event (F9; the event created if missing)",
                 openapi_extra=RESERVE_DEVICE_BODY)
    async def reserve_device(request: Request) -> dict[str, Any]:
        """The body is read straight into its model: thousands of devices a call, validated in one pass."""
        try:
            body = ReserveDeviceIn.model_validate_json(await request.body())
        except ValidationError as exc:
            raise RequestValidationError(exc.errors()) from exc
        return await run_in_threadpool(reserve, body)

    return router


def agent_router(runtime: Runtime) -> APIRouter:
    router = APIRouter(prefix="/api/program-events", tags=["program events"])

    @router.get("", summary="DERMS events as program events, latest start first, with their participation")
    def list_events(status: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        return program_events.list_events(runtime.db, status, min(max(limit, 1), 5000))

    @router.get("/{event_id}", summary="One DERMS event: its program events (stages) and participation counts")
    def one_event(event_id: str) -> dict[str, Any]:
        return program_events.one_event(runtime.db, event_id)

    @router.get("/{event_id}/participations", summary="The event's participations, by device")
    def event_participations(event_id: str, limit: int = 200, offset: int = 0) -> list[dict[str, Any]]:
        return program_events.participations_of(runtime.db, event_id, min(max(limit, 1), 10_000), max(offset, 0))

    return router
