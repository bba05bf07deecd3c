"""Events recorded in the transaction that makes them happen: a crash can neither lose one nor invent one.

The message log calls these from inside its own transactions (a message dead-lettered, refused, declined,
completed); each event copies the message's flow, kind, business key and error from the log. Nothing is
sent here: the notifier (worker.py) gathers events into digests later, so recording one costs an INSERT.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from derbridge.clock import utcnow
from derbridge.hub.notify.events import DEAD_LETTER, MAPPING_FAILURE, NO_FILE
from derbridge.hub.schema import messages, notification_events

CHUNK = 500
"""Ids per statement: well under SQLite's oldest limit of 999 bound values."""
COLUMNS = ("at", "flow", "event", "message_id", "message_kind", "business_key", "detail")


def note(connection: Connection, event: str | sa.ColumnElement[str], ids: Sequence[int], now: datetime,
         detail: str | None = None) -> None:
    """One `event` for each message among `ids`, told with its error (or `detail`)."""
    said = sa.literal(detail, sa.Text) if detail is not None else messages.c.last_error
    event_column = sa.literal(event, sa.String) if isinstance(event, str) else event
    for start in range(0, len(ids), CHUNK):
        chunk = list(ids[start:start + CHUNK])
        connection.execute(sa.insert(notification_events).from_select(COLUMNS, sa.select(
            sa.literal(now, sa.DateTime(timezone=True)), messages.c.flow, event_column, messages.c.id,
            messages.c.kind, messages.c.business_key, said).where(messages.c.id.in_(chunk))))


def note_dead(connection: Connection, ids: Sequence[int], now: datetime) -> None:
    """Messages just dead-lettered: never attempted means their mapping failed, else a dead letter."""
    note(connection, sa.case((messages.c.attempts == 0, MAPPING_FAILURE), else_=DEAD_LETTER), ids, now)


def no_file_found(engine: Engine, flow: str, expected: str, detail: str) -> None:
    """A scheduled pickup found no file: `expected` names what was due (e.g. the file pattern and directory)."""
    with engine.begin() as connection:
        connection.execute(sa.insert(notification_events).values(
            at=utcnow(), flow=flow, event=NO_FILE, message_id=None, message_kind=None,
            business_key=expected[:200], detail=detail))
