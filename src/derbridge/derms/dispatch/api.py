"""An event's dispatch over HTTP, for operators: its performance per stage and feeder (so far, while it runs),
and its devices' outcomes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from fastapi.concurrency import run_in_threadpool

from derbridge.clock import utcnow
from derbridge.derms.dispatch import queries
from derbridge.derms.dispatch.live import live_performance
from derbridge.derms.services import DermsServices

EventId = Annotated[str, Path(min_length=1, max_length=40)]
Outcome = Literal["D1SP", "D1ND", "D1IO", "D1ER", "D1CN"]


def operator_router(services: DermsServices) -> APIRouter:
    router = APIRouter(prefix="/api/events", tags=["events"])
    runtime = services.runtime

    @router.get("/{event_id}/performance",
                summary="Target, reserved, dispatched and delivered kW per stage and feeder, and outcome counts; "
                        "live=true: delivered so far, from the head ends' telemetry read now, until the outcomes "
                        "are worked out")
    async def performance(event_id: EventId, live: bool = False) -> dict[str, Any]:
        def measure() -> dict[str, Any]:
            so_far = live_performance(runtime.db, services.gateway, event_id, utcnow()) if live else None
            return queries.performance(runtime.db, event_id, so_far)

        return await run_in_threadpool(measure)

    @router.get("/{event_id}/outcomes", summary="Each device's outcome of the event, as sent to the program system")
    async def outcomes(event_id: EventId, outcome: Outcome | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        return await run_in_threadpool(queries.outcomes_of, runtime.db, event_id, outcome, min(max(limit, 1), 100_000))

    return router
