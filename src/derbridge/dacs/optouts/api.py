"""An agent's opt-outs over HTTP (F12), under /api: record one for a reserved device, list them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from derbridge.clock import utcnow
from derbridge.dacs.optouts import optouts
from derbridge.runtime.system import Runtime


class OptOutIn(BaseModel):
    """The event and the device: its id, or its head end and NIC id."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    eventExternalIdentifier: str = Field(min_length=1, max_length=60)
    deviceId: str | None = Field(default=None, min_length=1, max_length=12)
    headEndSystem: str | None = Field(default=None, min_length=1, max_length=50)
    nicId: str | None = Field(default=None, min_length=1, max_length=100)

    @model_validator(mode="after")
    def one_device(self) -> OptOutIn:
        if (self.deviceId is None) == (self.headEndSystem is None or self.nicId is None):
            raise ValueError("name the device by deviceId, or by headEndSystem and nicId")
        return self


def optout_router(runtime: Runtime) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["opt-outs"])

    def answer(request: optouts.OptOut) -> JSONResponse:
        new, participation = optouts.record(runtime.db, request, utcnow())
        if new:
            runtime.wake_senders()
        return JSONResponse({**participation, "result": "recorded" if new else "already opted out"},
                            status_code=201 if new else 200)

    @router.post("/participations/opt-outs", status_code=201, summary="Opt a reserved device out of an upcoming "
                 "event (F12): refused with the program system's message 90031–90034 naming the condition")
    def opt_out(body: OptOutIn) -> JSONResponse:
        return answer(optouts.OptOut(body.eventExternalIdentifier, body.deviceId, body.headEndSystem, body.nicId))

    @router.post("/events/{event_id}/devices/{device_id}/opt-out", status_code=201,
                 summary="Opt a reserved device out of an upcoming event (F12), the device by its id")
    def opt_out_device(event_id: str, device_id: str) -> JSONResponse:
        return answer(optouts.OptOut(event_id, device_id))

    @router.get("/participations/opt-outs", summary="Opt-outs recorded, newest first")
    def list_opt_outs(eventExternalIdentifier: str | None = None,  # noqa: N803 (query name)
                      limit: int = 200) -> list[dict[str, Any]]:
        return optouts.list_opt_outs(runtime.db, eventExternalIdentifier, min(limit, 5000))

    return router
