"""cis-import: seconds to load an N-customer CIS extract into the program system, and into DERMS, over HTTP.

Each system runs in its own process (`derbridge dacs`, `derbridge derms`) and takes the files the way
`derbridge cis import` sends them: checked whole, staged, reference-checked and upserted. The value is the
slower system's wall time. Baseline, same run and same kind of database: a plain bulk_insert of the persons
file into an empty table, in this process (the floor for writing rows at all). Target: 60 s per system at
1,000,000 customers, scaled to N, plus 2 s for what any first import costs whatever its size (the system
loads polars). peak_rss_mb is the larger of the two systems' peak resident memory.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa

from derbridge.bootstrap import local_settings
from derbridge.clock import utcnow
from derbridge.dacs.schema import persons
from derbridge.dataset.generate import generate
from derbridge.scenario.cis_load import IMPORT_TIMEOUT_S, plan, read_manifest, tables_taken, upload
from derbridge.scenario.processes import running
from derbridge.store.bulk import bulk_insert
from derbridge.store.db import make_engine
from derbridge.web.operator import operator_client

DEFAULT_SIZE = 1_000_000
TARGET_S_PER_MILLION = 60.0
START_UP_ALLOWANCE_S = 2.0
SYSTEMS = ("dacs", "derms")


def run(size: int | None, database: str | None) -> dict[str, Any]:
    customers = size or DEFAULT_SIZE
    with tempfile.TemporaryDirectory(prefix="derbridge-bench-") as scratch:
        tmp = Path(scratch)
        generate(tmp / "extract", customers, seed=1)
        baseline = seconds_to_bulk_insert_persons(tmp, database)
        seconds, details = seconds_to_import(tmp, database)
    value = max(seconds.values())
    target = START_UP_ALLOWANCE_S + TARGET_S_PER_MILLION * customers / 1_000_000
    persons_per_s = customers / baseline
    return {
        "name": "cis-import", "value": round(value, 2), "unit": "s", "baseline": round(baseline, 3),
        "ratio": round(value / baseline, 1), "target": round(target, 2), "met": value <= target, "size": customers,
        "peak_rss_mb": max(details["system_peak_rss_mb"].values()),
        "details": {**details, "seconds": {system: round(value, 2) for system, value in seconds.items()},
                    "baseline_rows_per_s": round(persons_per_s)},
    }


def seconds_to_import(tmp: Path, database: str | None) -> tuple[dict[str, float], dict[str, Any]]:
    settings = local_settings(tmp / "data", log_level="warning")
    if database:
        from derbridge.benchmarks.f3_sync import postgres_urls

        settings = settings.with_overrides(**postgres_urls(database))
    files = read_manifest(tmp / "extract")
    seconds: dict[str, float] = {}
    per_table: dict[str, dict[str, float]] = {}
    rows_per_s: dict[str, int] = {}
    with running(settings, SYSTEMS) as processes:
        for system in SYSTEMS:
            with operator_client(settings, system, IMPORT_TIMEOUT_S) as client:
                steps = plan(files, {system: tables_taken(client, system)}, None)
                started = time.perf_counter()
                answers = [upload(client, step) for step in steps]
                seconds[system] = time.perf_counter() - started
            per_table[system] = {answer["table"]: answer["seconds"] for answer in answers}
            rows_per_s[system] = round(sum(answer["rows"] for answer in answers) / seconds[system])
        peaks = {process.system: peak_rss_mb(process.pid) for process in processes}
    return seconds, {"table_seconds": per_table, "rows_per_s": rows_per_s, "system_peak_rss_mb": peaks}


def seconds_to_bulk_insert_persons(tmp: Path, database: str | None) -> float:
    """bulk_insert of the persons file, as the table's columns, into an empty persons table."""
    if database:
        from derbridge.store.testing import drop_postgres_database, fresh_postgres_database

        url = fresh_postgres_database(database, "bench_baseline")
    else:
        url = f"sqlite:///{tmp / 'baseline.sqlite'}"
    engine = make_engine(url)
    try:
        table = persons.to_metadata(sa.MetaData())
        table.create(engine)
        frame = pl.read_parquet(tmp / "extract" / "persons.parquet").select(
            cis_person_id="cisPersonId", name="name", home_phone="homePhone", business_phone="businessPhone",
            email="email", imported_at=pl.lit(utcnow()))
        started = time.perf_counter()
        with engine.begin() as connection:
            bulk_insert(connection, table, frame)
        return time.perf_counter() - started
    finally:
        engine.dispose()
        if database:
            drop_postgres_database(url)


def peak_rss_mb(pid: int) -> float:
    """A process's peak resident memory so far (Linux: VmHWM in /proc/PID/status, in kB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no peak memory reported for process {pid}")
