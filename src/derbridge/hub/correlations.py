"""Asynchronous requests and their replies, paired by a correlation id (F6: the status check's communicationId).

The request opens a correlation (WAITING, with a deadline); the reply closes it (ANSWERED). A request
without a reply by its deadline is EXPIRED; a reply that comes after that is still relayed, and the
correlation says LATE. A reply whose request never passed through this hub is UNMATCHED. A repeated reply
is a duplicate in the message log and never reaches here twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from derbridge.clock import as_utc, utcnow
from derbridge.hub.schema import correlations

WAITING, ANSWERED, EXPIRED, LATE, UNMATCHED = "WAITING", "ANSWERED", "EXPIRED", "LATE", "UNMATCHED"


@dataclass(frozen=True)
class Closed:
    state: str
    round_trip_s: float | None
    """Request to reply, when the reply answered a request this hub saw."""


def open_request(engine: Engine, correlation_id: str, flow: str, request_message_id: int, timeout_s: float,
                 now: datetime | None = None) -> None:
    """Start waiting for the reply to a request (once: a repeated request changes nothing)."""
    now = now or utcnow()
    try:
        with engine.begin() as connection:
            connection.execute(sa.insert(correlations).values(
                correlation_id=correlation_id, flow=flow, request_message_id=request_message_id, state=WAITING,
                opened_at=now, deadline=now + timedelta(seconds=timeout_s)))
    except IntegrityError:
        pass  # already open (or already answered: the reply came first)


def close_with_reply(engine: Engine, correlation_id: str, flow: str, reply_message_id: int,
                     now: datetime | None = None) -> Closed:
    """Pair a reply with its request; says whether it was in time, late, or for a request never seen."""
    now = now or utcnow()
    with engine.begin() as connection:
        row = connection.execute(sa.select(correlations).where(
            correlations.c.correlation_id == correlation_id)).one_or_none()
        if row is None:
            connection.execute(sa.insert(correlations).values(
                correlation_id=correlation_id, flow=flow, reply_message_id=reply_message_id, state=UNMATCHED,
                closed_at=now))
            return Closed(UNMATCHED, None)
        if row.state not in (WAITING, EXPIRED):
            return Closed(row.state, None)
        state = ANSWERED if row.state == WAITING else LATE
        connection.execute(sa.update(correlations).where(correlations.c.correlation_id == correlation_id)
                           .values(state=state, reply_message_id=reply_message_id, closed_at=now))
    opened = as_utc(row.opened_at)
    return Closed(state, (now - opened).total_seconds() if opened else None)


def expire_overdue(engine: Engine, now: datetime | None = None) -> int:
    """Requests still waiting past their deadline are EXPIRED; returns how many."""
    now = now or utcnow()
    with engine.begin() as connection:
        return int(connection.execute(
            sa.update(correlations).where(correlations.c.state == WAITING, correlations.c.deadline < now)
            .values(state=EXPIRED, closed_at=now)).rowcount)
