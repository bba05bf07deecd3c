"""The message log: every message the hub receives or sends, recorded before it is acknowledged.

A message is one inbound payload and the outbound payload the hub mapped it to. Its life:
RECEIVED → DELIVERED, or → RETRYING (transient fault) → … → DELIVERED | DEAD (dead letter);
REJECTED when the inbound payload was bad (kept raw, never delivered). Resubmit sends DEAD back to RECEIVED.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from derbridge.hub.schema import message_keys, messages
from derbridge.store.db import as_utc, utcnow

RECEIVED, DELIVERED, RETRYING, DEAD, REJECTED = "RECEIVED", "DELIVERED", "RETRYING", "DEAD", "REJECTED"
UNDELIVERED = (RECEIVED, RETRYING)


@dataclass(frozen=True)
class NewMessage:
    flow: str
    kind: str
    source: str
    target: str
    business_key: str
    idempotency_key: str
    inbound_payload: str
    outbound_path: str
    outbound_payload: dict[str, Any]
    keys: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Recorded:
    id: int
    is_new: bool


@dataclass(frozen=True)
class Outcome:
    """What one delivery attempt did to one message."""

    id: int
    status: str
    error: str = ""
    response: Any = None


def record(engine: Engine, message: NewMessage) -> Recorded:
    """Record an inbound message once per idempotency key; a repeat only counts as a duplicate."""
    now = utcnow()
    try:
        with engine.begin() as connection:
            existing = _count_duplicate(connection, message.idempotency_key, now)
            if existing is not None:
                return Recorded(existing, False)
            message_id = _insert(connection, {
                "flow": message.flow, "kind": message.kind, "source": message.source, "target": message.target,
                "business_key": message.business_key, "idempotency_key": message.idempotency_key,
                "status": RECEIVED, "attempts": 0, "duplicates": 0, "inbound_payload": message.inbound_payload,
                "outbound_path": message.outbound_path, "outbound_payload": json.dumps(message.outbound_payload),
                "received_at": now, "updated_at": now,
            }, message.keys)
    except IntegrityError:  # the same message arrived twice at once (PostgreSQL): the other one won
        with engine.begin() as connection:
            existing = _count_duplicate(connection, message.idempotency_key, now)
        if existing is None:
            raise
        return Recorded(existing, False)
    return Recorded(message_id, True)


def record_rejected(engine: Engine, flow: str, kind: str, source: str, target: str, raw: bytes,
                    errors: list[dict[str, Any]]) -> int:
    """Keep a refused inbound message as it arrived, with the reasons, for inspection."""
    now = utcnow()
    with engine.begin() as connection:
        return _insert(connection, {
            "flow": flow, "kind": kind, "source": source, "target": target, "business_key": "",
            "idempotency_key": None, "status": REJECTED, "attempts": 0, "duplicates": 0,
            "last_error": json.dumps(errors), "inbound_payload": raw.decode("utf-8", errors="replace"),
            "received_at": now, "updated_at": now,
        }, {})


def _insert(connection: Connection, values: dict[str, Any], keys: dict[str, str]) -> int:
    inserted = connection.execute(sa.insert(messages), values).inserted_primary_key
    assert inserted is not None
    message_id = int(inserted[0])
    if keys:
        connection.execute(sa.insert(message_keys), [
            {"message_id": message_id, "name": name, "value": str(value)[:200]} for name, value in keys.items()
        ])
    return message_id


def _count_duplicate(connection: Connection, idempotency_key: str, now: datetime) -> int | None:
    found = connection.execute(
        sa.select(messages.c.id).where(messages.c.idempotency_key == idempotency_key)
    ).scalar_one_or_none()
    if found is not None:
        connection.execute(sa.update(messages).where(messages.c.id == found)
                           .values(duplicates=messages.c.duplicates + 1, updated_at=now))
    return int(found) if found is not None else None


def assign_workflow(engine: Engine, ids: list[int], workflow_id: str) -> None:
    with engine.begin() as connection:
        connection.execute(sa.update(messages).where(messages.c.id.in_(ids)).values(workflow_id=workflow_id))


def deliverable(engine: Engine, ids: list[int]) -> list[Any]:
    """The messages among `ids` that still need delivering (a re-run step skips what is done)."""
    with engine.connect() as connection:
        return list(connection.execute(
            sa.select(messages).where(messages.c.id.in_(ids), messages.c.status.in_(UNDELIVERED))
            .order_by(messages.c.id)
        ).all())


def apply_outcomes(engine: Engine, outcomes: list[Outcome]) -> None:
    """Record one delivery attempt per message, in one statement executed for all of them."""
    if not outcomes:
        return
    now = utcnow()
    statement = (
        sa.update(messages)
        .where(messages.c.id == sa.bindparam("message_id"),
               sa.or_(*(messages.c.status == status for status in UNDELIVERED)))  # no IN with executemany
        .values(status=sa.bindparam("new_status"), attempts=messages.c.attempts + 1, updated_at=now,
                last_error=sa.bindparam("error"), response=sa.bindparam("answer"),
                delivered_at=sa.bindparam("delivered"))
    )
    rows = [{"message_id": o.id, "new_status": o.status, "error": o.error or None,
             "answer": json.dumps(o.response) if o.response is not None else None,
             "delivered": now if o.status == DELIVERED else None} for o in outcomes]
    with engine.begin() as connection:
        connection.execute(statement, rows)


def dead_letter(engine: Engine, ids: list[int], reason: str) -> None:
    with engine.begin() as connection:
        connection.execute(sa.update(messages).where(messages.c.id.in_(ids), messages.c.status.in_(UNDELIVERED))
                           .values(status=DEAD, last_error=reason, updated_at=utcnow()))


def undelivered(engine: Engine) -> list[tuple[int, str | None]]:
    """(id, workflow id) of every message not yet delivered nor dead: what recovery must see through."""
    with engine.connect() as connection:
        rows = connection.execute(sa.select(messages.c.id, messages.c.workflow_id)
                                  .where(messages.c.status.in_(UNDELIVERED)).order_by(messages.c.id)).all()
    return [(int(row.id), row.workflow_id) for row in rows]


def orphans(engine: Engine, received_before: datetime) -> list[int]:
    """Undelivered messages never tied to a delivery workflow, received before the given time."""
    with engine.connect() as connection:
        return [int(i) for i in connection.execute(
            sa.select(messages.c.id).where(messages.c.status.in_(UNDELIVERED), messages.c.workflow_id.is_(None),
                                           messages.c.received_at < received_before).order_by(messages.c.id)
        ).scalars()]


def reopen(engine: Engine, ids: list[int]) -> list[int]:
    """Put dead-lettered messages back to RECEIVED for a resubmit; returns those that were dead."""
    with engine.begin() as connection:
        dead = [int(i) for i in connection.execute(
            sa.select(messages.c.id).where(messages.c.id.in_(ids), messages.c.status == DEAD)).scalars()]
        if dead:
            connection.execute(sa.update(messages).where(messages.c.id.in_(dead))
                               .values(status=RECEIVED, workflow_id=None, updated_at=utcnow()))
    return dead


def search(engine: Engine, key: str | None = None, status: str | None = None, flow: str | None = None,
           limit: int = 200) -> list[dict[str, Any]]:
    """Messages, newest first, optionally those carrying a business key (any of their keys), status or flow."""
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
    with engine.connect() as connection:
        rows = connection.execute(query).all()
        keys = _keys_of(connection, [row.id for row in rows])
    return [summary(row, keys.get(row.id, {})) for row in rows]


def get(engine: Engine, message_id: int) -> dict[str, Any] | None:
    with engine.connect() as connection:
        row = connection.execute(sa.select(messages).where(messages.c.id == message_id)).one_or_none()
        if row is None:
            return None
        keys = _keys_of(connection, [message_id])
    detail = summary(row, keys.get(message_id, {}))
    detail.update(inbound_payload=row.inbound_payload, outbound_payload=_json(row.outbound_payload),
                  response=_json(row.response))
    return detail


def counts_by_status(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
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
        "workflowId": row.workflow_id, "receivedAt": _iso(row.received_at), "deliveredAt": _iso(row.delivered_at),
        "updatedAt": _iso(row.updated_at),
    }


def _iso(value: datetime | None) -> str | None:
    value = as_utc(value)
    return value.isoformat() if value else None


def _json(text: str | None) -> Any:
    return json.loads(text) if text else None
