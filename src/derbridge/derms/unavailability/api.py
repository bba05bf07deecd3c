"""DERMS's unavailability endpoints: the F13 receiver the hub calls (/unavailability), and the operator's list."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from derbridge.clock import utcnow
from derbridge.derms.acks import msg_ack
from derbridge.derms.optouts.drops import DROPS_TASK
from derbridge.derms.unavailability import windows
from derbridge.runtime.system import Runtime
from derbridge.web.batch import Answer, add_single_and_batch
from derbridge.web.problems import RejectionKeeper
from derbridge.web.wire import UtcDateTime


class UnavailabilityMessage(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    unavailabilityId: str = Field(min_length=1, max_length=14)
    version: int = Field(ge=1)
    status: Literal["ACTIVE", "CANCELLED"]
    headEndSystem: str = Field(min_length=1, max_length=50)
    nicId: str = Field(min_length=1, max_length=100)
    startDateTimeISO: UtcDateTime
    endDateTimeISO: UtcDateTime
    reason: str = Field(default="", max_length=254)


def unavailability_integration_router(runtime: Runtime, keep_rejected: RejectionKeeper) -> APIRouter:
    router = APIRouter(tags=["integration"])

    def receive(body: UnavailabilityMessage) -> Answer:
        applied = windows.apply(runtime.db, windows.Window(
            body.unavailabilityId, body.version, body.status, body.headEndSystem, body.nicId, body.startDateTimeISO,
            body.endDateTimeISO, body.reason), utcnow())
        key = f"{body.unavailabilityId}:{body.version}"
        if applied and body.status == windows.ACTIVE:
            runtime.wake_task(DROPS_TASK)  # it may have left drops from reservations to backfill
        return Answer(202 if applied else 200, msg_ack(key, "ACCEPTED" if applied else "DUPLICATE"))

    add_single_and_batch(router, "/unavailability", UnavailabilityMessage, receive, keep_rejected,
                         summary="A customer's unavailability window, one version of it (F13): the newest is kept")
    return router


def unavailability_operator_router(runtime: Runtime) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["unavailability"])

    @router.get("/unavailability", summary="Declared unavailability windows, at the newest version received")
    def list_windows(headEndSystem: str | None = None, nicId: str | None = None,  # noqa: N803 (query names)
                     limit: int = 200) -> list[dict[str, Any]]:
        return windows.list_windows(runtime.db, headEndSystem, nicId, min(limit, 5000))

    return router
