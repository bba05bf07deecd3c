"""The message log: every message the hub receives or sends, recorded before it is acknowledged.

A message is one inbound payload and the outbound payload the hub mapped it to. Its life:
RECEIVED → DELIVERED, or → RETRYING (transient fault) → … → DELIVERED | DEAD (dead letter);
DECLINED when the target answered with a business rejection (final, not retried);
REJECTED when the inbound payload was bad (kept raw, never delivered). Resubmit sends DEAD back to RECEIVED.

Some messages are made of parts (one F4 request from DERMS → one program-system call per enrollment): the
parts are messages of their own with `parent_id`; the parent WAITs until every part is settled, then its
flow composes the parent's own outbound payload (the per-record results) and it is delivered like any
other — or, when its results are the answer to the sender's request rather than a message of their own (it
has no outbound path), it is COMPLETE. A part not yet sent when its run was stopped is HELD; resubmit sends
it again. What someone should hear of (dead-lettered, refused, declined, a file or batch completed) is noted
in the same transaction as the change, for notification (hub/notify/capture.py).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from derbridge.clock import utcnow
from derbridge.hub.notify import capture, events
from derbridge.hub.schema import message_keys, messages
from derbridge.store.db import reading

RECEIVED, DELIVERED, RETRYING, DEAD, REJECTED = "RECEIVED", "DELIVERED", "RETRYING", "DEAD", "REJECTED"
DECLINED, WAITING, HELD, COMPLETE = "DECLINED", "WAITING", "HELD", "COMPLETE"
UNDELIVERED = (RECEIVED, RETRYING)
SETTLED = (DELIVERED, DECLINED, DEAD, HELD)
"""A part in one of these states is done with for this round: its parent may compose its results."""
REOPENABLE = (DEAD, HELD)


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
    outbound_payload: dict[str, Any] | None
    keys: dict[str, str] = field(default_factory=dict)
    status: str = RECEIVED
    last_error: str | None = None
    parts: tuple[NewMessage, ...] = ()


@dataclass(frozen=True)
class Recorded:
    id: int
    is_new: bool
    to_deliver: tuple[int, ...] = ()
    """The ids (this message's or its parts') that are ready to be delivered now."""


@dataclass(frozen=True)
class Outcome:
    """What one delivery attempt did to one message."""

    id: int
    status: str
    error: str = ""
    response: Any = None
    completes: bool = False
    """Delivered, and that completes a process someone may want to hear of (a file relayed)."""


def record(engine: Engine, message: NewMessage) -> Recorded:
    """Record an inbound message once per idempotency key; a repeat only counts as a duplicate."""
    return record_many(engine, [message])[0]


def record_many(engine: Engine, batch: list[NewMessage]) -> list[Recorded]:
    """Record several messages (and their parts) in one transaction, each once per idempotency key."""
    for attempt in range(3):
        try:
            with engine.begin() as connection:
                return _record_all(connection, batch, utcnow())
        except IntegrityError:  # the same message arrived twice at once (PostgreSQL): the other one won
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _record_all(connection: Connection, batch: list[NewMessage], now: datetime) -> list[Recorded]:
    """New messages go in with one statement for all (their parts with one per parent); a message whose
    idempotency key is known, or came earlier in the batch, counts as a duplicate of the one recorded."""
    existing = _existing_ids(connection, [m.idempotency_key for m in batch])
    fresh: dict[str, NewMessage] = {}
    for message in batch:
        if message.idempotency_key not in existing:
            fresh.setdefault(message.idempotency_key, message)
    recorded = dict(zip(fresh, _insert_rows(connection, list(fresh.values()), now), strict=True))
    ready: dict[str, tuple[int, ...]] = {}
    for key, message in fresh.items():
        message_id = recorded[key]
        part_ids = _insert_rows(connection, list(message.parts), now, parent_id=message_id)
        ready[key] = (*([message_id] if message.status == RECEIVED else []),
                      *(i for i, part in zip(part_ids, message.parts, strict=True) if part.status == RECEIVED))
    results: list[Recorded] = []
    duplicates: Counter[int] = Counter()
    for message in batch:
        key = message.idempotency_key
        if key in ready and fresh[key] is message:
            results.append(Recorded(recorded[key], True, ready.pop(key)))
            continue
        known = existing.get(key, recorded.get(key))
        assert known is not None
        duplicates[known] += 1
        results.append(Recorded(known, False))
    _count_duplicates(connection, duplicates, now)
    return results


def _existing_ids(connection: Connection, idempotency_keys: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(idempotency_keys), 500):
        chunk = idempotency_keys[start:start + 500]
        for key, message_id in connection.execute(
                sa.select(messages.c.idempotency_key, messages.c.id).where(messages.c.idempotency_key.in_(chunk))):
            found[key] = int(message_id)
    return found


def _insert_rows(connection: Connection, batch: list[NewMessage], now: datetime,
                 parent_id: int | None = None) -> list[int]:
    """Insert messages with one statement, then their keys with another; ids in the batch's order. Those
    recorded dead (their mapping failed) or refused are noted for notification."""
    if not batch:
        return []
    rows = [{
        "flow": m.flow, "kind": m.kind, "source": m.source, "target": m.target, "business_key": m.business_key,
        "idempotency_key": m.idempotency_key or None, "status": m.status, "attempts": 0, "duplicates": 0,
        "last_error": m.last_error, "inbound_payload": m.inbound_payload, "outbound_path": m.outbound_path or None,
        "outbound_payload": json.dumps(m.outbound_payload) if m.outbound_payload is not None else None,
        "parent_id": parent_id, "received_at": now, "updated_at": now,
        "delivered_at": None,
    } for m in batch]
    ids = [int(i) for i in connection.execute(
        sa.insert(messages).returning(messages.c.id, sort_by_parameter_order=True), rows).scalars()]
    keys = [{"message_id": message_id, "name": name, "value": str(value)[:200]}
            for message_id, message in zip(ids, batch, strict=True) for name, value in message.keys.items()]
    if keys:
        connection.execute(sa.insert(message_keys), keys)
    for status, event in ((DEAD, events.MAPPING_FAILURE), (REJECTED, events.INTAKE_REFUSED)):
        capture.note(connection, event, [i for i, m in zip(ids, batch, strict=True) if m.status == status], now)
    return ids


def record_rejected(engine: Engine, flow: str, kind: str, source: str, target: str, raw: bytes,
                    errors: list[dict[str, Any]]) -> int:
    """Keep a refused inbound message as it arrived, with the reasons, for inspection."""
    rejected = NewMessage(flow=flow, kind=kind, source=source, target=target, business_key="",
                          idempotency_key="", inbound_payload=raw.decode("utf-8", errors="replace"),
                          outbound_path="", outbound_payload=None, status=REJECTED, last_error=json.dumps(errors))
    with engine.begin() as connection:
        [message_id] = _insert_rows(connection, [rejected], utcnow())
    return message_id


def _count_duplicates(connection: Connection, duplicates: Counter[int], now: datetime) -> None:
    """Add to each message's count of duplicates received, one statement for all."""
    if duplicates:
        connection.execute(sa.update(messages).where(messages.c.id == sa.bindparam("message"))
                           .values(duplicates=messages.c.duplicates + sa.bindparam("more"), updated_at=now),
                           [{"message": message_id, "more": more} for message_id, more in duplicates.items()])


