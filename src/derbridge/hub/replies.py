"""Answers that carry the far side's result, as the vendor's middleware gives them, without giving up durability.

Where the vendor's middleware answers its caller with what the other system said (F6's two legs; F4 towards a
DERMS without the results callback), the hub does too. The message is recorded first and handed to delivery
like any other; the endpoint then waits on the recorded outcome — it never delivers anything itself — for at
most `reply_wait_s`, and answers with it; when time runs out it answers with what is known, saying so (ackType
FAILURE, HTTP 202), and delivery goes on. A repeat of the message waits on the one recorded first, so nothing
is delivered twice.

Delivery says when messages settle (`Settlements.notify`); a waiter also reads the log about once a second,
so an outcome recorded by another hub process is seen too.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import Engine

from derbridge.config import Settings
from derbridge.web.batch import Answer

RECHECK_S = 1.0


@dataclass(frozen=True)
class Reply:
    """How one kind of inbound message is answered when the hub answers with the far side's result."""

    on: Callable[[Settings], bool]
    """Whether this hub answers so (off: the MsgAck `RECEIVED` once recorded)."""
    answer: Callable[[Engine, int, bool], Answer | None]
    """(database, the recorded message's id, out of time) → the answer once the outcome is known, else None;
    out of time, the answer from what is known now."""


class Settlements:
    """Wakes the endpoints waiting on messages of this process when those messages settle."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[int, list[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}

    def notify(self, message_ids: Iterable[int]) -> None:
        """From any thread: these messages changed state; whoever waits on them looks again."""
        with self._lock:
            woken = [waiter for message_id in message_ids for waiter in self._waiting.get(message_id, ())]
        for loop, event in woken:
            loop.call_soon_threadsafe(event.set)

    async def answers(self, reply: Reply, db: Engine, message_ids: list[int], wait_s: float) -> list[Answer]:
        """One answer per message, each as soon as its outcome is known, or from what is known at the deadline."""
        event = asyncio.Event()
        waiter = (asyncio.get_running_loop(), event)
        self._add(message_ids, waiter)
        deadline = time.monotonic() + wait_s
        found: dict[int, Answer] = {}
        try:
            while True:
                event.clear()  # before looking: a settlement from now on wakes the wait below
                out_of_time = time.monotonic() >= deadline
                for message_id in set(message_ids) - set(found):
                    answer = await run_in_threadpool(reply.answer, db, message_id, out_of_time)
                    if answer is not None:
                        found[message_id] = answer
                if len(found) == len(set(message_ids)):
                    return [found[message_id] for message_id in message_ids]
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), max(0.0, min(RECHECK_S, deadline - time.monotonic())))
        finally:
            self._remove(message_ids, waiter)

    def _add(self, message_ids: list[int], waiter: tuple[asyncio.AbstractEventLoop, asyncio.Event]) -> None:
        with self._lock:
            for message_id in set(message_ids):
                self._waiting.setdefault(message_id, []).append(waiter)

    def _remove(self, message_ids: list[int], waiter: tuple[asyncio.AbstractEventLoop, asyncio.Event]) -> None:
        with self._lock:
            for message_id in set(message_ids):
                waiters = self._waiting.get(message_id, [])
                if waiter in waiters:
                    waiters.remove(waiter)
                if not waiters:
                    self._waiting.pop(message_id, None)
