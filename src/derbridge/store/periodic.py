"""Work a system repeats on its own (expire overdue checks, …): a thread that runs a task every few seconds."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import structlog

log = structlog.get_logger()


class Periodic:
    """Runs `task()` every `every_s` seconds until stopped; a failed run is logged and the next one comes."""

    def __init__(self, name: str, every_s: float, task: Callable[[], Any]) -> None:
        self.name = name
        self.every_s = every_s
        self.task = task
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"periodic-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                self.task()
            except Exception:
                log.exception("periodic.failed", task=self.name)
