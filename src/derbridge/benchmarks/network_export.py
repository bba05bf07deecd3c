"""network-export: a full F1 export of N service points end to end into the program system, each system its
own process.

Set-up, not timed: a dataset of about N service points (`derbridge dataset generate`), its network imported
into DERMS (reported apart). Timed: from asking DERMS for a full export until the program system has applied
it: the file written and queued in DERMS, streamed to the hub, checked and mapped there, streamed to the
program system and applied (the first file each system takes, so the hub and the program system load
polars on the way). Reported beside it: a second full export, every row unchanged. Baseline, same run: the
same rows bulk-inserted into an empty SQLite table (one executemany in one transaction; the median of three),
the least any system keeping them must do.
"""

from __future__ import annotations

import hashlib
import sqlite3
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from derbridge.benchmarks.f3_sync import _cpu_s, _rss_mb, postgres_urls
from derbridge.bootstrap import local_settings
from derbridge.dataset.customers import SECOND_PREMISE_SHARE
from derbridge.dataset.generate import generate
from derbridge.scenario.processes import running
from derbridge.web.operator import checked, operator_client, wait_for

DEFAULT_SIZE = 1_000_000
TARGET_S = 30.0
TARGET_RATIO = 3.0
TABLES = ("substations", "feeders", "transformers", "service_point_locations")


def run(size: int | None, database: str | None) -> dict[str, Any]:
    size = size or DEFAULT_SIZE
    with tempfile.TemporaryDirectory(prefix="derbridge-bench-") as tmp:
        dataset = Path(tmp) / "dataset"
        generate(dataset, max(1, round(size / (1 + SECOND_PREMISE_SHARE))), seed=1)
        rows = pl.read_parquet(dataset / "service_point_locations.parquet")
        baseline = baseline_s(Path(tmp), rows)
        value, details = export_s(Path(tmp), dataset, database)
    ratio = value / baseline
    return {"name": "network-export", "value": round(value, 2), "unit": "s", "baseline": round(baseline, 2),
            "ratio": round(ratio, 2), "target": f"<= {TARGET_S:g} s and <= {TARGET_RATIO:g}x the baseline",
            "met": value <= TARGET_S and ratio <= TARGET_RATIO, "size": rows.height, "details": details}


def export_s(tmp: Path, dataset: Path, database: str | None) -> tuple[float, dict[str, Any]]:
    settings = local_settings(tmp / "data", log_level="warning", sender_poll_s=0.2)
    if database:
        settings = settings.with_overrides(**postgres_urls(database))
    with running(settings, ("derms", "dacs", "hub")) as systems:
        with operator_client(settings, "derms", timeout_s=900) as derms, \
                operator_client(settings, "dacs") as dacs, operator_client(settings, "hub") as hub:
            started = time.perf_counter()
            for table in TABLES:
                body = (dataset / f"{table}.parquet").read_bytes()
                checked(derms.put(f"/api/network/import/{table}", content=body, headers={
                    "Content-Type": "application/vnd.apache.parquet",
                    "X-Content-SHA256": hashlib.sha256(body).hexdigest()}))
            imported = time.perf_counter() - started
            cpu_before = {s.system: _cpu_s(s.pid) for s in systems}
            started = time.perf_counter()
            created = checked(derms.post("/api/network/exports", json={"exportType": "full"}))
            written = time.perf_counter() - started
            applied = applied_in(dacs, created["exportId"])
            elapsed = time.perf_counter() - started
            [message] = checked(hub.get("/hub/api/messages", params={"key": created["exportId"]}))
            [sent] = [e for e in checked(derms.get("/api/network/exports")) if e["exportId"] == created["exportId"]]
            again = time.perf_counter()
            applied_in(dacs, checked(derms.post("/api/network/exports", json={"exportType": "full"}))["exportId"])
            again = time.perf_counter() - again
        rss = {s.system: round(_rss_mb(s.pid), 1) for s in systems}
        cpu = {s.system: round(_cpu_s(s.pid) - cpu_before[s.system], 1) for s in systems}  # both exports
    details = {"rows_applied": applied["inserted"], "import_s": round(imported, 2),
               "derms_write_s": round(written, 2),
               "derms_to_hub_s": _between(sent["createdAt"], message["receivedAt"]),
               "hub_to_applied_s": _between(message["receivedAt"], applied["appliedAt"]),
               "file_mb": round(Path(created["file"]).stat().st_size / 1e6, 1), "rss_mb": rss, "cpu_s": cpu,
               "second_full_unchanged_s": round(again, 2)}
    return elapsed, details


def applied_in(dacs: Any, export_id: str) -> dict[str, Any]:
    """Wait until the program system has applied the export; what it did."""
    return wait_for(lambda: next((e for e in checked(dacs.get("/api/network-exports")) if e["exportId"] == export_id),
                                 None), 900, f"export {export_id} applied in the program system", interval_s=0.1)


def _between(earlier: str, later: str) -> float:
    return round((datetime.fromisoformat(later) - datetime.fromisoformat(earlier)).total_seconds(), 2)


def baseline_s(tmp: Path, rows: pl.DataFrame, runs: int = 3) -> float:
    """The same rows into an empty SQLite table: one executemany, one transaction, WAL; the median of `runs`
    (a single insert of a million rows varies by a fifth from run to run on a shared machine)."""
    values = rows.with_columns(pl.col("effectiveStartDate").dt.strftime("%Y-%m-%d")).rows()
    return statistics.median(_one_baseline(tmp / f"baseline-{run}.sqlite", values) for run in range(runs))


def _one_baseline(path: Path, values: list[tuple[Any, ...]]) -> float:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("CREATE TABLE locations (service_point_id TEXT, transformer_id TEXT, feeder_id TEXT, "
                       "substation_id TEXT, effective_start TEXT)")
    started = time.perf_counter()
    connection.execute("BEGIN")
    connection.executemany("INSERT INTO locations VALUES (?, ?, ?, ?, ?)", values)
    connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed
