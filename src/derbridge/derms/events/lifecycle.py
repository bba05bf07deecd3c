"""An event's states and the moves between them. Pure: no I/O.

New → Scheduled → In Progress → Completed, or Cancelled. An event is created New; one that needs no approval is
scheduled at once, one that does stays New until a named operator approves it. From then on the clock moves it:
In Progress at its start, Completed at its end. An operator may cancel it before its end: before its start its
reservation is undone (F10); once it has started its dispatch is stopped and its devices' outcome is cancelled
(D1CN). An event still New when its start comes was never approved and is cancelled.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum


class Status(StrEnum):
    NEW = "NEW"
    SCHEDULED = "SCHEDULED"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"


ORDER = (Status.NEW, Status.SCHEDULED, Status.IN_PROGRESS, Status.COMPLETED, Status.CANCELLED)
"""The states in the order an event passes them (Completed and Cancelled both final)."""
NOT_APPROVED_IN_TIME = "not approved before its start"

MOVES: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset({Status.SCHEDULED, Status.CANCELLED}),
    Status.SCHEDULED: frozenset({Status.IN_PROGRESS, Status.CANCELLED}),
    Status.IN_PROGRESS: frozenset({Status.COMPLETED, Status.CANCELLED}),
    Status.COMPLETED: frozenset(),
    Status.CANCELLED: frozenset(),
}


def can_move(current: Status, to: Status) -> bool:
    return to in MOVES[current]


def cancellable(current: Status, end: datetime, now: datetime) -> str | None:
    """Why the event cannot be cancelled now, or None when it can."""
    if current not in (Status.NEW, Status.SCHEDULED, Status.IN_PROGRESS):
        return f"the event is {current.value}: only an event that has not ended can be cancelled"
    if now >= end:
        return f"the event ended at {end.isoformat()}: only an event that has not ended can be cancelled"
    return None



def due_moves(current: Status, start: datetime, end: datetime, now: datetime) -> list[Status]:
    """The states the clock moves the event through now, in order (none when nothing is due): a scheduler that
    wakes late still reports every state the event passed."""
    if current == Status.NEW:
        return [Status.CANCELLED] if now >= start else []
    moves: list[Status] = []
    if current == Status.SCHEDULED and now >= start:
        moves.append(Status.IN_PROGRESS)
        current = Status.IN_PROGRESS
    if current == Status.IN_PROGRESS and now >= end:
        moves.append(Status.COMPLETED)
    return moves
