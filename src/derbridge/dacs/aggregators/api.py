"""The agents' API for energy aggregators (F3): create and update sync to DERMS, delete does not."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from derbridge.dacs.aggregators import service_providers
from derbridge.errors import NotFound
from derbridge.runtime.system import Runtime


def aggregator_router(runtime: Runtime) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["aggregators"])

    @router.post("/aggregators", status_code=201, summary="Create an aggregator (syncs to DERMS)")
    def create_aggregator(body: service_providers.AggregatorIn) -> dict[str, str]:
        created = service_providers.create(runtime.db, body)
        runtime.wake_senders()
        return created

    @router.put("/aggregators/{aggregator_id}", summary="Update an aggregator (syncs to DERMS)")
    def update_aggregator(aggregator_id: str, body: service_providers.AggregatorIn) -> dict[str, str]:
        updated = service_providers.update(runtime.db, aggregator_id, body)
        if updated is None:
            raise NotFound("aggregator", aggregator_id)
        runtime.wake_senders()
        return updated

    @router.delete("/aggregators/{aggregator_id}", status_code=204, summary="Delete an aggregator (no sync)")
    def delete_aggregator(aggregator_id: str) -> None:
        if not service_providers.delete(runtime.db, aggregator_id):
            raise NotFound("aggregator", aggregator_id)

    @router.get("/aggregators", summary="List aggregators")
    def list_aggregators() -> list[dict[str, Any]]:
        return service_providers.list_all(runtime.db)

    @router.get("/aggregators/{aggregator_id}", summary="One aggregator")
    def get_aggregator(aggregator_id: str) -> dict[str, Any]:
        found = service_providers.get(runtime.db, aggregator_id)
        if found is None:
            raise NotFound("aggregator", aggregator_id)
        return found

    return router
