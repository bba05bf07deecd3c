"""Work a system repeats on its own (expire overdue checks, …): a worker that runs a task every few seconds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from derbridge.runtime.worker import Worker


class Periodic(Worker):
    """Runs `task()` at start and every `every_s` seconds until stopped; a failed run is logged and the next
    one comes."""

    def __init__(self, name: str, every_s: float, task: Callable[[], Any]) -> None:
        super().__init__(f"periodic-{name}", every_s)
        self.task = task

    def round(self) -> float:
        self.task()
        return self.poll_s
