"""Events over HTTP, for operators: create, list, show, approve, cancel."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool

from derbridge.clock import utcnow
from derbridge.config import Settings
from derbridge.derms.events import events
from derbridge.derms.events.events import OnCancel, OnStop
from derbridge.derms.events.lifecycle import Status
from derbridge.derms.events.wire import Approval, Cancellation, EventIn
from derbridge.runtime.system import Runtime

EventId = Annotated[str, Path(min_length=1, max_length=40)]


def who(request: Request) -> str:
    """The credential's user, and the person acting where the caller names one (X-Derbridge-Actor)."""
    principal = str(getattr(request.state, "principal", "operator"))
    actor = request.headers.get("x-derbridge-actor")
    return f"{principal} ({actor})"[:100] if actor else principal


def operator_router(runtime: Runtime, settings: Settings, on_cancel: OnCancel | None,
                    on_stop: OnStop | None) -> APIRouter:
    router = APIRouter(prefix="/api/events", tags=["events"])
    instance = settings.derms_instance_id

    @router.post("", status_code=201, summary="Create an event (scheduled at once unless it needs approval)")
    def create(body: EventIn, request: Request) -> dict[str, Any]:
        created = events.create(runtime.db, body, who(request), utcnow(), instance)
        runtime.wake_senders()
        return created

    @router.get("", summary="Events, latest start first")
    async def list_events(status: Status | None = None, limit: int = 200) -> list[dict[str, Any]]:
        return await run_in_threadpool(events.list_events, runtime.db, status, min(max(limit, 1), 5000))

    @router.get("/{event_id}", summary="One event with its stages and the history of its statuses")
    def one(event_id: EventId) -> dict[str, Any]:
        return events.get(runtime.db, event_id)

    @router.post("/{event_id}/approve", summary="Approve an event that waits for it: it is scheduled")
    def approve(event_id: EventId, body: Approval) -> dict[str, Any]:
        approved = events.approve(runtime.db, event_id, body.approvedBy, utcnow(), instance)
        runtime.wake_senders()
        return approved

    @router.post("/{event_id}/cancel", summary="Cancel an event before its end: before its start its devices are "
                 "released; once started its dispatch is stopped and its devices' outcome is D1CN")
    def cancel(event_id: EventId, body: Cancellation, request: Request) -> dict[str, Any]:
        cancelled = events.cancel(runtime.db, event_id, body.reason, who(request), utcnow(), instance, on_cancel,
                                  on_stop)
        runtime.wake_senders()
        return cancelled

    return router
