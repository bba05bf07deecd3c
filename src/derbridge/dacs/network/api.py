"""The program system's network-location endpoints (F1): the file the hub delivers, and the question an agent
asks: which transformer, feeder and substation served a service point on a given day."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError

from derbridge.clock import utcnow
from derbridge.config import Settings
from derbridge.dacs.network import queries as network
from derbridge.errors import FileRefused, NotFound
from derbridge.runtime.system import Runtime
from derbridge.tables.endpoint import take_table_file
from derbridge.tables.spec import FileFormat
from derbridge.web.problems import RejectionKeeper, field_errors
from derbridge.web.uploads import Upload

FILES_PREFIX = "/rest/files/"
"""Endpoints under it take files: new_app passes their bodies through to be streamed to disk."""
NETWORK_LOCATIONS_PATH = f"{FILES_PREFIX}networkLocations"


def network_file_router(runtime: Runtime, settings: Settings, keep_rejected: RejectionKeeper) -> APIRouter:
    router = APIRouter(tags=["cross-system"])
    files = settings.data_dir / "files" / "dacs"

    @router.put(NETWORK_LOCATIONS_PATH, summary="A network export from DERMS (F1): applied once, in order, "
                "all or nothing",
                responses={400: {"description": "Unreadable file"}, 413: {"description": "File too large"},
                           415: {"description": "Neither Parquet nor CSV"},
                           422: {"description": "Invalid file or parameters: each problem's column and rows"},
                           425: {"description": "The export it follows has not been applied yet: send it later"}})
    async def network_locations(request: Request) -> dict[str, Any]:
        def apply(upload: Upload, fmt: FileFormat) -> dict[str, Any]:
            from derbridge.dacs.network.apply import apply_export  # polars loads only when a file arrives

            return apply_export(runtime.db, _parameters(request), upload.path, fmt, upload.sha256)

        return await take_table_file(request, files, settings.max_upload_bytes, apply, keep_rejected)

    return router


def _parameters(request: Request) -> network.ExportParameters:
    try:
        return network.ExportParameters.model_validate(dict(request.query_params))
    except ValidationError as exc:
        errors = [{**error, "field": f"query.{error['field']}"} for error in field_errors(exc)]
        raise FileRefused(422, "Invalid parameters", "bad query parameters: "
                          + ", ".join(error["field"] for error in errors), errors) from exc


def network_location_router(runtime: Runtime) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["network locations"])

    @router.get("/service-points/{service_point_id}/network-location",
                summary="The transformer, feeder and substation serving a service point on a date (default: today)")
    def location_on(service_point_id: str, day: Annotated[date | None, Query(alias="date")] = None
                    ) -> dict[str, Any]:
        day = day or utcnow().date()
        found = network.location_on(runtime.db, service_point_id, day)
        if found is None:
            raise NotFound("network location", service_point_id, f"none on {day.isoformat()}")
        return {**found, "date": day.isoformat()}

    @router.get("/service-points/{service_point_id}/network-locations",
                summary="A service point's network locations, oldest first")
    def history(service_point_id: str) -> list[dict[str, Any]]:
        return network.history(runtime.db, service_point_id)

    @router.get("/network-exports", summary="The network exports applied, newest first")
    def exports(limit: int = 50) -> list[dict[str, Any]]:
        return network.exports(runtime.db, min(limit, 1000))

    return router
