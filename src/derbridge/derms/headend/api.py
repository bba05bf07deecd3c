"""DERMS's head ends for operators: where each runs, its fleet, and devices added to or taken off line in the
clouds DERMS simulates in its own process (a cloud in its own process has its own API: headend/service.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from derbridge.derms.headend.service import NewDevice, OnlineChange, add_device, set_online
from derbridge.derms.headend.simulator import SimulatedCloud
from derbridge.derms.services import DermsServices
from derbridge.errors import Conflict, NotFound


def operator_router(services: DermsServices) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["operator"])

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

    def cloud(name: str) -> SimulatedCloud:
        try:
            return services.head_ends.cloud(name)
        except KeyError as exc:
            if name in services.head_ends.remote:
                raise Conflict(str(exc.args[0])) from exc
            raise NotFound("in-process cloud", name) from exc

    return router
