"""Device status checks (F6) over HTTP: the check the hub posts (answered at once; the result follows through
the outbox), and the operator's view of the checks."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter

from derbridge.derms.acks import msg_ack
from derbridge.derms.services import DermsServices
from derbridge.derms.status_checks import checks
from derbridge.errors import NotFound
from derbridge.web.batch import Answer, add_single_and_batch
from derbridge.web.problems import RejectionKeeper


def integration_router(services: DermsServices, keep_rejected: RejectionKeeper) -> APIRouter:
    router = APIRouter(tags=["integration"])
    runtime = services.runtime

    def receive_status_check(body: checks.StatusCheckMessage) -> Answer:
        recorded = checks.receive(runtime.db, body)
        if recorded:
            services.wake_status_checks()
        return Answer(202 if recorded else 200, msg_ack(body.dacsMessageId, "ACCEPTED" if recorded else "DUPLICATE"))

    add_single_and_batch(router, "/status_check", checks.StatusCheckMessage, receive_status_check,
                         keep_rejected, summary="Check a device's communication status (F6); the result follows")
    return router


def operator_router(services: DermsServices) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["operator"])
    runtime = services.runtime

    @router.get("/status-checks", summary="Device status checks, newest first")
    def list_checks(nicId: str | None = None, headEndSystem: str | None = None,  # noqa: N803 (query names)
                    status: Literal["NEW", "HELD", "ANSWERED"] | None = None, limit: int = 50) -> list[dict[str, Any]]:
        return checks.search(runtime.db, nic_id=nicId, head_end_system=headEndSystem, status=status,
                             limit=min(max(limit, 1), 1000))

    @router.get("/status-checks/{dacs_message_id}", summary="One status check and its result")
    def check(dacs_message_id: str) -> dict[str, Any]:
        found = checks.find(runtime.db, dacs_message_id)
        if found is None:
            raise NotFound("status check", dacs_message_id)
        return found

    return router
