"""The simulated aggregator clouds and their device models, without the machinery that makes a dataset.

Light on purpose (no polars). The hub's seeded lookups (hub/lookup_catalog.py) are its own data; a test checks
that they cover every model here, so a generated dataset enrolls without a lookup edit.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DeviceModel:
    make: str
    model: str
    specification: str
    """The program system's specification code for `MAKE!MODEL` (the F4 lookup)."""
    asset_type: str
    serial_prefix: str
    firmware: tuple[str, ...]
    """Newest first; newer versions are more common in the field."""

    @property
    def make_model(self) -> str:
        return f"{self.make}!{self.model}"


@dataclass(frozen=True)
class HeadEnd:
    name: str
    """The headEndSystem value, as DERMS and the program system spell it."""
    share: float
    """Of thermostat-owning customers."""
    nic_prefix: str
    nic_bytes: int
    """Random bytes after the prefix, written in hex; their count bounds the fleet size."""
    nic_separator: str
    models: tuple[DeviceModel, ...]


THERMOSTAT = "SMART-THERMOSTAT"
HEAD_ENDS: tuple[HeadEnd, ...] = (
    HeadEnd("ECOCLOUD", 0.50, "ECO-", 6, "", (
        DeviceModel("ECOTHERM", "ET300", "TSTAT-ECO-ET300", THERMOSTAT, "E3", ("5.4.2", "5.3.9", "5.1.0")),
        DeviceModel("ECOTHERM", "ET500", "TSTAT-ECO-ET500", THERMOSTAT, "E5", ("6.1.0", "6.0.4")),
        DeviceModel("ECOTHERM", "ET700PRO", "TSTAT-ECO-ET700", THERMOSTAT, "E7", ("7.0.2", "6.9.8", "6.8.1")),
    )),
    HeadEnd("NESTLIKE", 0.35, "18B430", 5, "", (
        DeviceModel("NESTLIKE", "LEARNING-3", "TSTAT-NL-LRN3", THERMOSTAT, "N3", ("6.2-12", "6.1-7")),
        DeviceModel("NESTLIKE", "LEARNING-4", "TSTAT-NL-LRN4", THERMOSTAT, "N4", ("7.1-3", "7.0-9", "6.9-2")),
        DeviceModel("NESTLIKE", "E", "TSTAT-NL-E", THERMOSTAT, "NE", ("6.2-12", "6.0-1")),
    )),
    HeadEnd("HOMEGRID", 0.15, "02:1C:7E:", 3, ":", (
        DeviceModel("THERMAWISE", "T6", "TSTAT-TW-T6", THERMOSTAT, "T6", ("2.8.1", "2.7.5")),
        DeviceModel("THERMAWISE", "T9", "TSTAT-TW-T9", THERMOSTAT, "T9", ("3.4.0", "3.3.2", "3.1.7")),
        DeviceModel("KELVIN", "K2", "TSTAT-KV-K2", THERMOSTAT, "K2", ("1.12.0", "1.11.4")),
    )),
)
DEVICE_MODELS: tuple[DeviceModel, ...] = tuple(model for head_end in HEAD_ENDS for model in head_end.models)
