"""What DERMS asks a head-end system (an aggregator's cloud), and what it answers.

A device is identified across systems by (head-end system, NIC id); within one head end, by its NIC id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from derbridge.errors import TransientError

if TYPE_CHECKING:
    import polars as pl

DEFAULT_TYPE = "SMART-THERMOSTAT"
"""A device's type when its head end does not say (the simulated fleets' load model: behaviour.py)."""

INTERVAL = timedelta(minutes=15)
"""Telemetry comes in quarter hours, each labelled by its start."""

ACCEPTED, OFFLINE, REFUSED, ERROR = "ACCEPTED", "OFFLINE", "REFUSED", "ERROR"
"""A device's answer to a dispatch: the cloud passed it on; the device is off line; the cloud refused it (it does
not know the device); the head end could not be asked at all (the gateway's answer)."""

DISPATCH_COLUMNS = ("nic_id", "result", "message")
"""A head end's answers to a dispatch, one row per device in the order asked (`message` empty when ACCEPTED)."""

CURTAILED, OVERRIDDEN, NORMAL = "CURTAILED", "OVERRIDDEN", "NORMAL"
"""A device's state in a telemetry interval: following a dispatch; its customer overrode the dispatch; not
under any dispatch (or ignoring it). An interval without a report has no row."""

TELEMETRY_COLUMNS = ("nic_id", "interval_start", "kw", "state")


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


@dataclass(frozen=True)
class DispatchOrder:
    """What DERMS asks a head end to do for one stage of an event: shed load over the stage's window. The stage
    id is the idempotency key: the same order again changes nothing and is answered as the first time."""

    event_id: str
    stage_id: str
    start: datetime
    end: datetime


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

    def dispatch(self, order: DispatchOrder, devices: pl.DataFrame) -> pl.DataFrame:
        """Ask each device (`nic_id`) to shed its `kw` over the order's window; DISPATCH_COLUMNS, one row per
        device, in the order asked. Whole frames: a dispatch may name a hundred thousand devices."""
        ...

    def end_dispatch(self, event_id: str, at: datetime) -> None:
        """End the event's orders at `at` (an event cancelled while in progress): its devices go back to normal
        from then. Harmless repeated; an event the head end holds no order of changes nothing."""
        ...

    def telemetry(self, nic_ids: list[str], start: datetime, end: datetime) -> pl.DataFrame:
        """Each device's kW and state in each quarter hour from `start` to `end` it reported
        (TELEMETRY_COLUMNS; `nic_id`, `interval_start` UTC, `kw` float, `state`)."""
        ...
