"""Tracking by business key: what an operator reads of the message log — messages found by any of their keys,
one message with its payloads and its parts, counts by status."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from derbridge.clock import iso_utc
from derbridge.hub.schema import message_keys, messages
from derbridge.store.db import reading


def part_counts(engine: Engine, parent_id: int) -> dict[str, int]:
    with reading(engine) as connection:
        rows = connection.execute(sa.select(messages.c.status, sa.func.count()).where(
            messages.c.parent_id == parent_id).group_by(messages.c.status)).all()
    return {str(status): int(count) for status, count in rows}


def search(engine: Engine, key: str | None = None, status: str | None = None, flow: str | None = None,
           limit: int = 200, parent: int | None = None) -> list[dict[str, Any]]:
    """Messages, newest first, optionally those carrying a business key (any of their keys), status or flow,
    or the parts of one message."""
    query = sa.select(messages).order_by(messages.c.id.desc()).limit(limit)
    if key:
        query = query.where(sa.or_(
            messages.c.business_key == key,
            messages.c.id.in_(sa.select(message_keys.c.message_id).where(message_keys.c.value == key)),
        ))
    if status:
        query = query.where(messages.c.status == status)
    if flow:
        query = query.where(messages.c.flow == flow)
    if parent is not None:
        query = query.where(messages.c.parent_id == parent)
    with reading(engine) as connection:
        rows = connection.execute(query).all()
        keys = _keys_of(connection, [row.id for row in rows])
    return [summary(row, keys.get(row.id, {})) for row in rows]


def get(engine: Engine, message_id: int) -> dict[str, Any] | None:
    with reading(engine) as connection:
        row = connection.execute(sa.select(messages).where(messages.c.id == message_id)).one_or_none()
        if row is None:
            return None
        keys = _keys_of(connection, [message_id])
    detail = summary(row, keys.get(message_id, {}))
    detail.update(inbound_payload=row.inbound_payload, outbound_payload=_json(row.outbound_payload),
                  response=_json(row.response), parts=part_counts(engine, message_id))
    return detail


def counts_by_status(engine: Engine) -> dict[str, int]:
    with reading(engine) as connection:
        rows = connection.execute(sa.select(messages.c.status, sa.func.count()).group_by(messages.c.status)).all()
    return {str(status): int(count) for status, count in rows}


def _keys_of(connection: Connection, ids: list[int]) -> dict[int, dict[str, str]]:
    found: dict[int, dict[str, str]] = {}
    if not ids:
        return found
    for row in connection.execute(sa.select(message_keys).where(message_keys.c.message_id.in_(ids))):
        found.setdefault(row.message_id, {})[row.name] = row.value
    return found


def summary(row: Any, keys: dict[str, str]) -> dict[str, Any]:
    return {
        "id": row.id, "flow": row.flow, "kind": row.kind, "source": row.source, "target": row.target,
        "businessKey": row.business_key, "keys": keys, "status": row.status, "attempts": row.attempts,
        "duplicates": row.duplicates, "lastError": row.last_error, "outboundPath": row.outbound_path,
        "workflowId": row.workflow_id, "parentId": row.parent_id, "receivedAt": iso_utc(row.received_at),
        "deliveredAt": iso_utc(row.delivered_at), "updatedAt": iso_utc(row.updated_at),
    }


def _json(text: str | None) -> Any:
    return json.loads(text) if text else None
