"""The program system's endpoints for enrollments migrated in bulk: an operator loads the legacy extract and
starts its initial sync; the hub delivers DERMS's ack file."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool

from derbridge.config import Settings
from derbridge.dacs.network.api import FILES_PREFIX
from derbridge.errors import NotFound
from derbridge.runtime.system import Runtime
from derbridge.tables.endpoint import take_table_file
from derbridge.tables.spec import FileFormat
from derbridge.web.problems import RejectionKeeper
from derbridge.web.uploads import Upload

LEGACY_PREFIX = "/api/legacy/"
"""Endpoints under it take files: new_app passes their bodies through to be streamed to disk."""
BulkSyncId = Annotated[str, Query(min_length=1, max_length=14, pattern=r"^[0-9]+$")]


def legacy_router(runtime: Runtime, settings: Settings, keep_rejected: RejectionKeeper) -> APIRouter:
    """The operator's: load an extract, start its initial sync, follow the syncs."""
    router = APIRouter(tags=["legacy migration"])
    files = settings.data_dir / "files" / "dacs"

    @router.put(f"{LEGACY_PREFIX}enrolled-devices", summary="Load a legacy extract of enrolled devices (Parquet or "
                "CSV, checked whole, all or nothing)")
    async def enrolled_devices(request: Request) -> dict[str, Any]:
        who = str(getattr(request.state, "principal", "operator"))

        def apply(upload: Upload, fmt: FileFormat) -> dict[str, Any]:
            from derbridge.dacs.legacy import migration as legacy

            return legacy.import_file(runtime.db, upload.path, fmt, upload.sha256, who)

        return await take_table_file(request, files / "legacy", settings.max_upload_bytes, apply, keep_rejected)

    @router.get("/api/legacy/imports", summary="Legacy imports, newest first")
    def imports() -> list[dict[str, Any]]:
        from derbridge.dacs.legacy import migration as legacy

        return legacy.imports(runtime.db)

    @router.post("/api/legacy/imports/{import_id}/sync", status_code=202,
                 summary="Send every device of an import to DERMS in one file (the initial sync)")
    async def sync(import_id: str) -> dict[str, Any]:
        from derbridge.dacs.legacy import migration as legacy

        started = await run_in_threadpool(legacy.start_sync, runtime.db, import_id, files)
        runtime.wake_senders()
        return started

    @router.get("/api/legacy/bulk-syncs", summary="Initial syncs, newest first")
    def bulk_syncs() -> list[dict[str, Any]]:
        from derbridge.dacs.legacy import migration as legacy

        return legacy.bulk_sync_status(runtime.db)

    @router.get("/api/legacy/bulk-syncs/{bulk_sync_id}", summary="One initial sync")
    def bulk_sync(bulk_sync_id: str) -> dict[str, Any]:
        from derbridge.dacs.legacy import migration as legacy

        found = legacy.bulk_sync_status(runtime.db, bulk_sync_id)
        if not found:
            raise NotFound("bulk sync", bulk_sync_id)
        return found[0]

    return router


def ack_file_router(runtime: Runtime, settings: Settings, keep_rejected: RejectionKeeper) -> APIRouter:
    """The hub's: DERMS's ack of an initial sync, one row per device."""
    router = APIRouter(tags=["cross-system"])
    files = settings.data_dir / "files" / "dacs"

    @router.put(f"{FILES_PREFIX}enrollSyncAck", summary="DERMS's ack of an initial sync: each device's head-end "
                "registration (F5, bulk)")
    async def enroll_sync_ack(request: Request, bulkSyncId: BulkSyncId) -> dict[str, Any]:
        def apply(upload: Upload, fmt: FileFormat) -> dict[str, Any]:
            from derbridge.dacs.legacy import migration as legacy

            return legacy.apply_ack_file(runtime.db, bulkSyncId, upload.path, fmt)

        return await take_table_file(request, files / "acks", settings.max_upload_bytes, apply, keep_rejected)

    return router
