"""The one clock every system reads business time from, and the few rules times follow everywhere.

Every date-time derbridge holds is timezone-aware UTC; values without an offset (SQLite hands back naive
ones; some senders write none) are read as UTC, never as the host's local time. `utcnow()` is the only way
to ask the time, so a test or a scenario can move it:

- `SystemClock`: the machine's time (the default).
- `ManualClock`: a time that stands still until told to move; for tests in one process.
- `SharedClock`: the machine's time plus an offset kept in a small file, re-read when the file changes. All
  three systems pointed at the same file (`DERBRIDGE_CLOCK_FILE`) share one timeline, even as separate
  processes, and a scenario moves all of them at once (`advance_shared_clock`): a season of events runs in
  minutes, and timeouts measured in seconds still pass at the machine's pace between jumps.

Technical waits (retry backoff, polling, HTTP timeouts) use the machine's time, not this clock.
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol, overload


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A time that moves only when told to."""

    def __init__(self, start: datetime) -> None:
        self._now = as_utc(start)

    def now(self) -> datetime:
        return self._now

    def advance(self, by: timedelta) -> datetime:
        self._now += by
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = as_utc(moment)


class SharedClock:
    """The machine's time plus the offset (seconds, a decimal number) written in `path`; no file is no offset."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._seen: float | None = None
        self._offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._current_offset()

    def _current_offset(self) -> timedelta:
        try:
            changed = os.stat(self.path).st_mtime_ns
        except FileNotFoundError:
            return timedelta(0)
        with self._lock:
            if changed != self._seen:
                self._offset = timedelta(seconds=float(self.path.read_text().strip() or 0))
                self._seen = changed
            return self._offset


def advance_shared_clock(path: Path, by: timedelta) -> timedelta:
    """Move every system sharing the clock file forward (or back); returns the new offset."""
    offset = SharedClock(path)._current_offset() + by
    temporary = path.with_suffix(".tmp")
    temporary.write_text(f"{offset.total_seconds():.6f}\n")
    temporary.replace(path)  # atomic: a reader sees the old offset or the new one
    return offset


_clock: Clock = SystemClock()


def utcnow() -> datetime:
    """Now, in UTC, as the current clock tells it."""
    return _clock.now()


def use_clock(clock: Clock) -> Clock:
    """Make `clock` the one every system reads in this process; returns the one it replaces."""
    global _clock
    previous, _clock = _clock, clock
    return previous


def clock_for(clock_file: str) -> Clock:
    """The clock a system's settings name: a shared clock file, or the machine's time."""
    return SharedClock(Path(clock_file)) if clock_file else SystemClock()


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: datetime | None) -> datetime | None:
    """The same instant in UTC; a value without an offset is taken as UTC (the one rule, everywhere)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def iso_utc(value: datetime | None) -> str | None:
    """A date-time in the systems' own APIs: ISO 8601 in UTC with its offset (`…+00:00`), or None."""
    value = as_utc(value)
    return value.isoformat() if value else None


@overload
def iso_z(value: datetime) -> str: ...
@overload
def iso_z(value: None) -> None: ...
def iso_z(value: datetime | None) -> str | None:
    """A date-time on the wire, in the vendors' documented form `YYYY-MM-DDTHH:MM:SS.000Z` (milliseconds), or
    None."""
    value = as_utc(value)
    if value is None:
        return None
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