def assign_workflow(engine: Engine, ids: list[int], workflow_id: str) -> None:
    with engine.begin() as connection:
        connection.execute(sa.update(messages).where(messages.c.id.in_(ids)).values(workflow_id=workflow_id))


def deliverable(engine: Engine, ids: list[int]) -> list[Any]:
    """The messages among `ids` that still need delivering (a re-run step skips what is done)."""
    with reading(engine) as connection:
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
             "delivered": now if o.status in (DELIVERED, DECLINED) else None} for o in outcomes]
    with engine.begin() as connection:
        connection.execute(statement, rows)
        capture.note(connection, events.DEAD_LETTER, [o.id for o in outcomes if o.status == DEAD], now)
        capture.note(connection, events.DECLINED, [o.id for o in outcomes if o.status == DECLINED], now)
        capture.note(connection, events.COMPLETION, [o.id for o in outcomes if o.completes], now)


def set_outbound_payload(engine: Engine, message_id: int, payload: dict[str, Any]) -> None:
    with engine.begin() as connection:
        connection.execute(sa.update(messages).where(messages.c.id == message_id)
                           .values(outbound_payload=json.dumps(payload), updated_at=utcnow()))


def dead_letter(engine: Engine, ids: list[int], reason: str, statuses: tuple[str, ...] = UNDELIVERED) -> None:
    """Dead-letter those of `ids` still in one of `statuses` (by default: any not yet delivered)."""
    with engine.begin() as connection:
        dead = connection.execute(
            sa.update(messages).where(messages.c.id.in_(ids), messages.c.status.in_(statuses))
            .values(status=DEAD, last_error=reason, updated_at=utcnow()).returning(messages.c.id)).scalars().all()
        capture.note_dead(connection, dead, utcnow())


def without_payload(engine: Engine, ids: list[int]) -> list[Any]:
    """The messages among `ids` that have no outbound payload (their mapping failed when they arrived)."""
    if not ids:
        return []
    with reading(engine) as connection:
        return list(connection.execute(sa.select(messages).where(
            messages.c.id.in_(ids), messages.c.outbound_payload.is_(None))).all())


def undelivered(engine: Engine) -> list[tuple[int, str | None]]:
    """(id, workflow id) of every message not yet delivered nor dead: what recovery must see through."""
    with reading(engine) as connection:
        rows = connection.execute(sa.select(messages.c.id, messages.c.workflow_id)
                                  .where(messages.c.status.in_(UNDELIVERED)).order_by(messages.c.id)).all()
    return [(int(row.id), row.workflow_id) for row in rows]


