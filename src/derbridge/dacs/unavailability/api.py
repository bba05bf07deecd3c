"""An agent's unavailability windows over HTTP (F13), under /api: add, edit, cancel, list."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from derbridge.clock import utcnow
from derbridge.dacs.unavailability import windows
from derbridge.runtime.system import Runtime
from derbridge.web.wire import UtcDateTime


class WindowIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    deviceId: str = Field(min_length=1, max_length=12)
    start: AwareDatetime
    end: AwareDatetime
    reason: str = Field(min_length=1, max_length=254)


class WindowChange(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    start: UtcDateTime | None = None
    end: UtcDateTime | None = None
    reason: str | None = Field(default=None, min_length=1, max_length=254)


def unavailability_router(runtime: Runtime) -> APIRouter:
    router = APIRouter(prefix="/api/unavailability", tags=["unavailability"])

    def synced(window: dict[str, Any]) -> dict[str, Any]:
        runtime.wake_senders()
        return window

    @router.post("", status_code=201, summary="Declare a device unavailable from start to end (F13); refused with "
                 "the program system's message 90035 where the program type does not allow it")
    def add(body: WindowIn) -> dict[str, Any]:
        return synced(windows.add(runtime.db, body.deviceId, body.start, body.end, body.reason, utcnow()))

    @router.put("/{unavailability_id}", summary="Change a window's start, end or reason: a new version")
    def edit(unavailability_id: str, body: WindowChange) -> dict[str, Any]:
        return synced(windows.edit(runtime.db, unavailability_id,
                                   windows.Change(body.start, body.end, body.reason), utcnow()))

    @router.delete("/{unavailability_id}", summary="Cancel a window: a new version, CANCELLED")
    def cancel(unavailability_id: str) -> dict[str, Any]:
        return synced(windows.cancel(runtime.db, unavailability_id, utcnow()))

    @router.get("", summary="Unavailability windows, by start")
    def list_windows(deviceId: str | None = None, status: str | None = None,  # noqa: N803 (query names)
                     limit: int = 200) -> list[dict[str, Any]]:
        return windows.list_windows(runtime.db, deviceId, status, min(limit, 5000))

    @router.get("/{unavailability_id}", summary="One window as it now stands")
    def get(unavailability_id: str) -> dict[str, Any]:
        return windows.get(runtime.db, unavailability_id)

    return router
