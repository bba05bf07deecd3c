"""Sync requests over HTTP: the agents' view of them, and the acknowledgements of aggregator (F3) and program
rules (F2) syncs that the hub relays from DERMS."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from derbridge.dacs.sync import sync_requests
from derbridge.errors import NotFound
from derbridge.runtime.system import Runtime
from derbridge.web.batch import Answer, add_single_and_batch
from derbridge.web.problems import RejectionKeeper


def sync_request_router(runtime: Runtime) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["sync requests"])

    @router.get("/sync-requests", summary="Sync requests, newest first")
    def list_sync_requests(status: str | None = None, objectId: str | None = None,  # noqa: N803 (query name)
                           limit: int = 200) -> list[dict[str, Any]]:
        return sync_requests.list_sync_requests(runtime.db, status, objectId, min(limit, 5000))

    @router.get("/sync-requests/{sync_request_id}", summary="One sync request")
    def get_sync_request(sync_request_id: str) -> dict[str, Any]:
        found = sync_requests.get_sync_request(runtime.db, sync_request_id)
        if found is None:
            raise NotFound("sync request", sync_request_id)
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


def acknowledgement_router(runtime: Runtime, keep_rejected: RejectionKeeper) -> APIRouter:
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
    result = sync_requests.acknowledge(runtime.db, body.syncRequestId, body.hasError, body.model_dump())
    if result == "unknown":
        raise NotFound("sync request", body.syncRequestId)
    return Answer(200, {"syncRequestId": body.syncRequestId, "result": result})
