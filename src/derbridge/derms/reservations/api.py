"""Reservations over HTTP: the what-if and the reservation itself for operators, the models they are planned
with, and the hub's ack of each device list (F9)."""

from __future__ import annotations

import tomllib
import zlib
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter
from fastapi import Path as PathParameter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from derbridge.clock import utcnow
from derbridge.config import ConfigError, Settings
from derbridge.derms.reservations import backfills, reserve
from derbridge.derms.reservations import models as reservation_models
from derbridge.errors import InvalidInput
from derbridge.runtime.system import Runtime
from derbridge.web.batch import Answer, add_single_and_batch
from derbridge.web.problems import RejectionKeeper

EventId = Annotated[str, PathParameter(min_length=1, max_length=40)]
ACK_PATH = "/reserveDeviceAck"
MAX_SEED = 2**31 - 1


def load_models(settings: Settings) -> reservation_models.Models:
    """The models the `reservation_models` TOML file describes, or the reference figures without one."""
    if not settings.reservation_models:
        return reservation_models.Models()
    path = Path(settings.reservation_models)
    try:
        return reservation_models.models_from(tomllib.loads(path.read_text()))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"reservation_models: cannot read {path}: {exc}") from exc
    except InvalidInput as exc:
        raise ConfigError(f"reservation_models {path}: {exc}") from exc


def seed_of(event_id: str) -> int:
    """The seed an event's reservation breaks ties with unless one is given: the same for the same event (a
    positive 32-bit integer, as every database stores one)."""
    return zlib.crc32(event_id.encode()) & MAX_SEED


class ReservationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dryRun: bool = False
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)
    limit: int = Field(default=100, ge=0, le=100_000)
    """Devices listed in a what-if answer."""


def operator_router(runtime: Runtime, settings: Settings, models: reservation_models.Models) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["reservations"])
    files = settings.data_dir / "derms-files"
    instance = settings.derms_instance_id

    @router.post("/events/{event_id}/reservation",
                 summary="Reserve devices for a scheduled event (or, with dryRun, what the engine would choose)")
    async def reserve_devices(event_id: EventId, body: ReservationRequest) -> dict[str, Any]:
        seed = seed_of(event_id) if body.seed is None else body.seed
        if body.dryRun:
            return await run_in_threadpool(reserve.what_if, runtime.db, event_id, utcnow(), models, seed, body.limit)
        reserved = await run_in_threadpool(reserve.reserve, runtime.db, event_id, utcnow(), models, seed, files,
                                           instance)
        runtime.wake_senders()
        return reserved

    @router.get("/events/{event_id}/reservation", summary="An event's reservation, its device lists and acks")
    def reservation(event_id: EventId, limit: int = 100) -> dict[str, Any]:
        return reserve.reservation_of(runtime.db, event_id, min(max(limit, 0), 100_000))

    @router.get("/events/{event_id}/reservation/changes",
                summary="A reservation's drops (who, why, what became of each) and the devices that replaced them")
    def reservation_changes(event_id: EventId, limit: int = 1000) -> dict[str, Any]:
        reserve.reservation_of(runtime.db, event_id, 0)  # NotFound without a reservation
        return backfills.changes_of(runtime.db, event_id, min(max(limit, 0), 100_000))

    @router.get("/reservations/models", summary="The expected-kW and network-load models reservations use")
    def planning_models() -> dict[str, Any]:
        return reservation_models.describe(models)

    return router


class AckResponse(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str | None = Field(default=None, max_length=200)
    value: str | None = Field(default=None, max_length=2000)
    responseCode: str = Field(max_length=20)


class AckResponses(BaseModel):
    model_config = ConfigDict(extra="ignore")
    response: list[AckResponse] = Field(default_factory=list, max_length=10_000)


class DeviceListAck(BaseModel):
    """The hub's ack of a device list, once the program system has taken (or refused) every chunk of it."""

    model_config = ConfigDict(extra="ignore")
    messageId: str = Field(min_length=1, max_length=60)
    eventId: str | None = Field(default=None, max_length=40)
    ackType: Literal["SUCCESS", "ERROR", "FAILURE"]
    whenISO: str | None = Field(default=None, max_length=40)
    responses: AckResponses = Field(default_factory=AckResponses)


def integration_router(runtime: Runtime, keep_rejected: RejectionKeeper) -> APIRouter:
    router = APIRouter(tags=["reservations"])

    def acknowledge(body: DeviceListAck) -> Answer:
        return Answer(200, reserve.record_ack(runtime.db, body.messageId, body.ackType, body.model_dump(), utcnow()))

    add_single_and_batch(router, ACK_PATH, DeviceListAck, acknowledge, keep_rejected,
                         summary="The hub's ack of a reservation device list (F9)", status_code=200)
    return router
