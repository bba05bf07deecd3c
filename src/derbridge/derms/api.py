"""DERMS's HTTP API: the documented paths the hub calls (/aggregator, later /enroll, /status_check, …)
and the operator API under /api."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from derbridge.config import Settings
from derbridge.derms import aggregators
from derbridge.derms.schema import outbound_messages, rejected_requests
from derbridge.store.db import make_engine, utcnow
from derbridge.store.migrations import upgrade
from derbridge.store.outbox import OutboxSender
from derbridge.store.rejections import rejection_keeper
from derbridge.store.runtime import Runtime
from derbridge.web.apps import health_and_metrics, new_app
from derbridge.web.auth import outbound_credential, require


def create_app(settings: Settings) -> FastAPI:
    runtime = Runtime("derms")

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(start, settings, runtime)
        try:
            yield
        finally:
            await run_in_threadpool(runtime.close)

    app, authenticator = new_app("derms", settings, lifespan,
                                 rejection_keeper(rejected_requests, lambda: runtime.db),
                                 "Reference DERMS (Edge DERMS role).")
    app.include_router(integration_router(runtime), dependencies=[Depends(require(authenticator, {"hub", "operator"}))])
    app.include_router(operator_router(runtime), dependencies=[Depends(require(authenticator, {"operator"}))])
    app.include_router(health_and_metrics(authenticator, "derms", None))
    return app


def start(settings: Settings, runtime: Runtime) -> None:
    db = make_engine(settings.database_url("derms"))
    upgrade("derms", db)
    sender = OutboxSender(db, outbound_messages, settings.url("hub"), outbound_credential(settings, "derms", "hub"),
                          key_of=lambda row: row.message_key, poll_s=settings.sender_poll_s,
                          retry_initial_s=settings.retry_initial_s,
                          retry_max_interval_s=settings.retry_max_interval_s, timeout_s=settings.http_timeout_s)
    runtime.open(db, [sender])


def msg_ack(message_id: str, code: str) -> dict[str, Any]:
    now = utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"ackType": "SUCCESS", "whenISO": now,
            "responses": {"response": [{"id": message_id, "value": message_id, "responseCode": code,
                                        "responseTimeISO": now, "dacsMessageId": message_id}]}}


def integration_router(runtime: Runtime) -> APIRouter:
    router = APIRouter(tags=["integration"])

    @router.post("/aggregator", status_code=202, summary="Create or update an energy aggregator (F3)")
    def receive_aggregator(body: aggregators.AggregatorMessage) -> JSONResponse:
        applied = aggregators.apply(runtime.db, body)
        if applied:
            runtime.wake_senders()
        return JSONResponse(msg_ack(body.dacsMessageId, "ACCEPTED" if applied else "DUPLICATE"),
                            status_code=202 if applied else 200)

    return router


def operator_router(runtime: Runtime) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["operator"])

    @router.get("/aggregators", summary="Aggregators known to DERMS")
    def list_aggregators() -> list[dict[str, Any]]:
        return aggregators.list_all(runtime.db)

    return router
