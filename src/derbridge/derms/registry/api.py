"""DERMS's device registry over HTTP: enrollment syncs from the hub (F5), the bulk initial sync file, and the
operator's views of subscriptions, devices, syncs and bulk syncs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from derbridge.config import Settings
from derbridge.derms.acks import msg_ack
from derbridge.derms.registry import bulk_sync, enrollment_sync
from derbridge.derms.registry import records as registry
from derbridge.derms.services import DermsServices
from derbridge.errors import FileRefused, InvalidInput, NotFound
from derbridge.store.db import reading
from derbridge.web.batch import Answer, add_single_and_batch_at_once
from derbridge.web.problems import RejectionKeeper
from derbridge.web.uploads import receive_upload

FILES_PREFIX = "/files/"
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0)]


def integration_router(services: DermsServices, settings: Settings, keep_rejected: RejectionKeeper) -> APIRouter:
    router = APIRouter(tags=["integration"])
    runtime = services.runtime

    def receive_enrollments(messages: list[enrollment_sync.EnrollMessage]) -> list[Answer]:
        fresh = enrollment_sync.receive(runtime.db, messages)
        if any(fresh):
            services.wake_registrations()
            runtime.wake_senders()
        return [Answer(202, msg_ack(message.dacsMessageId, "ACCEPTED")) if new
                else Answer(200, msg_ack(message.dacsMessageId, "DUPLICATE"))
                for message, new in zip(messages, fresh, strict=True)]

    add_single_and_batch_at_once(router, "/enroll", enrollment_sync.EnrollMessage, receive_enrollments, keep_rejected,
                                 summary="Enrollment sync: a subscription, its location, devices and groups (F5)")

    @router.put("/files/enroll-sync", status_code=202,
                summary="Bulk initial sync of enrolled devices: a Parquet or CSV file, applied in the background")
    async def receive_enroll_sync(
            request: Request,
            bulkSyncId: Annotated[str, Query(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9._-]+$")],  # noqa: N803
    ) -> JSONResponse:
        upload = await receive_upload(request, services.files_dir / "incoming", settings.max_upload_bytes)
        try:
            created, job = await run_in_threadpool(bulk_sync.accept, runtime.db, services.files_dir, bulkSyncId,
                                                   upload.path, upload.sha256)
        except FileRefused as refused:
            kept = services.files_dir / "rejected" / f"{bulkSyncId}-{upload.sha256[:12]}"
            kept.parent.mkdir(parents=True, exist_ok=True)
            upload.path.replace(kept)
            described = f"file {kept} ({upload.size} bytes, sha256 {upload.sha256})"
            await keep_rejected(request, described.encode(), refused.errors)
            raise
        finally:
            upload.path.unlink(missing_ok=True)  # kept, refused or failed: nothing stays in incoming/
        if created:
            services.wake_bulk_syncs()
        return JSONResponse(job, status_code=202 if created else 200)

    return router


def operator_router(services: DermsServices) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["operator"])
    runtime = services.runtime

    @router.get("/subscriptions", summary="Program subscriptions in the registry, by id (paged)")
    def list_subscriptions(status: str | None = None, limit: Limit = 100, offset: Offset = 0) -> list[dict[str, Any]]:
        with reading(runtime.db) as connection:
            return registry.list_subscriptions(connection, status=status, limit=limit, offset=offset)

    @router.get("/devices", summary="Devices in the registry, by head end and NIC id (paged)")
    def list_devices(headEndSystem: str | None = None, registration: str | None = None,  # noqa: N803
                     active: bool | None = None, limit: Limit = 100, offset: Offset = 0) -> list[dict[str, Any]]:
        try:
            with reading(runtime.db) as connection:
                return registry.list_devices(connection, head_end_system=headEndSystem, registration=registration,
                                             active=active, limit=limit, offset=offset)
        except ValueError as exc:
            raise InvalidInput({"registration": str(exc)}) from exc

    @router.get("/devices/counts", summary="Devices per head end, registration and active flag")
    def device_counts() -> list[dict[str, Any]]:
        with reading(runtime.db) as connection:
            return registry.registration_counts(connection)

    @router.get("/devices/models", summary="Each specification and device type in the registry, with its devices")
    def device_models() -> list[dict[str, Any]]:
        with reading(runtime.db) as connection:
            return registry.device_models(connection)

    @router.get("/devices/{headEndSystem}/{nicId}", summary="One device, with its subscription's device groups")
    def one_device(headEndSystem: str, nicId: str) -> dict[str, Any]:  # noqa: N803
        with reading(runtime.db) as connection:
            found = registry.one_device(connection, headEndSystem, nicId)
        if found is None:
            raise NotFound("device", f"{headEndSystem}/{nicId}")
        return found

    @router.get("/enrollment-syncs", summary="Enrollment syncs received, newest first")
    def list_enrollment_syncs(state: str | None = None, limit: Limit = 100) -> list[dict[str, Any]]:
        with reading(runtime.db) as connection:
            return enrollment_sync.list_syncs(connection, state=state, limit=limit)

    @router.get("/bulk-syncs", summary="Bulk initial syncs, newest first, with their progress")
    def list_bulk_syncs(limit: Limit = 100) -> list[dict[str, Any]]:
        return bulk_sync.list_all(runtime.db, limit)

    @router.get("/bulk-syncs/{bulkSyncId}", summary="One bulk initial sync and its progress")
    def one_bulk_sync(bulkSyncId: str) -> dict[str, Any]:  # noqa: N803
        found = bulk_sync.find(runtime.db, bulkSyncId)
        if found is None:
            raise NotFound("bulk sync", bulkSyncId)
        return found

    return router
