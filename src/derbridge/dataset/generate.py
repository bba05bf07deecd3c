"""A realistic, deterministic utility dataset: the CIS extract, the electrical network and aggregator fleets.

The reference systems and the benchmarks need data shaped like a real utility's: F1 exports the network
location of every service point, F4 enrolls aggregator devices of CIS customers through the `MAKE!MODEL`
lookup, F5 needs the customer's contacts and location (FLOWS.md). This module writes the tables (customers.py,
network.py, devices.py, each built from draws.py's counter-based draws) with a manifest of their checksums.
A million customers take seconds."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from derbridge.dataset.customers import (
    accounts_table,
    contacts_table,
    customer_frame,
    persons_table,
    premises_table,
    rates_table,
    service_agreements_table,
    site_frame,
)
from derbridge.dataset.devices import devices_table, enrolled_devices_table, make_model_table
from derbridge.dataset.draws import AS_OF, Dice
from derbridge.dataset.network import build_network, service_points_table
from derbridge.dataset.spec import DEFAULT_THERMOSTAT_SHARE, MAX_CUSTOMERS, FileFormat
from derbridge.tables.spec import sha256_of

FORMAT_VERSION = 1

Progress = Callable[[str, int, int], None]
"""Called as (table, rows written, rows in the table): with 0 once the table is built, again once written."""


# --- writing and the manifest ----------------------------------------------------------------------------

@dataclass(frozen=True)
class TableFile:
    name: str
    file: str
    rows: int
    bytes: int
    sha256: str
    seconds: float
    """Building plus writing; reported, but kept out of manifest.json, which must not vary between runs."""


@dataclass(frozen=True)
class Manifest:
    customers: int
    seed: int
    format: FileFormat
    thermostat_share: float
    tables: tuple[TableFile, ...]

    def table(self, name: str) -> TableFile:
        return next(table for table in self.tables if table.name == name)

    def to_json(self) -> str:
        return json.dumps({
            "formatVersion": FORMAT_VERSION, "customers": self.customers, "seed": self.seed,
            "format": self.format, "thermostatShare": self.thermostat_share,
            "asOf": AS_OF.isoformat().replace("+00:00", "Z"),
            "tables": {table.name: {"file": table.file, "rows": table.rows, "bytes": table.bytes,
                                    "sha256": table.sha256} for table in self.tables},
        }, indent=2) + "\n"


class TableWriter:
    """Writes one file per table, reports progress, and records what it wrote for the manifest."""

    def __init__(self, out_dir: Path, fmt: FileFormat, progress: Progress | None) -> None:
        self.out_dir = out_dir
        self.fmt = fmt
        self.progress = progress
        self.written: list[TableFile] = []

    def write(self, name: str, build: Callable[[], pl.DataFrame]) -> pl.DataFrame:
        started = time.perf_counter()
        frame = build()
        self._report(name, 0, frame.height)
        fmt: FileFormat = "csv" if name == "make_model" else self.fmt
        path = self.out_dir / f"{name}.{fmt}"
        write_frame(frame, path, fmt)
        self.written.append(TableFile(name, path.name, frame.height, path.stat().st_size, sha256_of(path),
                                      round(time.perf_counter() - started, 3)))
        self._report(name, frame.height, frame.height)
        return frame

    def _report(self, name: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(name, done, total)


def write_frame(frame: pl.DataFrame, path: Path, fmt: FileFormat) -> None:
    if fmt == "parquet":
        frame.write_parquet(path, compression="zstd", statistics=True, row_group_size=256 * 1024)
    else:
        frame.write_csv(path, datetime_format="%Y-%m-%dT%H:%M:%SZ", date_format="%Y-%m-%d")


def generate(out_dir: Path, customers: int, seed: int, fmt: FileFormat = "parquet",
             progress: Progress | None = None, *,
             thermostat_share: float = DEFAULT_THERMOSTAT_SHARE) -> Manifest:
    """Write every table of TABLES and manifest.json into out_dir; the same arguments give the same bytes."""
    if not 1 <= customers <= MAX_CUSTOMERS:
        raise ValueError(f"customers must be between 1 and {MAX_CUSTOMERS:,}")
    if not 0.0 <= thermostat_share <= 1.0:
        raise ValueError("thermostat_share must be between 0 and 1")
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"unknown format {fmt!r}: parquet or csv")
    out_dir.mkdir(parents=True, exist_ok=True)
    dice = Dice(seed)
    writer = TableWriter(out_dir, fmt, progress)
    people = customer_frame(dice, customers, thermostat_share)
    sites = site_frame(dice, people)
    writer.write("rates", rates_table)
    persons = writer.write("persons", lambda: persons_table(dice, people))
    accounts = writer.write("accounts", lambda: accounts_table(people))
    writer.write("premises", lambda: premises_table(dice, sites))
    network = build_network(dice, sites)
    writer.write("service_points",
                 lambda: service_points_table(sites, network.service_point_locations["transformerId"]))
    agreements = writer.write("service_agreements", lambda: service_agreements_table(dice, sites))
    writer.write("contacts", lambda: contacts_table(dice, persons))
    writer.write("substations", lambda: network.substations)
    writer.write("feeders", lambda: network.feeders)
    writer.write("transformers", lambda: network.transformers)
    writer.write("service_point_locations", lambda: network.service_point_locations)
    devices = writer.write("devices", lambda: devices_table(dice, people, sites))
    make_model = writer.write("make_model", make_model_table)
    writer.write("enrolled_devices", lambda: enrolled_devices_table(devices, agreements, accounts, make_model))
    manifest = Manifest(customers, seed, fmt, thermostat_share, tuple(writer.written))
    (out_dir / "manifest.json").write_text(manifest.to_json())
    return manifest
