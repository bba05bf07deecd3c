"""DERMS's opt-out endpoints: the F12 receiver the hub calls (/eventOptOut), and the operator's list."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from derbridge.clock import iso_z, utcnow
from derbridge.derms.acks import msg_ack
from derbridge.derms.optouts import store
from derbridge.derms.optouts.drops import DROPS_TASK
from derbridge.runtime.system import Runtime
from derbridge.web.batch import Answer, add_single_and_batch
from derbridge.web.problems import RejectionKeeper
from derbridge.web.wire import UtcDateTime


class OptOutMessage(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    eventId: str = Field(min_length=1, max_length=60)
    headEndSystem: str = Field(min_length=1, max_length=50)
    nicId: str = Field(min_length=1, max_length=100)
    optOutDateTimeISO: UtcDateTime | None = None


def error_ack(message_id: str, number: int, text: str) -> dict[str, Any]:
    """The MsgAck of an opt-out DERMS cannot take: ERROR, with its message (category 90200) and why."""
    now = iso_z(utcnow())
    return {"ackType": "ERROR", "whenISO": now,
            "responses": {"response": [{"id": message_id, "value": text, "responseCode": "ERROR",
                                        "responseTimeISO": now, "dacsMessageId": message_id,
                                        "messageCategory": store.MESSAGE_CATEGORY, "messageNumber": number}]}}


def optout_integration_router(runtime: Runtime, keep_rejected: RejectionKeeper) -> APIRouter:
    router = APIRouter(tags=["integration"])

    def receive(body: OptOutMessage) -> Answer:
        key = f"{body.eventId}:{body.headEndSystem}:{body.nicId}"
        verdict = store.record(runtime.db, store.OptOut(body.eventId, body.headEndSystem, body.nicId,
                                                        body.optOutDateTimeISO), utcnow())
        if verdict.result == "refused":
            return Answer(200, error_ack(key, verdict.number or 0, verdict.text))
        new = verdict.result == "accepted"
        if new:
            runtime.wake_task(DROPS_TASK)  # a reserved device to drop from its reservation and backfill
        return Answer(202 if new else 200, msg_ack(key, "ACCEPTED" if new else "DUPLICATE"))

    add_single_and_batch(router, "/eventOptOut", OptOutMessage, receive, keep_rejected,
                         summary="A customer's opt-out of an event (F12): recorded, the device to be dropped")
    return router


def optout_operator_router(runtime: Runtime) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["opt-outs"])

    @router.get("/opt-outs", summary="Opt-outs received, newest first")
    def list_opt_outs(eventId: str | None = None, limit: int = 200) -> list[dict[str, Any]]:  # noqa: N803
        return store.list_opt_outs(runtime.db, eventId, min(limit, 5000))

    return router
