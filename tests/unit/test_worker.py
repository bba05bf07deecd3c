"""A background worker: rounds until stopped, woken early by wake(), and alive after a failed round."""

from __future__ import annotations

import threading
import time

from derbridge.runtime.periodic import Periodic
from derbridge.runtime.system import Runtime
from derbridge.runtime.worker import Worker


class Counting(Worker):
    def __init__(self, poll_s: float, fail_first: bool = False) -> None:
        super().__init__("counting", poll_s)
        self.rounds = 0
        self.fail_first = fail_first
        self.ran = threading.Event()

    def round(self) -> float:
        self.rounds += 1
        self.ran.set()
        if self.fail_first and self.rounds == 1:
            raise RuntimeError("the database is away")
        return self.poll_s


def test_wake_runs_a_round_at_once_instead_of_after_the_poll() -> None:
    worker = Counting(poll_s=60)
    worker.start()
    try:
        assert worker.ran.wait(5)
        worker.ran.clear()
        worker.wake()
        assert worker.ran.wait(5), "woken, the worker did not wait out its 60 s poll"
        assert worker.rounds == 2
    finally:
        worker.stop()


def test_a_failed_round_is_followed_by_the_next_after_the_poll() -> None:
    worker = Counting(poll_s=0.05, fail_first=True)
    worker.start()
    try:
        deadline = time.monotonic() + 5
        while worker.rounds < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert worker.rounds >= 3
    finally:
        worker.stop()


def test_stop_ends_the_thread_during_a_long_wait() -> None:
    worker = Counting(poll_s=60)
    worker.start()
    assert worker.ran.wait(5)
    started = time.monotonic()
    worker.stop()
    assert time.monotonic() - started < 5
    assert worker._thread is not None and not worker._thread.is_alive()


def test_a_systems_task_is_run_at_once_when_woken_by_name() -> None:
    ran = threading.Semaphore(0)
    runtime = Runtime("derms", [])
    runtime.periodic = [Periodic("drop-and-backfill", 60, ran.release), Periodic("other", 60, lambda: None)]
    for task in runtime.periodic:
        task.start()
    try:
        assert ran.acquire(timeout=5), "a task runs at start"
        runtime.wake_task("drop-and-backfill")
        assert ran.acquire(timeout=5), "woken by name, the task did not wait out its 60 s period"
        runtime.wake_task("no-such-task")  # nothing to wake: nothing happens
    finally:
        for task in runtime.periodic:
            task.stop()
