"""What DERMS asks a head-end system (an aggregator's cloud), and what it answers.

A device is identified across systems by (head-end system, NIC id); within one head end, by its NIC id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from derbridge.errors import TransientError


@dataclass(frozen=True)
class DeviceStatus:
    """A device's latest communication status as its head end knows it."""

    nic_id: str
    known: bool
    online: bool
    last_seen: datetime | None
    message: str = ""


@dataclass(frozen=True)
class Registration:
    """Whether the head end now has the device registered for the utility (after a register or deregister)."""

    nic_id: str
    registered: bool
    ok: bool
    message: str = ""


class HeadEndUnavailable(TransientError):
    """The head end could not be reached or failed as a whole: every device of the request is affected."""


class HeadEnd(Protocol):
    """One head-end system, in this process or behind HTTP."""

    name: str

    @property
    def reporting_lag_s(self) -> float: ...

    def latest_status(self, nic_ids: list[str]) -> list[DeviceStatus]: ...

    def register(self, nic_ids: list[str]) -> list[Registration]: ...

    def deregister(self, nic_ids: list[str]) -> list[Registration]: ...
