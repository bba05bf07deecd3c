"""What the hub's workflows need at run time: its database, its clients, its lookups, its retry policy.

DBOS is a process singleton, so the hub is too: `bind()` at start-up, `current()` inside steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import httpx2
from sqlalchemy.engine import Engine

from derbridge.config import Settings
from derbridge.hub.lookup_store import LiveLookups
from derbridge.hub.replies import Settlements


class Dispatch(Protocol):
    def submit(self, message_ids: tuple[int, ...] | list[int]) -> None: ...

    def first_attempt_done(self, workflow_id: str) -> None: ...


@dataclass
class HubContext:
    settings: Settings
    db: Engine
    clients: dict[str, httpx2.Client]
    dispatcher: Dispatch
    lookups: LiveLookups
    """`lookups.snapshot()`: the current lookups, for the flows' mapping code."""
    settlements: Settlements
    """Endpoints waiting on messages' outcomes, woken as delivery settles them (hub/replies.py)."""


_current: HubContext | None = None


def bind(context: HubContext | None) -> None:
    global _current
    _current = context


def current() -> HubContext:
    if _current is None:
        raise RuntimeError("the hub is not running in this process")
    return _current
