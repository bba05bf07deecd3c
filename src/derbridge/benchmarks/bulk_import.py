"""bulk-import: N already-enrolled devices migrated into the program system and synced to DERMS, each system
its own process, on the embedded default.

A dataset whose customers all own thermostats is generated and its customers loaded into both systems (not
timed). Timed: the program system loads the legacy extract (`enrolled_devices`, checked whole, written in
bulk), writes the initial sync file, the hub relays it to DERMS, DERMS applies it, registers every device with
its head end and answers with an ack file, which the hub relays back and the program system applies; the clock
stops when the program system holds every device's registration. Memory: the peak resident size of each
process during the timed part, sampled; the target applies to each system (they run apart in production),
and the sum of the three is reported beside it. Baseline, same run: one bulk insert of N rows into an
empty SQLite table.
"""

from __future__ import annotations

import hashlib
import math
import sqlite3
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from derbridge.benchmarks.f3_sync import postgres_urls
from derbridge.bootstrap import local_settings
from derbridge.dataset.devices import ENROLLED_SHARE
from derbridge.dataset.generate import generate
from derbridge.dataset.spec import SECOND_THERMOSTAT_SHARE
from derbridge.scenario import utility as scenario
from derbridge.scenario.processes import SystemProcess, running
from derbridge.web.operator import checked, operator_client, wait_for

DEFAULT_SIZE = 1_000_000
TARGET_S, TARGET_MEMORY_MB = 120.0, 1024.0
ENROLLED_PER_CUSTOMER = (1 + SECOND_THERMOSTAT_SHARE) * ENROLLED_SHARE
PARQUET = "application/vnd.apache.parquet"


def run(size: int | None, database: str | None) -> dict[str, Any]:
    size = size or DEFAULT_SIZE
    with tempfile.TemporaryDirectory(prefix="derbridge-bench-") as tmp:
        seconds, details = migrate(Path(tmp), size, database)
        baseline = baseline_s(Path(tmp), details["devices"])
    memory = max(details["peak_rss_mb"].values())
    return {"name": "bulk-import", "value": round(seconds, 1), "unit": "s", "baseline": round(baseline, 2),
            "ratio": round(seconds / baseline, 1),
            "target": f"≤ {TARGET_S:g} s, ≤ {TARGET_MEMORY_MB:g} MB per system process",
            "met": seconds <= TARGET_S and memory <= TARGET_MEMORY_MB, "size": size, "details": details}


def migrate(tmp: Path, size: int, database: str | None) -> tuple[float, dict[str, Any]]:
    dataset = tmp / "dataset"
    generate(dataset, math.ceil(size / ENROLLED_PER_CUSTOMER * 1.02), seed=3, thermostat_share=1.0)
    settings = local_settings(tmp / "data", log_level="warning", sender_poll_s=0.2, headend_dataset=str(dataset))
    if database:
        settings = settings.with_overrides(**postgres_urls(database))
    with running(settings, ("derms", "dacs", "hub")) as systems:
        scenario.load_customers(settings, dataset)
        scenario.set_up_programs(settings, *scenario.dataset_eligibility(dataset))
        extract = (dataset / "enrolled_devices.parquet").read_bytes()
        with PeakMemory(systems) as memory, operator_client(settings, "dacs", timeout_s=3600) as dacs:
            started = time.perf_counter()
            imported = checked(dacs.put("/api/legacy/enrolled-devices", content=extract, headers={
                "Content-Type": PARQUET, "X-Content-SHA256": hashlib.sha256(extract).hexdigest()}))
            import_s = time.perf_counter() - started
            sync = checked(dacs.post(f"/api/legacy/imports/{imported['importId']}/sync"))
            acked = wait_for(lambda: acked_sync(dacs, sync["bulkSyncId"]), 3600, "the initial sync's ack", 0.5)
            seconds = time.perf_counter() - started
    return seconds, {"devices": imported["rows"], "import_s": round(import_s, 1), "registered": acked["registered"],
                     "not_registered": acked["notRegistered"], "peak_rss_mb": memory.peaks,
                     "peak_rss_mb_total": round(sum(memory.peaks.values()), 1)}


def acked_sync(dacs: Any, bulk_sync_id: str) -> dict[str, Any] | None:
    found = checked(dacs.get(f"/api/legacy/bulk-syncs/{bulk_sync_id}"))
    return found if found["status"] == "ACKED" else None


class PeakMemory:
    """Samples each process's resident size every 100 ms while in use; `peaks` in MB."""

    def __init__(self, systems: list[SystemProcess]) -> None:
        self.processes = {system.system: psutil.Process(system.pid) for system in systems}
        self.peaks = dict.fromkeys(self.processes, 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.1):
            for name, process in self.processes.items():
                self.peaks[name] = max(self.peaks[name], round(process.memory_info().rss / 1e6, 1))


def baseline_s(tmp: Path, rows: int) -> float:
    """One executemany of `rows` device-like rows into an empty SQLite table, in one transaction."""
    connection = sqlite3.connect(tmp / "baseline.sqlite", isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE devices (device_id TEXT PRIMARY KEY, nic_id TEXT, head_end TEXT, person TEXT)")
    values = ((f"L{n:011d}", f"NIC-{n:012d}", "ECOCLOUD", f"{n:010d}") for n in range(rows))
    started = time.perf_counter()
    connection.execute("BEGIN")
    connection.executemany("INSERT INTO devices VALUES (?, ?, ?, ?)", values)
    connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed
