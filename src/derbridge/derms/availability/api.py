"""Availability over HTTP, for operators: which devices may take part in a candidate event and why not, and the
premises kept out of events."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from fastapi.concurrency import run_in_threadpool

from derbridge.clock import utcnow
from derbridge.derms.availability import devices as device_availability
from derbridge.derms.availability import participation
from derbridge.runtime.system import Runtime


def operator_router(runtime: Runtime) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["availability"])

    @router.post("/availability", summary="Availability of devices, or of a program's fleet, for an event")
    async def availability(body: device_availability.AvailabilityRequest) -> dict[str, Any]:
        now = body.now or utcnow()
        judged = await run_in_threadpool(device_availability.evaluate, runtime.db, body, now)
        return device_availability.answer(body, judged, now)

    @router.put("/sensitive-premises/{cis_premise_id}",
                summary="Mark a premise as having life-support or sensitive-load equipment")
    def mark_sensitive(cis_premise_id: Annotated[str, Path(min_length=1, max_length=30)],
                       body: participation.SensitivePremise) -> dict[str, str]:
        return participation.mark_sensitive(runtime.db, cis_premise_id, body)

    @router.delete("/sensitive-premises/{cis_premise_id}", status_code=204, summary="Clear a premise's mark")
    def unmark_sensitive(cis_premise_id: str) -> Response:
        participation.unmark_sensitive(runtime.db, cis_premise_id)
        return Response(status_code=204)

    return router
