"""A system's background worker: one thread doing rounds of work, woken when work arrives and every few
seconds regardless (so work left by a restart is taken up without anyone waking it)."""

from __future__ import annotations

import threading

import structlog

log = structlog.get_logger()


class Worker:
    """Runs `round()` again and again in a thread of its own; `round` says how long to wait before the next
    (0: at once, there may be more). `wake()` cuts the wait short; a wake during a round is not lost. A round
    that fails is logged and the next comes after `poll_s`: the work stays where it was in the database."""

    def __init__(self, name: str, poll_s: float) -> None:
        self.name = name
        self.poll_s = poll_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def round(self) -> float:
        raise NotImplementedError

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()  # before the round: work arriving during it wakes the next one at once
            try:
                wait = self.round()
            except Exception:
                log.exception("worker.round_failed", worker=self.name)
                wait = self.poll_s
            if wait > 0:
                self._wake.wait(wait)
