"""A simulated aggregator cloud as a web service: what DERMS's gateway asks it, and what an operator does to it.

The gateway's questions take a list of NIC ids and answer one entry per device, in order:

    POST /gateway/status      {"nicIds": [...]} → {"headEndSystem", "reportingLagS", "devices": [{nicId, known,
                                                    online, lastSeenISO, message}]}
    POST /gateway/register    {"nicIds": [...]} → {"headEndSystem", "devices": [{nicId, registered, ok, message}]}
    POST /gateway/deregister  {"nicIds": [...]} → the same
    POST /gateway/dispatch    {"eventId", "stageId", "startISO", "endISO", "devices": [{nicId, kw}]}
                              → {"headEndSystem", "devices": [{nicId, result, message}]}; the stage id keys it
    POST /gateway/telemetry   {"nicIds": [...], "startISO", "endISO"} → {"headEndSystem", "intervalMinutes": 15,
                              "nicId": [...], "intervalStartISO": [...], "kw": [...], "state": [...]}: one entry
                              per quarter hour a device reported, as columns

`reportingLagS` is how stale the cloud's statuses are: DERMS holds a status that long before it acts on it.
An operator sees the fleet (`GET /fleet`), adds a device (`POST /fleet/devices`) and takes one on or off line
(`PUT /fleet/devices/{nicId}/online`). DERMS runs the same clouds in its own process by default and offers the
same operator actions under `/api/headends/{name}` (derms/headend/api.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from pydantic import BaseModel, ConfigDict, Field

from derbridge.clock import as_utc, clock_for, iso_z, use_clock, utcnow
from derbridge.config import Settings
from derbridge.derms.headend.model import DeviceStatus, DispatchOrder, Registration
from derbridge.derms.headend.simulator import FleetDevice, SimulatedCloud
from derbridge.errors import NotFound
from derbridge.web.apps import health_and_metrics, new_app
from derbridge.web.auth import require
from derbridge.web.wire import UtcDateTime

MAX_DEVICES_PER_REQUEST = 10_000
NicId = Field(min_length=1, max_length=100)


class DeviceList(BaseModel):
    """The devices a gateway question is about."""

    model_config = ConfigDict(extra="forbid")
    nicIds: list[str] = Field(min_length=1, max_length=MAX_DEVICES_PER_REQUEST)


class DispatchDevice(BaseModel):
    model_config = ConfigDict(extra="forbid")
    nicId: str = NicId
    kw: float = Field(ge=0)


class DispatchIn(BaseModel):
    """A dispatch order for one stage of an event, for a list of devices."""

    model_config = ConfigDict(extra="forbid")
    eventId: str = Field(min_length=1, max_length=40)
    stageId: str = Field(min_length=1, max_length=60)
    startISO: UtcDateTime
    endISO: UtcDateTime
    devices: list[DispatchDevice] = Field(min_length=1, max_length=MAX_DEVICES_PER_REQUEST)


class EndDispatchIn(BaseModel):
    """An event cancelled while in progress: its orders end at `atISO`."""

    model_config = ConfigDict(extra="forbid")
    eventId: str = Field(min_length=1, max_length=40)
    atISO: UtcDateTime


class TelemetryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    nicIds: list[str] = Field(min_length=1, max_length=MAX_DEVICES_PER_REQUEST)
    startISO: UtcDateTime
    endISO: UtcDateTime


class NewDevice(BaseModel):
    """A device joining the fleet (a customer connects a thermostat to the aggregator's app)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    nicId: str = NicId
    serialNo: str = Field(min_length=1, max_length=60)
    make: str = Field(min_length=1, max_length=30)
    model: str = Field(min_length=1, max_length=30)
    firmware: str = Field(default="1.0.0", max_length=30)
    online: bool = True
    deviceType: str = Field(default="SMART-THERMOSTAT", max_length=30)
    """The kind of device, for its load and what it can shed (behaviour.py)."""
    lastSeenISO: UtcDateTime | None = None
    """When the device last reported; now if not given."""


class OnlineChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    online: bool


# ---- the gateway's wire format, both ways ----


def status_json(status: DeviceStatus) -> dict[str, Any]:
    return {"nicId": status.nic_id, "known": status.known, "online": status.online,
            "lastSeenISO": iso_z(status.last_seen), "message": status.message}


def status_from_json(item: dict[str, Any]) -> DeviceStatus:
    seen = item.get("lastSeenISO")
    return DeviceStatus(str(item["nicId"]), bool(item["known"]), bool(item["online"]),
                        as_utc(datetime.fromisoformat(seen)) if seen else None, str(item.get("message") or ""))


def registration_json(registration: Registration) -> dict[str, Any]:
    return {"nicId": registration.nic_id, "registered": registration.registered, "ok": registration.ok,
            "message": registration.message}


def registration_from_json(item: dict[str, Any]) -> Registration:
    return Registration(str(item["nicId"]), bool(item["registered"]), bool(item["ok"]), str(item.get("message") or ""))


# ---- operator actions, shared with DERMS's in-process clouds ----

def add_device(cloud: SimulatedCloud, device: NewDevice) -> dict[str, Any]:
    last_seen = as_utc(device.lastSeenISO) if device.lastSeenISO else utcnow()
    cloud.add_device(FleetDevice(device.nicId, device.serialNo, device.make, device.model, device.firmware,
                                 device.online, last_seen, device.deviceType))
    return {"headEndSystem": cloud.name, **device.model_dump(mode="json"), "lastSeenISO": iso_z(last_seen)}


def set_online(cloud: SimulatedCloud, nic_id: str, change: OnlineChange) -> dict[str, Any]:
    try:
        cloud.set_online(nic_id, change.online)
    except KeyError as exc:
        raise NotFound("device", f"{cloud.name}/{nic_id}") from exc
    return {"headEndSystem": cloud.name, "nicId": nic_id, "online": change.online}


# ---- the cloud's own process ----

def create_app(cloud: SimulatedCloud, settings: Settings) -> FastAPI:
    """The cloud's API: DERMS's gateway (credential `derms`) and operators (credential `operator`)."""
    use_clock(clock_for(settings.clock_file))
    app, authenticator = new_app("headend", settings, None, None,
                                 f"Simulated aggregator cloud {cloud.name} (a head-end system behind DERMS).")
    app.title = f"derbridge head end {cloud.name}"
    app.include_router(gateway_router(cloud), dependencies=[Depends(require(authenticator, {"derms", "operator"}))])
    app.include_router(fleet_router(cloud), dependencies=[Depends(require(authenticator, {"operator"}))])
    app.include_router(health_and_metrics(authenticator, f"headend {cloud.name}", None))
    return app


def gateway_router(cloud: SimulatedCloud) -> APIRouter:
    router = APIRouter(prefix="/gateway", tags=["gateway"])

    @router.post("/status", summary="Latest communication status of each device")
    def status(body: DeviceList) -> dict[str, Any]:
        answers = cloud.latest_status(body.nicIds)
        return {"headEndSystem": cloud.name, "reportingLagS": cloud.reporting_lag_s,
                "devices": [status_json(answer) for answer in answers]}

    @router.post("/register", summary="Register each device for the utility")
    def register(body: DeviceList) -> dict[str, Any]:
        return {"headEndSystem": cloud.name,
                "devices": [registration_json(answer) for answer in cloud.register(body.nicIds)]}

    @router.post("/deregister", summary="Deregister each device")
    def deregister(body: DeviceList) -> dict[str, Any]:
        return {"headEndSystem": cloud.name,
                "devices": [registration_json(answer) for answer in cloud.deregister(body.nicIds)]}

    @router.post("/dispatch", summary="Pass a stage's dispatch order to each device")
    def dispatch(body: DispatchIn) -> dict[str, Any]:
        order = DispatchOrder(body.eventId, body.stageId, as_utc(body.startISO), as_utc(body.endISO))
        import polars as pl

        devices = pl.DataFrame({"nic_id": [d.nicId for d in body.devices], "kw": [d.kw for d in body.devices]},
                               schema={"nic_id": pl.String, "kw": pl.Float64})
        answers = cloud.dispatch(order, devices)
        return {"headEndSystem": cloud.name,
                "devices": answers.select(nicId="nic_id", result="result", message="message").to_dicts()}

    @router.post("/end-dispatch", summary="End an event's orders early (the event was cancelled in progress)")
    def end_dispatch(body: EndDispatchIn) -> dict[str, Any]:
        cloud.end_dispatch(body.eventId, as_utc(body.atISO))
        return {"headEndSystem": cloud.name, "eventId": body.eventId, "endedISO": iso_z(as_utc(body.atISO))}

    @router.post("/telemetry", summary="Each device's kW and state per quarter hour, as columns")
    def telemetry(body: TelemetryIn) -> dict[str, Any]:
        frame = cloud.telemetry(body.nicIds, as_utc(body.startISO), as_utc(body.endISO))
        return {"headEndSystem": cloud.name, "intervalMinutes": 15, "nicId": frame["nic_id"].to_list(),
                "intervalStartISO": [iso_z(moment) for moment in frame["interval_start"].to_list()],
                "kw": [round(kw, 4) for kw in frame["kw"].to_list()], "state": frame["state"].to_list()}

    return router


def fleet_router(cloud: SimulatedCloud) -> APIRouter:
    router = APIRouter(prefix="/fleet", tags=["operator"])

    @router.get("", summary="Fleet statistics and the cloud's profile")
    def statistics() -> dict[str, Any]:
        return cloud.statistics()

    @router.post("/devices", status_code=201, summary="Add a device to the fleet")
    def add(body: NewDevice) -> dict[str, Any]:
        return add_device(cloud, body)

    @router.put("/devices/{nic_id}/online", summary="Take a device on or off line now")
    def online(nic_id: str, body: OnlineChange) -> dict[str, Any]:
        return set_online(cloud, nic_id, body)

    return router
