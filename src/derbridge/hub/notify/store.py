"""Digests and notifications in the hub's database: kept until sent, so a stop or a crash loses none.

Events wait (notification_events.gathered_at empty) until their window closes: the window of a flow and kind
opens with its first waiting event, and when it has lasted `window_s`, every waiting event of that flow and
kind becomes one digest, written as one notification per recipient in the same transaction that marks the
events gathered. A notification is PENDING until its channel accepts it (SENT), or FAILED when the channel
refuses it for good or its retries run out. Sending claims a notification for a while first, so two hub
processes never send the same one at once, and one left claimed by a crash is sent again after the lease.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from derbridge.clock import iso_utc
from derbridge.hub.notify.config import NotifyConfig
from derbridge.hub.notify.digest import Gathered, compose
from derbridge.hub.schema import notification_events, notifications
from derbridge.runtime.retry import RetryPolicy
from derbridge.store.db import reading
from derbridge.web.client import Outcome

PENDING, SENT, FAILED = "PENDING", "SENT", "FAILED"
events_table, table = notification_events, notifications


class _Overtaken(Exception):
    """Another hub process gathered some of the same events first: this digest is abandoned."""


def gather(engine: Engine, config: NotifyConfig, now: datetime) -> int:
    """Turn every group whose window has closed into a digest; returns how many digests were made."""
    made = 0
    for flow, event in due_groups(engine, now - timedelta(seconds=config.window_s)):
        try:
            with engine.begin() as connection:
                made += gather_group(connection, config, flow, event, now)
        except _Overtaken:
            continue
    return made


def due_groups(engine: Engine, opened_before: datetime) -> list[tuple[str, str]]:
    e = events_table
    with reading(engine) as connection:
        return [(row.flow, row.event) for row in connection.execute(
            sa.select(e.c.flow, e.c.event).where(e.c.gathered_at.is_(None)).group_by(e.c.flow, e.c.event)
            .having(sa.func.min(e.c.at) <= opened_before))]


def gather_group(connection: Connection, config: NotifyConfig, flow: str, event: str, now: datetime) -> int:
    """One digest of the waiting events of `flow` and `event`, a notification per recipient (none when
    nobody is to hear of it: the events are gathered all the same). Returns 1 if a digest was made."""
    e = events_table
    waiting = (e.c.gathered_at.is_(None), e.c.flow == flow, e.c.event == event)
    first_id, last_id, count, first_at, last_at = connection.execute(sa.select(
        sa.func.min(e.c.id), sa.func.max(e.c.id), sa.func.count(), sa.func.min(e.c.at), sa.func.max(e.c.at))
        .where(*waiting)).one()
    if not count:
        return 0
    taken = connection.execute(sa.update(e).where(*waiting, e.c.id <= last_id)
                               .values(gathered_at=now, digest=first_id)).rowcount
    if taken != count:
        raise _Overtaken()
    recipients = config.recipients_of(flow, event)
    if not recipients:
        return 0
    listed = connection.execute(sa.select(e).where(e.c.id.between(first_id, last_id), e.c.digest == first_id)
                                .order_by(e.c.id)
                                .limit(config.digest_keys)).all()
    payload = compose(Gathered(flow, event, first_id, count, first_at, last_at, list(listed)))
    connection.execute(sa.insert(table), [{
        "digest": first_id, "flow": flow, "event": event, "audience": payload["audience"],
        "channel": recipient.channel, "recipient": recipient.address, "subject": payload["subject"],
        "events": count, "payload": json.dumps(payload), "status": PENDING, "attempts": 0,
        "next_attempt_at": now, "created_at": now} for recipient in recipients])
    return 1


def claim_due(engine: Engine, now: datetime, lease_s: float, limit: int = 50) -> list[Any]:
    """The notifications due now, each claimed for `lease_s` (its next attempt moved past the lease); a read
    first, so an idle hub takes no write turn."""
    n = table
    due_now = (n.c.status == PENDING, n.c.next_attempt_at <= now)
    with reading(engine) as connection:
        due = list(connection.execute(sa.select(n.c.id).where(*due_now).order_by(n.c.id).limit(limit)).scalars())
    if not due:
        return []
    with engine.begin() as connection:
        return list(connection.execute(sa.update(n).where(n.c.id.in_(due), *due_now)
                                       .values(next_attempt_at=now + timedelta(seconds=lease_s)).returning(*n.c)))


def record_attempts(engine: Engine, rows: list[Any], outcomes: list[Outcome], retry: RetryPolicy,
                    now: datetime) -> None:
    """One attempt per notification: SENT, FAILED (refused for good, or out of retries), or due again later."""
    n = table
    updates = []
    for row, outcome in zip(rows, outcomes, strict=True):
        attempts = row.attempts + 1
        status, error, next_attempt = PENDING, outcome.error or None, now + timedelta(seconds=retry.delay_s(attempts))
        if outcome.delivered:
            status = SENT
        elif outcome.verdict == "permanent":
            status = FAILED
        elif retry.exhausted(attempts):
            status, error = FAILED, f"gave up after {attempts} attempts: {outcome.error}"
        updates.append({"row_id": row.id, "new_status": status, "new_attempts": attempts, "error": error,
                        "next_attempt": next_attempt, "sent": now if outcome.delivered else None})
    if updates:
        with engine.begin() as connection:
            connection.execute(sa.update(n).where(n.c.id == sa.bindparam("row_id")).values(
                status=sa.bindparam("new_status"), attempts=sa.bindparam("new_attempts"),
                last_error=sa.bindparam("error"), next_attempt_at=sa.bindparam("next_attempt"),
                sent_at=sa.bindparam("sent")), updates)


def search(engine: Engine, status: str | None = None, flow: str | None = None, limit: int = 200
           ) -> list[dict[str, Any]]:
    """Notifications, newest first, optionally by status or flow."""
    query = sa.select(table).order_by(table.c.id.desc()).limit(limit)
    if status:
        query = query.where(table.c.status == status.upper())
    if flow:
        query = query.where(table.c.flow == flow.upper())
    with reading(engine) as connection:
        return [summary(row) for row in connection.execute(query)]


def get(engine: Engine, notification_id: int) -> dict[str, Any] | None:
    with reading(engine) as connection:
        row = connection.execute(sa.select(table).where(table.c.id == notification_id)).one_or_none()
    return None if row is None else {**summary(row), "payload": json.loads(row.payload)}


def summary(row: Any) -> dict[str, Any]:
    return {"id": row.id, "digest": row.digest, "flow": row.flow, "event": row.event, "audience": row.audience,
            "channel": row.channel, "recipient": row.recipient, "subject": row.subject, "events": row.events,
            "status": row.status, "attempts": row.attempts, "lastError": row.last_error,
            "createdAt": iso_utc(row.created_at), "nextAttemptAt": iso_utc(row.next_attempt_at) if
            row.status == PENDING else None, "sentAt": iso_utc(row.sent_at)}