def orphans(engine: Engine, received_before: datetime) -> list[int]:
    """Undelivered messages never tied to a delivery workflow, received before the given time."""
    with reading(engine) as connection:
        return [int(i) for i in connection.execute(
            sa.select(messages.c.id).where(messages.c.status.in_(UNDELIVERED), messages.c.workflow_id.is_(None),
                                           messages.c.received_at < received_before).order_by(messages.c.id)
        ).scalars()]


def reopen(engine: Engine, ids: list[int]) -> list[int]:
    """Resubmit: DEAD or HELD messages go back to RECEIVED, and so do the DEAD or HELD parts of a parent
    named here; a parent whose parts reopen waits for them again. Returns the ids to deliver."""
    now = utcnow()
    with engine.begin() as connection:
        reopened = [int(i) for i in connection.execute(
            sa.select(messages.c.id).where(
                messages.c.status.in_(REOPENABLE),
                sa.or_(messages.c.id.in_(ids), messages.c.parent_id.in_(ids)))).scalars()]
        if not reopened:
            return []
        connection.execute(sa.update(messages).where(messages.c.id.in_(reopened))
                           .values(status=RECEIVED, workflow_id=None, updated_at=now))
        parents = connection.execute(sa.select(messages.c.parent_id).distinct().where(
            messages.c.id.in_(reopened), messages.c.parent_id.is_not(None))).scalars().all()
        if parents:
            connection.execute(sa.update(messages).where(messages.c.id.in_(parents))
                               .values(status=WAITING, workflow_id=None, updated_at=now))
    return reopened


# ---- messages made of parts ----

def waiting_parents(engine: Engine, part_ids: list[int]) -> list[int]:
    """The WAITING parents of the given parts."""
    with reading(engine) as connection:
        return [int(i) for i in connection.execute(sa.select(messages.c.parent_id).distinct().where(
            messages.c.id.in_(part_ids), messages.c.parent_id.is_not(None),
            messages.c.parent_id.in_(sa.select(messages.c.id).where(messages.c.status == WAITING)))).scalars()]


def hold_unsent_parts(engine: Engine, parent_id: int, reason: str) -> int:
    """Stop a run: the parts not yet delivered are HELD (resubmit sends them)."""
    with engine.begin() as connection:
        return int(connection.execute(
            sa.update(messages).where(messages.c.parent_id == parent_id, messages.c.status.in_(UNDELIVERED))
            .values(status=HELD, last_error=reason, updated_at=utcnow())).rowcount)


def parts_of(engine: Engine, parent_id: int) -> list[Any]:
    with reading(engine) as connection:
        return list(connection.execute(
            sa.select(messages).where(messages.c.parent_id == parent_id).order_by(messages.c.id)).all())


def message_row(engine: Engine, message_id: int) -> Any:
    with reading(engine) as connection:
        return connection.execute(sa.select(messages).where(messages.c.id == message_id)).one()


def release_parent(engine: Engine, parent_id: int, outbound_payload: dict[str, Any], deliver: bool = True) -> bool:
    """A WAITING parent whose parts are all settled gets its payload, once, and becomes deliverable — or
    COMPLETE when it is not to be delivered (its payload answers the sender's request); that completes its
    batch (an event telling how its parts ended)."""
    now = utcnow()
    with engine.begin() as connection:
        counts: dict[str, int] = dict(connection.execute(sa.select(messages.c.status, sa.func.count()).where(
            messages.c.parent_id == parent_id).group_by(messages.c.status)).tuples().all())
        if any(status not in SETTLED for status in counts):
            return False
        released = bool(connection.execute(
            sa.update(messages).where(messages.c.id == parent_id, messages.c.status == WAITING)
            .values(status=RECEIVED if deliver else COMPLETE, outbound_payload=json.dumps(outbound_payload),
                    workflow_id=None, updated_at=now, delivered_at=None if deliver else now)).rowcount)
        if released:
            told = ", ".join(f"{count} {status.lower()}" for status, count in sorted(counts.items()))
            capture.note(connection, events.COMPLETION, [parent_id], now, detail=f"parts: {told}")
        return released


def settled_waiting_parents(engine: Engine) -> list[int]:
    """WAITING parents none of whose parts is still on its way (a crash came between the two)."""
    part = messages.alias("part")
    unsettled = sa.select(part.c.id).where(part.c.parent_id == messages.c.id, part.c.status.not_in(SETTLED))
    with reading(engine) as connection:
        return [int(i) for i in connection.execute(
            sa.select(messages.c.id).where(messages.c.status == WAITING, ~sa.exists(unsettled))).scalars()]


def statuses_by_key(engine: Engine, flow: str, kind: str, name: str, value: str) -> dict[str, str]:
    """Business key → status of the messages of a flow and kind that carry the key `name` = `value`."""
    with reading(engine) as connection:
        rows = connection.execute(
            sa.select(messages.c.business_key, messages.c.status)
            .join(message_keys, message_keys.c.message_id == messages.c.id)
            .where(messages.c.flow == flow, messages.c.kind == kind, message_keys.c.name == name,
                   message_keys.c.value == value)).all()
    return {row.business_key: row.status for row in rows}
