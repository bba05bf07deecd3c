"""DERMS's HTTP API: the documented paths the hub calls (/aggregator, /status_check, /enroll-to-dacs/results, …),
the aggregator API under /api/aggregator and the operator API under /api."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.concurrency import run_in_threadpool

from derbridge.config import Settings
from derbridge.derms import aggregators, devices_api
from derbridge.derms.acks import msg_ack
from derbridge.derms.programs_api import program_integration_router, program_operator_router
from derbridge.derms.schema import outbound_files, outbound_messages, rejected_requests
from derbridge.derms.services import DermsServices
from derbridge.store.rejections import rejection_keeper
from derbridge.store.runtime import Outbox, Runtime
from derbridge.web.apps import health_and_metrics, new_app
from derbridge.web.auth import require
from derbridge.web.batch import Answer, add_single_and_batch
from derbridge.web.problems import RejectionKeeper


def create_app(settings: Settings) -> FastAPI:
    runtime = Runtime("derms", [Outbox(outbound_messages, lambda row: row.message_key)], files=outbound_files)
    services = DermsServices(runtime)
    keep_rejected = rejection_keeper(rejected_requests, lambda: runtime.db)
    app, authenticator = new_app("derms", settings, lifespan(runtime, services, settings), keep_rejected,
                                 "Reference DERMS (Edge DERMS role).")
    hub = Depends(require(authenticator, {"hub", "operator"}))
    operator = Depends(require(authenticator, {"operator"}))
    app.include_router(integration_router(runtime, keep_rejected), dependencies=[hub])
    app.include_router(devices_api.hub_router(services, keep_rejected), dependencies=[hub])
    app.include_router(program_integration_router(runtime, msg_ack, keep_rejected), dependencies=[hub])
    app.include_router(devices_api.aggregator_router(services, settings, keep_rejected),
                       dependencies=[Depends(require(authenticator, {"aggregator", "operator"}))])
    app.include_router(operator_router(runtime), dependencies=[operator])
    app.include_router(devices_api.operator_router(services), dependencies=[operator])
    app.include_router(program_operator_router(runtime), dependencies=[operator])
    app.include_router(health_and_metrics(authenticator, "derms", None))
    return app


def lifespan(runtime: Runtime, services: DermsServices,
             settings: Settings) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The runtime (database, outbox sender), then the head ends and the status-check worker."""
    opened = runtime.lifespan(settings)

    @asynccontextmanager
    async def run(app: FastAPI) -> AsyncIterator[None]:
        async with opened(app):
            await run_in_threadpool(services.open, settings)
            try:
                yield
            finally:
                await run_in_threadpool(services.close)

    return run


def integration_router(runtime: Runtime, keep_rejected: RejectionKeeper) -> APIRouter:
    router = APIRouter(tags=["integration"])

    def receive_aggregator(body: aggregators.AggregatorMessage) -> Answer:
        applied = aggregators.apply(runtime.db, body)
        if applied:
            runtime.wake_senders()
        return Answer(202 if applied else 200, msg_ack(body.dacsMessageId, "ACCEPTED" if applied else "DUPLICATE"))

    add_single_and_batch(router, "/aggregator", aggregators.AggregatorMessage, receive_aggregator, keep_rejected,
                         summary="Create or update an energy aggregator (F3)")
    return router


def operator_router(runtime: Runtime) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["operator"])

    @router.get("/aggregators", summary="Aggregators known to DERMS")
    def list_aggregators() -> list[dict[str, Any]]:
        return aggregators.list_all(runtime.db)

    return router
