"""The hub's HTTP face: one endpoint per inbound message kind (both directions, vendor resource names),
each with a `/batch` twin for several messages at once, and the operator API (messages by business key,
resubmit, flows), all behind credentials. A message is answered once recorded with the MsgAck `RECEIVED`,
or, where the vendor answers with the far side's result and this hub does too, with that (hub/replies.py)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from derbridge.clock import clock_for, use_clock
from derbridge.config import Settings
from derbridge.errors import NotFound
from derbridge.hub import delivery, engine, messagelog, metrics, tracking
from derbridge.hub.context import HubContext, bind, current
from derbridge.hub.files_api import file_router
from derbridge.hub.flows.files import FILES_PREFIX
from derbridge.hub.flows.registry import FLOWS, INBOUND
from derbridge.hub.flows.relay import Inbound
from derbridge.hub.flows.wire import msg_ack
from derbridge.hub.lookups_api import lookups_router, start_lookups
from derbridge.hub.notify import service as notify
from derbridge.hub.notify.api import notifications_router
from derbridge.hub.pickup import pickup
from derbridge.hub.replies import Settlements
from derbridge.store.db import make_engine
from derbridge.store.migrations import upgrade
from derbridge.web.apps import health_and_metrics, new_app
from derbridge.web.auth import outbound_credential, require
from derbridge.web.batch import Answer, BatchIn, results, validated
from derbridge.web.client import make_client
from derbridge.web.problems import RejectionKeeper

INBOUND_BY_PATH = {inbound.inbound_path: inbound for inbound in INBOUND}


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
                                 "Integration hub between the program system and DERMS.", file_paths=(FILES_PREFIX,))
    for inbound in INBOUND:
        allowed = Depends(require(authenticator, {inbound.source, "operator"}))
        app.post(inbound.inbound_path, status_code=202, tags=[inbound.flow], summary=inbound.summary,
                 dependencies=[allowed])(single_endpoint(inbound))
        app.post(f"{inbound.inbound_path}/batch", tags=[inbound.flow], summary=f"{inbound.summary} (several at once)",
                 dependencies=[allowed])(batch_endpoint(inbound))
    app.include_router(file_router(settings, authenticator))
    app.include_router(operator_router(require(authenticator, {"operator"})))
    app.include_router(lookups_router(require(authenticator, {"operator"})))
    app.include_router(notifications_router(require(authenticator, {"operator"})))
    app.include_router(health_and_metrics(authenticator, "hub", metrics.registry,
                                          lambda: {"messages": tracking.counts_by_status(current().db)}))
    return app


def start_hub(settings: Settings, dispatcher: delivery.Dispatcher) -> None:
    use_clock(clock_for(settings.clock_file))
    db = make_engine(settings.database_url("hub"))
    upgrade("hub", db)
    notify.start(settings, db)  # first: a bad notification setting stops the start before anything runs
    clients = {target: make_client(settings.url(target), outbound_credential(settings, "hub", target),
                                   settings.http_timeout_s) for target in ("dacs", "derms")}
    bind(HubContext(settings, db, clients, dispatcher, start_lookups(db), Settlements()))
    engine.launch(settings.engine_url(), settings.executor_id, settings.engine_polling_interval_s)
    delivery.recover_undelivered()
    engine.schedule("hub-sweep", "0 * * * * *", delivery.sweep)
    dispatcher.start()
    pickup.start(settings, db)


def stop_hub(dispatcher: delivery.Dispatcher) -> None:
    pickup.stop()
    notify.stop()
    dispatcher.stop()
    engine.shutdown()
    context = current()
    for client in context.clients.values():
        client.close()
    context.db.dispose()
    bind(None)


def record(inbound: Inbound, accepted: list[tuple[BaseModel, str]]) -> list[messagelog.Recorded]:
    """Record accepted messages and hand what is ready to the dispatcher."""
    context = current()
    lookups = context.lookups.snapshot()
    new_messages = [inbound.new_message(message, raw, lookups, context.settings) for message, raw in accepted]
    recorded = messagelog.record_many(context.db, new_messages)
    for (message, _raw), new, done in zip(accepted, new_messages, recorded, strict=True):
        if done.is_new and inbound.on_recorded is not None:
            inbound.on_recorded(context.db, message, done)
        context.dispatcher.submit(done.to_deliver)
        if done.is_new and new.status == messagelog.WAITING and not done.to_deliver:  # no part could be mapped
            context.dispatcher.submit(delivery.settle_parents([done.id]))
        metrics.received.labels(inbound.flow, inbound.kind, "new" if done.is_new else "duplicate").inc()
    return recorded


async def answers(inbound: Inbound, accepted: list[tuple[BaseModel, str]]) -> list[Answer]:
    """Record the messages, then answer each: with the far side's result where this hub answers so (waiting
    on the recorded outcomes), else with the MsgAck `RECEIVED` (or `DUPLICATE`) at once."""
    recorded = await run_in_threadpool(record, inbound, accepted)
    context = current()
    reply = inbound.reply
    if reply is not None and reply.on(context.settings):
        return await context.settlements.answers(reply, context.db, [done.id for done in recorded],
                                                 context.settings.reply_wait_s)
    return [Answer(202 if done.is_new else 200, msg_ack(inbound.business_key(message), done.id, not done.is_new))
            for (message, _raw), done in zip(accepted, recorded, strict=True)]


def single_endpoint(inbound: Inbound) -> Callable[..., Any]:
    async def receive(message: BaseModel, request: Request) -> JSONResponse:
        raw = request.scope.get("derbridge.body", b"").decode("utf-8", "replace")
        [answer] = await answers(inbound, [(message, raw)])
        return JSONResponse(answer.body, status_code=answer.status)

    receive.__annotations__["message"] = inbound.model
    receive.__name__ = f"receive_{inbound.kind.replace('-', '_')}"
    return receive


def batch_endpoint(inbound: Inbound) -> Callable[..., Any]:
    keeper = rejection_keeper_for(inbound)

    async def receive_batch(body: BatchIn, request: Request) -> JSONResponse:
        checked = await validated(request, inbound.model, body, keeper)
        accepted = [(message, json.dumps(item)) for message, item in zip(checked, body.messages, strict=True)
                    if isinstance(message, BaseModel)]
        answered = iter(await answers(inbound, accepted) if accepted else [])
        return results([item if isinstance(item, Answer) else next(answered) for item in checked])

    receive_batch.__name__ = f"receive_{inbound.kind.replace('-', '_')}_batch"
    return receive_batch


def rejection_keeper_for(inbound: Inbound) -> RejectionKeeper:
    """Keep a refused message in the log as it came, with the reasons."""

    async def keep(_request: Request, raw: bytes, errors: list[dict[str, Any]]) -> None:
        metrics.received.labels(inbound.flow, inbound.kind, "rejected").inc()
        await run_in_threadpool(messagelog.record_rejected, current().db, inbound.flow, inbound.kind,
                                inbound.source, inbound.target, raw, errors)

    return keep


async def keep_rejected(request: Request, raw: bytes, errors: list[dict[str, Any]]) -> None:
    """A refused single message is kept like a refused batch item; other refused requests are not messages."""
    inbound = INBOUND_BY_PATH.get(request.url.path)
    if inbound is not None:
        await rejection_keeper_for(inbound)(request, raw, errors)


class ResubmitRequest(BaseModel):
    ids: list[int]


def operator_router(operator_only: Callable[..., str]) -> APIRouter:
    router = APIRouter(prefix="/hub/api", dependencies=[Depends(operator_only)], tags=["operator"])

    @router.get("/messages", summary="Messages, newest first, by business key, status or flow")
    def list_messages(key: str | None = None, status: str | None = None, flow: str | None = None,
                      parent: int | None = None, limit: int = 200) -> list[dict[str, Any]]:
        return tracking.search(current().db, key=key, status=status, flow=flow, limit=min(limit, 5000),
                                 parent=parent)

    @router.get("/messages/{message_id}", summary="One message with its payloads")
    def one_message(message_id: int) -> dict[str, Any]:
        found = tracking.get(current().db, message_id)
        if found is None:
            raise NotFound("message", str(message_id), "it is not in the log")
        return found

    @router.post("/messages/resubmit", summary="Deliver dead-lettered messages again")
    def resubmit(body: ResubmitRequest) -> dict[str, Any]:
        return {"resubmitted": delivery.resubmit(body.ids)}

    @router.get("/flows", summary="The flows and their status")
    def flows() -> list[dict[str, str]]:
        return [flow.__dict__ for flow in FLOWS]

    return router

