"""DERMS's HTTP API: the documented paths the hub calls (/aggregator, later /enroll, /status_check, …)
and the operator API under /api."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI

from derbridge.config import Settings
from derbridge.derms import aggregators
from derbridge.derms.network_api import IMPORT_PREFIX, network_router
from derbridge.derms.schema import outbound_files, outbound_messages, rejected_requests
from derbridge.store.db import utcnow
from derbridge.store.rejections import rejection_keeper
from derbridge.store.runtime import Runtime
from derbridge.web.apps import health_and_metrics, new_app
from derbridge.web.auth import require
from derbridge.web.batch import Answer, add_single_and_batch
from derbridge.web.problems import RejectionKeeper


def create_app(settings: Settings) -> FastAPI:
    runtime = Runtime("derms", outbound_messages, lambda row: row.message_key, outbound_files)
    keep_rejected = rejection_keeper(rejected_requests, lambda: runtime.db)
    app, authenticator = new_app("derms", settings, runtime.lifespan(settings), keep_rejected,
                                 "Reference DERMS (Edge DERMS role).", file_paths=(IMPORT_PREFIX,))
    app.include_router(integration_router(runtime, keep_rejected),
                       dependencies=[Depends(require(authenticator, {"hub", "operator"}))])
    app.include_router(operator_router(runtime), dependencies=[Depends(require(authenticator, {"operator"}))])
    app.include_router(network_router(runtime, settings, keep_rejected),
                       dependencies=[Depends(require(authenticator, {"operator"}))])
    app.include_router(health_and_metrics(authenticator, "derms", None))
    return app


def msg_ack(message_id: str, code: str) -> dict[str, Any]:
    now = utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"ackType": "SUCCESS", "whenISO": now,
            "responses": {"response": [{"id": message_id, "value": message_id, "responseCode": code,
                                        "responseTimeISO": now, "dacsMessageId": message_id}]}}


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
