"""The operator's view of notifications: what was sent to whom, and how each delivery went."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from derbridge.errors import NotFound
from derbridge.hub.context import current
from derbridge.hub.notify import store


def notifications_router(operator_only: Callable[..., str]) -> APIRouter:
    router = APIRouter(prefix="/hub/api", dependencies=[Depends(operator_only)], tags=["operator"])

    @router.get("/notifications", summary="Notifications, newest first, by status (PENDING, SENT, FAILED) or flow")
    def list_notifications(status: str | None = None, flow: str | None = None,
                           limit: Annotated[int, Query(ge=1, le=5000)] = 200) -> list[dict[str, Any]]:
        return store.search(current().db, status=status, flow=flow, limit=limit)

    @router.get("/notifications/{notification_id}", summary="One notification with what it said")
    def one_notification(notification_id: int) -> dict[str, Any]:
        found = store.get(current().db, notification_id)
        if found is None:
            raise NotFound("notification", str(notification_id))
        return found

    return router
