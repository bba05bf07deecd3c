"""DERMS's operator API for the electrical network: import the network tables, move service points and
transformers, look at a service point's connections, export network locations to the program system (F1)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from derbridge.clock import utcnow
from derbridge.config import Settings
from derbridge.derms.network import model as network
from derbridge.errors import NotFound
from derbridge.runtime.system import Runtime
from derbridge.tables.endpoint import take_table_file
from derbridge.tables.spec import FileFormat
from derbridge.web.problems import RejectionKeeper
from derbridge.web.uploads import Upload

PREFIX = "/api/network"
IMPORT_PREFIX = f"{PREFIX}/import/"
"""Import endpoints take files: new_app passes their bodies through to be streamed to disk."""
TABLES = ("substations", "feeders", "transformers", "service_point_locations")
"""What `PUT /api/network/import/{table}` takes, in the order to import them."""
ID = Field(min_length=1, max_length=30)


class ServicePointMove(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    transformerId: str = ID
    effectiveDate: date


class TransformerMove(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    feederId: str = ID
    effectiveDate: date


class ExportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    exportType: Literal["full", "delta"]
    asOf: date | None = None
    """Default: today (UTC). A full export holds the records in effect on or after this date."""
    newChain: bool = False
    """Follow no earlier export (the program system applies it at once), e.g. after its database was replaced."""


def network_router(runtime: Runtime, settings: Settings, keep_rejected: RejectionKeeper) -> APIRouter:
    router = APIRouter(prefix=PREFIX, tags=["network"])
    files = settings.data_dir / "files" / "derms"

    @router.put("/import/{table}", summary="Import one network table file (Parquet or CSV body), all or nothing",
                responses={400: {"description": "Unreadable file"}, 413: {"description": "File too large"},
                           415: {"description": "Neither Parquet nor CSV"},
                           422: {"description": "Invalid file: each problem's column, rows and count"}})
    async def import_table(table: str, request: Request) -> dict[str, Any]:
        if table not in TABLES:
            raise NotFound("network table", table, f"import {', '.join(TABLES)}")

        def apply(upload: Upload, fmt: FileFormat) -> dict[str, Any]:
            from derbridge.derms.network.files import import_file  # polars loads only when a file arrives

            return {**import_file(runtime.db, table, upload.path, fmt), "sha256": upload.sha256}

        return await take_table_file(request, files, settings.max_upload_bytes, apply, keep_rejected)

    @router.get("", summary="How big the network model is, and its last change")
    def summary() -> dict[str, Any]:
        return network.summary(runtime.db)

    @router.get("/service-points/{service_point_id}", summary="A service point's connections, oldest first")
    def connections(service_point_id: str) -> dict[str, Any]:
        return {"servicePointId": service_point_id,
                "connections": network.connections_of(runtime.db, service_point_id)}

    @router.post("/service-points/{service_point_id}/moves", summary="Connect a service point to another "
                 "transformer from a date")
    def move_service_point(service_point_id: str, body: ServicePointMove) -> dict[str, Any]:
        return network.move_service_point(runtime.db, service_point_id, body.transformerId, body.effectiveDate)

    @router.post("/transformers/{transformer_id}/moves", summary="Move a transformer to another feeder from a "
                 "date (its service points follow)")
    def move_transformer(transformer_id: str, body: TransformerMove) -> dict[str, Any]:
        return network.move_transformer(runtime.db, transformer_id, body.feederId, body.effectiveDate)

    @router.post("/exports", status_code=201, summary="Export network locations to the program system (F1)")
    async def export(body: ExportRequest) -> dict[str, Any]:
        from derbridge.derms.network.files import create_export

        as_of = body.asOf or utcnow().date()
        return await run_in_threadpool(create_export, runtime.db, files / "exports", body.exportType, as_of,
                                       body.newChain, runtime.wake_senders)

    @router.get("/exports", summary="Network exports, newest first, with their delivery to the hub")
    def exports(limit: int = 50) -> list[dict[str, Any]]:
        return network.exports(runtime.db, min(limit, 1000))

    return router

