"""Answers that wait on a recorded outcome: woken when delivery settles the message, or answered from what is
known when the time is up."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from derbridge.hub.replies import Reply, Settlements
from derbridge.web.batch import Answer


def reply_from(outcomes: dict[int, str]) -> Reply:
    """A reply answering 200 with a message's outcome once it has one, 202 'not yet' when out of time."""

    def answer(_db: Any, message_id: int, out_of_time: bool) -> Answer | None:
        if message_id in outcomes:
            return Answer(200, outcomes[message_id])
        return Answer(202, "not yet") if out_of_time else None

    return Reply(lambda _settings: True, answer)


def test_a_waiter_answers_as_soon_as_delivery_says_the_message_settled() -> None:
    settlements, outcomes = Settlements(), {}

    def deliver() -> None:
        time.sleep(0.1)
        outcomes[7] = "delivered"
        settlements.notify([7])

    threading.Thread(target=deliver).start()
    started = time.monotonic()
    answers = asyncio.run(settlements.answers(reply_from(outcomes), None, [7], wait_s=5.0))  # type: ignore[arg-type]
    assert answers == [Answer(200, "delivered")]
    assert time.monotonic() - started < 0.8, "woken by the notification, not by the once-a-second look"


def test_out_of_time_each_message_is_answered_from_what_is_known() -> None:
    settlements = Settlements()
    started = time.monotonic()
    answers = asyncio.run(settlements.answers(reply_from({1: "delivered"}), None, [1, 2], wait_s=0.3))  # type: ignore[arg-type]
    assert answers == [Answer(200, "delivered"), Answer(202, "not yet")]
    assert 0.25 < time.monotonic() - started < 1.5
    settlements.notify([1, 2])  # nobody waits any more: nothing happens
