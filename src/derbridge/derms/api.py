"""DERMS's HTTP API: the documented paths the hub calls (/aggregator, later /enroll, /status_check, …)
and the operator API under /api."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import JSONResponse

from derbridge.config import Settings
from derbridge.derms import aggregators, cis
from derbridge.derms.schema import file_imports, outbound_messages, rejected_requests, rejected_uploads
from derbridge.store.db import utcnow
from derbridge.store.rejections import rejection_keeper
from derbridge.store.runtime import Runtime
from derbridge.web.apps import health_and_metrics, new_app
from derbridge.web.auth import require
from derbridge.web.tableuploads import TableUploads, table_upload_router

CIS_PREFIX = "/api/cis"


def create_app(settings: Settings) -> FastAPI:
    runtime = Runtime("derms", outbound_messages, lambda row: row.message_key)
    app, authenticator = new_app("derms", settings, runtime.lifespan(settings),
                                 rejection_keeper(rejected_requests, lambda: runtime.db),
                                 "Reference DERMS (Edge DERMS role).", file_paths=(f"{CIS_PREFIX}/",))
    app.include_router(integration_router(runtime), dependencies=[Depends(require(authenticator, {"hub", "operator"}))])
    app.include_router(operator_router(runtime), dependencies=[Depends(require(authenticator, {"operator"}))])
    app.include_router(table_upload_router(cis_uploads(runtime, settings), CIS_PREFIX),
                       dependencies=[Depends(require(authenticator, {"operator"}))])
    app.include_router(health_and_metrics(authenticator, "derms", None))
    return app


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


def cis_uploads(runtime: Runtime, settings: Settings) -> TableUploads:
    """The CIS extract, one table file per request (see derms/cis.py)."""
    return TableUploads("derms", cis.TABLES, file_imports, rejected_uploads, lambda: runtime.db,
                        settings.data_dir / "uploads" / "derms", settings.max_upload_bytes)
