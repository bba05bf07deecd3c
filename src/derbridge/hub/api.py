"""The hub's HTTP face: one endpoint per relay (both directions, vendor resource names) and the
operator API (messages by business key, resubmit, flows), all behind credentials."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from derbridge.config import Settings
from derbridge.hub import delivery, engine, messagelog, metrics
from derbridge.hub.context import HubContext, bind, current
from derbridge.hub.flows.registry import FLOWS, RELAYS
from derbridge.hub.flows.relay import Relay, msg_ack
from derbridge.store.db import make_engine
from derbridge.store.migrations import upgrade
from derbridge.web.apps import health_and_metrics, new_app
from derbridge.web.auth import outbound_credential, require
from derbridge.web.client import make_client
from derbridge.web.problems import Problem

RELAYS_BY_PATH = {relay.inbound_path: relay for relay in RELAYS}


def create_app(settings: Settings) -> FastAPI:
    dispatcher = delivery.Dispatcher()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(start_hub, settings, dispatcher)
        try:
            yield
        finally:
            await run_in_threadpool(stop_hub, dispatcher)

    app, authenticator = new_app("hub", settings, lifespan, keep_rejected,
                                 "Integration hub between the program system and DERMS.")
    for relay in RELAYS:
        app.post(relay.inbound_path, status_code=202, tags=[relay.flow], summary=relay.summary,
                 dependencies=[Depends(require(authenticator, {relay.source, "operator"}))])(
            relay_endpoint(relay, dispatcher))
    app.include_router(operator_router(require(authenticator, {"operator"})))
    app.include_router(health_and_metrics(authenticator, "hub", metrics.registry,
                                          lambda: {"messages": messagelog.counts_by_status(current().db)}))
    return app


def start_hub(settings: Settings, dispatcher: delivery.Dispatcher) -> None:
    db = make_engine(settings.database_url("hub"))
    upgrade("hub", db)
    clients = {target: make_client(settings.url(target), outbound_credential(settings, "hub", target),
                                   settings.http_timeout_s) for target in ("dacs", "derms")}
    bind(HubContext(settings, db, clients))
    engine.launch(settings.engine_url(), settings.executor_id, settings.engine_polling_interval_s)
    delivery.recover_undelivered()
    engine.schedule("hub-sweep", "0 * * * * *", delivery.sweep)
    dispatcher.start()


def stop_hub(dispatcher: delivery.Dispatcher) -> None:
    dispatcher.stop()
    engine.shutdown()
    context = current()
    for client in context.clients.values():
        client.close()
    context.db.dispose()
    bind(None)


def relay_endpoint(relay: Relay, dispatcher: delivery.Dispatcher) -> Callable[..., JSONResponse]:
    def receive(message: BaseModel, request: Request) -> JSONResponse:
        raw = request.scope.get("derbridge.body", b"")
        key = relay.business_key(message)
        recorded = messagelog.record(current().db, messagelog.NewMessage(
            flow=relay.flow, kind=relay.kind, source=relay.source, target=relay.target, business_key=key,
            idempotency_key=relay.idempotency_key(message), inbound_payload=raw.decode("utf-8", "replace"),
            outbound_path=relay.target_path, outbound_payload=relay.to_target(message), keys=relay.keys(message),
        ))
        if recorded.is_new:
            dispatcher.submit(recorded.id)
        metrics.received.labels(relay.flow, relay.kind, "new" if recorded.is_new else "duplicate").inc()
        return JSONResponse(msg_ack(key, recorded.id, not recorded.is_new), status_code=202 if recorded.is_new else 200)

    receive.__annotations__["message"] = relay.model
    receive.__name__ = f"receive_{relay.kind.replace('-', '_')}"
    return receive


async def keep_rejected(request: Request, raw: bytes, errors: list[dict[str, Any]]) -> None:
    """A refused inbound message is kept in the log as it came, with the reasons."""
    relay = RELAYS_BY_PATH.get(request.url.path)
    if relay is None:
        return
    metrics.received.labels(relay.flow, relay.kind, "rejected").inc()
    await run_in_threadpool(messagelog.record_rejected, current().db, relay.flow, relay.kind, relay.source,
                            relay.target, raw, errors)


class ResubmitRequest(BaseModel):
    ids: list[int]


def operator_router(operator_only: Callable[..., str]) -> APIRouter:
    router = APIRouter(prefix="/hub/api", dependencies=[Depends(operator_only)], tags=["operator"])

    @router.get("/messages", summary="Messages, newest first, by business key, status or flow")
    def list_messages(key: str | None = None, status: str | None = None, flow: str | None = None,
                      limit: int = 200) -> list[dict[str, Any]]:
        return messagelog.search(current().db, key=key, status=status, flow=flow, limit=min(limit, 5000))

    @router.get("/messages/{message_id}", summary="One message with its payloads")
    def one_message(message_id: int) -> dict[str, Any]:
        found = messagelog.get(current().db, message_id)
        if found is None:
            raise Problem(404, "No such message", f"message {message_id} is not in the log")
        return found

    @router.post("/messages/resubmit", summary="Deliver dead-lettered messages again")
    def resubmit(body: ResubmitRequest) -> dict[str, Any]:
        return {"resubmitted": delivery.resubmit(body.ids)}

    @router.get("/flows", summary="The flows and their status")
    def flows() -> list[dict[str, str]]:
        return [flow.__dict__ for flow in FLOWS]

    return router

