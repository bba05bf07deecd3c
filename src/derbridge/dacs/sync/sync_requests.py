"""Sync requests: the program system's outbox to the hub, and the acknowledgements that complete them.

PENDING → SENT (the hub accepted it) → COMPLETE (DERMS acknowledged) | ERROR (DERMS reported an error);
FAILED when the hub refused it for good.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from derbridge.clock import iso_utc, utcnow
from derbridge.dacs.ids import new_id
from derbridge.dacs.schema import sync_requests
from derbridge.store.db import reading
from derbridge.store.outbox import new_outbox_values

COMPLETE, ERROR = "COMPLETE", "ERROR"
SYNC_REQUEST_DIGITS = 14


def write_sync_request(connection: Connection, kind: str, object_id: str, path: str,
                       build_payload: Callable[[str], dict[str, Any]]) -> str:
    """Insert a PENDING sync request inside the caller's transaction; `build_payload(id)` makes its body."""
    [sync_request_id] = write_sync_requests(connection, kind, path, [(object_id, build_payload)])
    return sync_request_id


def write_sync_requests(connection: Connection, kind: str, path: str,
                        items: list[tuple[str, Callable[[str], dict[str, Any]]]]) -> list[str]:
    """Several PENDING sync requests in one statement: (object id, build_payload) each; returns their ids."""
    ids = _free_ids(connection, len(items))
    if items:
        connection.execute(sa.insert(sync_requests), [
            {"sync_request_id": sync_request_id, "kind": kind, "object_id": object_id, "acked_at": None,
             "ack_payload": None, "last_error": None, "sent_at": None,
             **new_outbox_values(path, build_payload(sync_request_id))}
            for sync_request_id, (object_id, build_payload) in zip(ids, items, strict=True)])
    return ids


def _free_ids(connection: Connection, count: int) -> list[str]:
    """`count` new sync request ids, none of them taken (random ids checked in one query)."""
    ids: set[str] = set()
    while len(ids) < count:
        wanted = {new_id(SYNC_REQUEST_DIGITS) for _ in range(count - len(ids))} - ids
        taken = set(connection.execute(sa.select(sync_requests.c.sync_request_id).where(
            sync_requests.c.sync_request_id.in_(wanted))).scalars())
        ids |= wanted - taken
    return list(ids)


def acknowledge(engine: Engine, sync_request_id: str, has_error: bool, payload: dict[str, Any]) -> str:
    """Apply an acknowledgement once. Returns 'applied', 'already synchronized' or 'unknown'."""
    with engine.begin() as connection:
        row = connection.execute(sa.select(sync_requests.c.id, sync_requests.c.status)
                                 .where(sync_requests.c.sync_request_id == sync_request_id)).first()
        if row is None:
            return "unknown"
        if row.status in (COMPLETE, ERROR):
            return "already synchronized"
        connection.execute(sa.update(sync_requests).where(sync_requests.c.id == row.id).values(
            status=ERROR if has_error else COMPLETE, acked_at=utcnow(), ack_payload=json.dumps(payload)))
    return "applied"


def list_sync_requests(engine: Engine, status: str | None = None, object_id: str | None = None,
                       limit: int = 200) -> list[dict[str, Any]]:
    query = sa.select(sync_requests).order_by(sync_requests.c.id.desc()).limit(limit)
    if status:
        query = query.where(sync_requests.c.status == status)
    if object_id:
        query = query.where(sync_requests.c.object_id == object_id)
    with reading(engine) as connection:
        return [describe(row) for row in connection.execute(query)]


def get_sync_request(engine: Engine, sync_request_id: str) -> dict[str, Any] | None:
    with reading(engine) as connection:
        row = connection.execute(sa.select(sync_requests)
                                 .where(sync_requests.c.sync_request_id == sync_request_id)).first()
    return describe(row) if row else None


def counts_by_status(engine: Engine) -> dict[str, int]:
    with reading(engine) as connection:
        rows = connection.execute(sa.select(sync_requests.c.status, sa.func.count())
                                  .group_by(sync_requests.c.status)).all()
    return {str(status): int(count) for status, count in rows}


def describe(row: Any) -> dict[str, Any]:
    return {
        "syncRequestId": row.sync_request_id, "kind": row.kind, "objectId": row.object_id, "status": row.status,
        "attempts": row.attempts, "lastError": row.last_error,
        "createdAt": iso_utc(row.created_at), "sentAt": iso_utc(row.sent_at), "ackedAt": iso_utc(row.acked_at),
        "ack": json.loads(row.ack_payload) if row.ack_payload else None,
    }
