"""Energy aggregators in DERMS: the program system's details, as the hub relays them (F3), and the list."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from derbridge.derms.acks import msg_ack
from derbridge.derms.aggregators import service_providers
from derbridge.runtime.system import Runtime
from derbridge.web.batch import Answer, add_single_and_batch
from derbridge.web.problems import RejectionKeeper


def integration_router(runtime: Runtime, keep_rejected: RejectionKeeper) -> APIRouter:
    router = APIRouter(tags=["integration"])

    def receive_aggregator(body: service_providers.AggregatorMessage) -> Answer:
        applied = service_providers.apply(runtime.db, body)
        if applied:
            runtime.wake_senders()
        return Answer(202 if applied else 200, msg_ack(body.dacsMessageId, "ACCEPTED" if applied else "DUPLICATE"))

    add_single_and_batch(router, "/aggregator", service_providers.AggregatorMessage, receive_aggregator,
                         keep_rejected, summary="Create or update an energy aggregator (F3)")
    return router


def operator_router(runtime: Runtime) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["operator"])

    @router.get("/aggregators", summary="Aggregators known to DERMS")
    def list_aggregators() -> list[dict[str, Any]]:
        return service_providers.list_all(runtime.db)

    return router
