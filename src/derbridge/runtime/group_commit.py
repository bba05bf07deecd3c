"""Group commit: items that callers hand in at the same time are handled together, in one call.

An API documented as one item per HTTP call (the program system's enroll) still meets its callers many at a
time: the hub sends a message's records concurrently. Each caller hands its item in and waits; whichever
caller finds nobody handling takes every item waiting (up to `max_items`) and handles them in one call of
`handle` — for enrollment, a few reads and one write transaction for the group instead of fifteen statements
and a commit per record. Nobody waits on a timer: a group is whatever arrived while the last one was being
handled, so a lone caller is handled at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass
class _Ticket(Generic[Item, Result]):
    item: Item
    done: bool = False
    result: Result | None = None
    error: BaseException | None = None


class GroupCommit(Generic[Item, Result]):
    """Hand items in one at a time from many threads; `handle` gets them in groups and returns one result each.

    If `handle` raises, every caller of that group gets the exception: make `handle` answer item by item
    where one item's fault must not fail the others.
    """

    def __init__(self, handle: Callable[[list[Item]], list[Result]], max_items: int = 200) -> None:
        self._handle = handle
        self.max_items = max_items
        self._changed = threading.Condition()
        self._waiting: list[_Ticket[Item, Result]] = []
        self._handling = False

    @property
    def waiting(self) -> int:
        """How many items wait for the next group."""
        with self._changed:
            return len(self._waiting)

    def submit(self, item: Item) -> Result:
        """Handle `item`, with whatever other items are waiting, and return its result."""
        ticket: _Ticket[Item, Result] = _Ticket(item)
        with self._changed:
            self._waiting.append(ticket)
        while True:
            with self._changed:
                while self._handling and not ticket.done:
                    self._changed.wait()
                if ticket.done:
                    break
                self._handling = True
                group, self._waiting = self._waiting[:self.max_items], self._waiting[self.max_items:]
            self._handle_group(group)
        if ticket.error is not None:
            raise ticket.error
        return ticket.result  # type: ignore[return-value]

    def _handle_group(self, group: list[_Ticket[Item, Result]]) -> None:
        try:
            results = self._handle([ticket.item for ticket in group])
            if len(results) != len(group):
                raise RuntimeError(f"group commit: {len(results)} results for {len(group)} items")
            for ticket, result in zip(group, results, strict=True):
                ticket.result = result
        except BaseException as error:  # noqa: BLE001 — every waiter of the group must learn of it
            for ticket in group:
                ticket.error = error
        finally:
            with self._changed:
                for ticket in group:
                    ticket.done = True
                self._handling = False
                self._changed.notify_all()
