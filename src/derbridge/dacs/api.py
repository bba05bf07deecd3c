"""The program system's HTTP API: the agent-facing API under /api and the vendor cross-system API under
/rest/apis/cross, which the hub calls."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from pydantic import BaseModel, ConfigDict, Field

from derbridge.config import Settings
from derbridge.dacs import aggregators, cis, enrollment_api, enrollments, syncrequests
from derbridge.dacs.legacy_api import LEGACY_PREFIX, ack_file_router, legacy_router
from derbridge.dacs.network_api import FILES_PREFIX, network_file_router, network_location_router
from derbridge.dacs.programs_api import programs_router
from derbridge.dacs.schema import (
    file_imports,
    outbound_files,
    outbound_messages,
    rejected_requests,
    rejected_uploads,
    sync_requests,
)
from derbridge.store.rejections import rejection_keeper
from derbridge.store.runtime import Outbox, Runtime, Task
from derbridge.web.apps import health_and_metrics, new_app
from derbridge.web.auth import require
from derbridge.web.batch import Answer, add_single_and_batch
from derbridge.web.problems import Problem, RejectionKeeper
from derbridge.web.tableuploads import TableUploads, table_upload_router

CIS_PREFIX = "/api/cis"


def create_app(settings: Settings) -> FastAPI:
    runtime = Runtime(
        "dacs",
        [Outbox(sync_requests, lambda row: row.sync_request_id),
         Outbox(outbound_messages, lambda row: row.message_key)],
        files=outbound_files,
        tasks=[Task("expire-status-checks", 1.0, enrollments.expire_status_checks)])
    keep_rejected = rejection_keeper(rejected_requests, lambda: runtime.db)
    app, authenticator = new_app("dacs", settings, runtime.lifespan(settings), keep_rejected,
                                 "Reference program system (DACS/CPMCS role).",
                                 file_paths=(f"{CIS_PREFIX}/", FILES_PREFIX, LEGACY_PREFIX))
    operator_only = [Depends(require(authenticator, {"operator"}))]
    hub_or_operator = [Depends(require(authenticator, {"hub", "operator"}))]
    app.include_router(agent_router(runtime), dependencies=operator_only)
    app.include_router(enrollment_api.agent_router(runtime, settings), dependencies=operator_only)
    app.include_router(programs_router(runtime), dependencies=operator_only)
    app.include_router(table_upload_router(cis_uploads(runtime, settings), CIS_PREFIX), dependencies=operator_only)
    app.include_router(cross_router(runtime, keep_rejected), dependencies=hub_or_operator)
    app.include_router(enrollment_api.cross_router(runtime, settings, keep_rejected), dependencies=hub_or_operator)
    app.include_router(network_location_router(runtime), dependencies=operator_only)
    app.include_router(network_file_router(runtime, settings, keep_rejected), dependencies=hub_or_operator)
    app.include_router(legacy_router(runtime, settings, keep_rejected), dependencies=operator_only)
    app.include_router(ack_file_router(runtime, settings, keep_rejected), dependencies=hub_or_operator)
    app.include_router(health_and_metrics(authenticator, "dacs", None, lambda: {
        "syncRequests": syncrequests.counts_by_status(runtime.db),
        "enrollments": enrollments.counts_by_status(runtime.db)}))
    return app


def agent_router(runtime: Runtime) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["aggregators"])

    @router.post("/aggregators", status_code=201, summary="Create an aggregator (syncs to DERMS)")
    def create_aggregator(body: aggregators.AggregatorIn) -> dict[str, str]:
        created = aggregators.create(runtime.db, body)
        runtime.wake_senders()
        return created

    @router.put("/aggregators/{aggregator_id}", summary="Update an aggregator (syncs to DERMS)")
    def update_aggregator(aggregator_id: str, body: aggregators.AggregatorIn) -> dict[str, str]:
        updated = aggregators.update(runtime.db, aggregator_id, body)
        if updated is None:
            raise _missing("aggregator", aggregator_id)
        runtime.wake_senders()
        return updated

    @router.delete("/aggregators/{aggregator_id}", status_code=204, summary="Delete an aggregator (no sync)")
    def delete_aggregator(aggregator_id: str) -> None:
        if not aggregators.delete(runtime.db, aggregator_id):
            raise _missing("aggregator", aggregator_id)

    @router.get("/aggregators", summary="List aggregators")
    def list_aggregators() -> list[dict[str, Any]]:
        return aggregators.list_all(runtime.db)

    @router.get("/aggregators/{aggregator_id}", summary="One aggregator")
    def get_aggregator(aggregator_id: str) -> dict[str, Any]:
        found = aggregators.get(runtime.db, aggregator_id)
        if found is None:
            raise _missing("aggregator", aggregator_id)
        return found

    @router.get("/sync-requests", tags=["sync requests"], summary="Sync requests, newest first")
    def list_sync_requests(status: str | None = None, objectId: str | None = None,
                           limit: int = 200) -> list[dict[str, Any]]:
        return syncrequests.list_sync_requests(runtime.db, status, objectId, min(limit, 5000))

    @router.get("/sync-requests/{sync_request_id}", tags=["sync requests"], summary="One sync request")
    def get_sync_request(sync_request_id: str) -> dict[str, Any]:
        found = syncrequests.get_sync_request(runtime.db, sync_request_id)
        if found is None:
            raise _missing("sync request", sync_request_id)
        return found

    return router


class MessageParameter(BaseModel):
    model_config = ConfigDict(extra="ignore")
    messageParameterValue: str = Field(max_length=2000)
    parameterSequence: int | None = Field(default=None, ge=-999, le=999)


class ExceptionInfo(BaseModel):
    """One error, as the documented acknowledgement carries it: category and number are numbers."""

    model_config = ConfigDict(extra="ignore")
    messageCategory: int = Field(ge=-99999, le=99999)
    messageNumber: int = Field(ge=-99999, le=99999)
    comments: str | None = Field(default=None, max_length=254)
    messageParameters: list[MessageParameter] = Field(default_factory=list, max_length=20)


class SyncAcknowledgement(BaseModel):
    """The acknowledgement the hub posts for a sync request."""

    model_config = ConfigDict(extra="ignore")
    syncRequestId: str = Field(min_length=1, max_length=14)
    hasError: bool
    exceptionInfo: list[ExceptionInfo] = Field(default_factory=list)


def cross_router(runtime: Runtime, keep_rejected: RejectionKeeper) -> APIRouter:
    router = APIRouter(prefix="/rest/apis/cross/digitalAssets", tags=["cross-system"])

    def aggregator_ack(body: SyncAcknowledgement) -> Answer:
        return _apply_ack(runtime, body)

    add_single_and_batch(router, "/energyAggregators/postAcknowledgement", SyncAcknowledgement, aggregator_ack,
                         keep_rejected, summary="DERMS's ack of an aggregator sync (F3)", status_code=200)

    def program_rules_ack(body: SyncAcknowledgement) -> Answer:
        return _apply_ack(runtime, body)

    add_single_and_batch(router, "/programRules/postAcknowledgement", SyncAcknowledgement, program_rules_ack,
                         keep_rejected, summary="DERMS's ack of a program rules sync (F2)", status_code=200)
    return router


def _apply_ack(runtime: Runtime, body: SyncAcknowledgement) -> Answer:
    result = syncrequests.acknowledge(runtime.db, body.syncRequestId, body.hasError, body.model_dump())
    if result == "unknown":
        raise _missing("sync request", body.syncRequestId)
    return Answer(200, {"syncRequestId": body.syncRequestId, "result": result})


def _missing(what: str, key: str) -> Problem:
    return Problem(404, f"Unknown {what}", f"no {what} {key!r}")


def cis_uploads(runtime: Runtime, settings: Settings) -> TableUploads:
    """The CIS extract, one table file per request (see dacs/cis.py)."""
    return TableUploads("dacs", cis.TABLES, file_imports, rejected_uploads, lambda: runtime.db,
                        settings.data_dir / "uploads" / "dacs", settings.max_upload_bytes)
