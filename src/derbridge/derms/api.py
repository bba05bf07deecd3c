"""DERMS's HTTP API: the documented paths the hub calls (/aggregator, /enroll, /status_check,
/enroll-to-dacs/results, …), the files it takes (/files/…), the aggregator API under /api/aggregator and the
operator API under /api."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from derbridge.config import Settings
from derbridge.derms.acks import msg_ack
from derbridge.derms.aggregators import service_providers as aggregators
from derbridge.derms.customers import cis
from derbridge.derms.enrollment import api as devices_api
from derbridge.derms.network.api import IMPORT_PREFIX, network_router
from derbridge.derms.programs.api import program_integration_router, program_operator_router
from derbridge.derms.registry import bulk_sync, enrollment_sync
from derbridge.derms.registry import records as registry
from derbridge.derms.schema import (
    file_imports,
    outbound_files,
    outbound_messages,
    rejected_requests,
    rejected_uploads,
)
from derbridge.derms.services import DermsServices
from derbridge.runtime.system import Outbox, Runtime
from derbridge.store.db import reading
from derbridge.store.rejections import rejection_keeper
from derbridge.tables.formats import FileRefused
from derbridge.tables.uploads import TableUploads, table_upload_router
from derbridge.web.apps import health_and_metrics, new_app
from derbridge.web.auth import require
from derbridge.web.batch import Answer, add_single_and_batch, add_single_and_batch_at_once
from derbridge.web.problems import Problem, RejectionKeeper
from derbridge.web.uploads import receive_upload

CIS_PREFIX = "/api/cis"
FILE_PATHS = ("/files/", f"{CIS_PREFIX}/", IMPORT_PREFIX)
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0)]


def create_app(settings: Settings) -> FastAPI:
    runtime = Runtime("derms", [Outbox(outbound_messages, lambda row: row.message_key)], files=outbound_files)
    services = DermsServices(runtime)
    keep_rejected = rejection_keeper(rejected_requests, lambda: runtime.db)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        """The runtime (database, outbox senders), then the head ends and the workers."""
        async with runtime.lifespan(settings)(app):
            await run_in_threadpool(services.open, settings)
            try:
                yield
            finally:
                await run_in_threadpool(services.close)

    app, authenticator = new_app("derms", settings, lifespan, keep_rejected, "Reference DERMS (Edge DERMS role).",
                                 file_paths=FILE_PATHS)
    app.state.services = services
    hub = Depends(require(authenticator, {"hub", "operator"}))
    operator = Depends(require(authenticator, {"operator"}))
    app.include_router(integration_router(runtime, services, keep_rejected), dependencies=[hub])
    app.include_router(devices_api.hub_router(services, keep_rejected), dependencies=[hub])
    app.include_router(file_router(runtime, services, settings, keep_rejected), dependencies=[hub])
    app.include_router(program_integration_router(runtime, msg_ack, keep_rejected), dependencies=[hub])
    app.include_router(devices_api.aggregator_router(services, settings, keep_rejected),
                       dependencies=[Depends(require(authenticator, {"aggregator", "operator"}))])
    app.include_router(operator_router(runtime), dependencies=[operator])
    app.include_router(devices_api.operator_router(services), dependencies=[operator])
    app.include_router(program_operator_router(runtime), dependencies=[operator])
    app.include_router(table_upload_router(cis_uploads(runtime, settings), CIS_PREFIX), dependencies=[operator])
    app.include_router(network_router(runtime, settings, keep_rejected), dependencies=[operator])
    app.include_router(health_and_metrics(authenticator, "derms", None))
    return app


def integration_router(runtime: Runtime, services: DermsServices, keep_rejected: RejectionKeeper) -> APIRouter:
    router = APIRouter(tags=["integration"])

    def receive_aggregator(body: aggregators.AggregatorMessage) -> Answer:
        applied = aggregators.apply(runtime.db, body)
        if applied:
            runtime.wake_senders()
        return Answer(202 if applied else 200, msg_ack(body.dacsMessageId, "ACCEPTED" if applied else "DUPLICATE"))

    add_single_and_batch(router, "/aggregator", aggregators.AggregatorMessage, receive_aggregator, keep_rejected,
                         summary="Create or update an energy aggregator (F3)")

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
    return router


def file_router(runtime: Runtime, services: DermsServices, settings: Settings,
                keep_rejected: RejectionKeeper) -> APIRouter:
    router = APIRouter(tags=["integration"])

    @router.put("/files/enroll-sync", status_code=202,
                summary="Bulk initial sync of enrolled devices: a Parquet or CSV file, applied in the background")
    async def receive_enroll_sync(
            request: Request,
            bulkSyncId: Annotated[str, Query(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9._-]+$")],
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
            raise Problem(422, refused.title, refused.detail, refused.errors) from refused
        finally:
            upload.path.unlink(missing_ok=True)  # kept, refused or failed: nothing stays in incoming/
        if created:
            services.wake_bulk_syncs()
        return JSONResponse(job, status_code=202 if created else 200)

    return router


def operator_router(runtime: Runtime) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["operator"])

    @router.get("/aggregators", summary="Aggregators known to DERMS")
    def list_aggregators() -> list[dict[str, Any]]:
        return aggregators.list_all(runtime.db)

    @router.get("/subscriptions", summary="Program subscriptions in the registry, by id (paged)")
    def list_subscriptions(status: str | None = None, limit: Limit = 100, offset: Offset = 0) -> list[dict[str, Any]]:
        with reading(runtime.db) as connection:
            return registry.list_subscriptions(connection, status=status, limit=limit, offset=offset)

    @router.get("/devices", summary="Devices in the registry, by head end and NIC id (paged)")
    def list_devices(headEndSystem: str | None = None, registration: str | None = None, active: bool | None = None,
                     limit: Limit = 100, offset: Offset = 0) -> list[dict[str, Any]]:
        try:
            with reading(runtime.db) as connection:
                return registry.list_devices(connection, head_end_system=headEndSystem, registration=registration,
                                             active=active, limit=limit, offset=offset)
        except ValueError as exc:
            raise Problem(422, "Invalid request", str(exc), [{"field": "registration", "message": str(exc),
                                                              "type": "not_allowed"}]) from exc

    @router.get("/devices/counts", summary="Devices per head end, registration and active flag")
    def device_counts() -> list[dict[str, Any]]:
        with reading(runtime.db) as connection:
            return registry.registration_counts(connection)

    @router.get("/devices/{headEndSystem}/{nicId}", summary="One device, with its subscription's device groups")
    def one_device(headEndSystem: str, nicId: str) -> dict[str, Any]:
        with reading(runtime.db) as connection:
            found = registry.one_device(connection, headEndSystem, nicId)
        if found is None:
            raise Problem(404, "Not found", f"no device {nicId} of {headEndSystem}")
        return found

    @router.get("/enrollment-syncs", summary="Enrollment syncs received, newest first")
    def list_enrollment_syncs(state: str | None = None, limit: Limit = 100) -> list[dict[str, Any]]:
        with reading(runtime.db) as connection:
            return enrollment_sync.list_syncs(connection, state=state, limit=limit)

    @router.get("/bulk-syncs", summary="Bulk initial syncs, newest first, with their progress")
    def list_bulk_syncs(limit: Limit = 100) -> list[dict[str, Any]]:
        return bulk_sync.list_all(runtime.db, limit)

    @router.get("/bulk-syncs/{bulkSyncId}", summary="One bulk initial sync and its progress")
    def one_bulk_sync(bulkSyncId: str) -> dict[str, Any]:
        found = bulk_sync.find(runtime.db, bulkSyncId)
        if found is None:
            raise Problem(404, "Not found", f"no bulk sync {bulkSyncId}")
        return found

    return router


def cis_uploads(runtime: Runtime, settings: Settings) -> TableUploads:
    """The CIS extract, one table file per request (see derms/customers/cis.py)."""
    return TableUploads("derms", cis.TABLES, file_imports, rejected_uploads, lambda: runtime.db,
                        settings.data_dir / "uploads" / "derms", settings.max_upload_bytes)
