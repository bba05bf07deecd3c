"""When to try a delivery again: exponential backoff, capped; shared by the hub and the systems' senders."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """Wait `initial_s`, then twice as long after each failed attempt, never more than `max_interval_s`; give up
    after `max_attempts` (None: never, the fault must be permanent to stop)."""

    initial_s: float = 1.0
    max_interval_s: float = 300.0
    max_attempts: int | None = None

    def delay_s(self, attempts: int) -> float:
        """The wait after `attempts` failed attempts (the first waits `initial_s`)."""
        return float(min(self.max_interval_s, self.initial_s * (2 ** max(0, attempts - 1))))

    def exhausted(self, attempts: int) -> bool:
        return self.max_attempts is not None and attempts >= self.max_attempts
