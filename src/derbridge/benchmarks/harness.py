"""The benchmark harness: finds a benchmark by name, runs it, adds peak memory, prints the verdict.

A benchmark module exposes `run(size, database) -> dict` with at least name, value, unit, baseline, ratio,
target and met; the harness fills in peak_rss_mb (of this process and its children) when missing.
"""

from __future__ import annotations

import importlib
import platform
import resource
import time
from typing import Any

from rich.console import Console
from rich.table import Table

BENCHMARKS: dict[str, tuple[str, str]] = {
    "f3-sync": ("derbridge.benchmarks.f3_sync",
                "F3 end-to-end aggregator syncs/s vs one loopback POST + one SQLite insert per item"),
    "up-idle-memory": ("derbridge.benchmarks.up_idle_memory", "`derbridge up` idle resident memory (MB)"),
    "demo-time": ("derbridge.benchmarks.demo_time", "`derbridge demo` wall time on a fresh data directory (s)"),
    "season-time": ("derbridge.benchmarks.season_time",
                    "`derbridge demo --season` wall time on a fresh data directory, N customers (s)"),
    "availability": ("derbridge.benchmarks.availability", "Availability of N devices for one event window (s)"),
    "availability-stored": ("derbridge.benchmarks.availability_stored",
                            "Availability of an N-device program through DERMS's storage (s)"),
    "dataset-generate": ("derbridge.benchmarks.dataset_generate", "Generate an N-customer dataset (s)"),
    "enroll-bulk": ("derbridge.benchmarks.enroll_bulk",
                    "DERMS's bulk initial sync of N enrolled devices: apply, register, ack file (s)"),
    "enroll-e2e": ("derbridge.benchmarks.enroll_e2e",
                   "Full enrollments/s: aggregators → DERMS → program system → status check → ACTIVE → F5 ack"),
    "status-check-latency": ("derbridge.benchmarks.status_check_latency",
                             "Device status check round trip at 20 checks/s, zero device lag (p50 and p99, ms)"),
    "bulk-import": ("derbridge.benchmarks.bulk_import",
                    "Migrate N enrolled devices: legacy import, initial sync file to DERMS, ack file back (s)"),
    "cis-import": ("derbridge.benchmarks.cis_import",
                   "Load an N-customer CIS extract into each system over HTTP (s) vs a plain bulk insert of persons"),
    "score-compute": ("derbridge.benchmarks.score_compute",
                      "A score run over N devices on the default rule set: read, score, file, store (s) vs "
                      "reading the same devices"),
    "reservation-select": ("derbridge.benchmarks.reservation_select",
                           "Choose a tenth of N enrolled devices for one event through DERMS's storage (s), and the "
                           "engine alone in memory"),
    "reservation-deliver": ("derbridge.benchmarks.reservation_deliver",
                            "Deliver a reservation of N devices (F9) until the program system holds every "
                            "participation (s) vs a raw SQLite bulk insert of the same rows"),
    "network-export": ("derbridge.benchmarks.network_export",
                       "F1 full export of N service points from DERMS into the program system (s) vs a raw "
                       "SQLite bulk insert of the same rows"),
    "dispatch-outcomes": ("derbridge.benchmarks.dispatch_outcomes",
                          "DERMS dispatches an event's three stages to N reserved devices and works out their "
                          "outcomes and performance from telemetry (s) vs a bulk insert of one stage's rows"),
    "optout-backfill": ("derbridge.benchmarks.optout_backfill",
                        "An opt-out in the program system until DERMS's backfilled reservation update is applied "
                        "back there, at 10 opt-outs/s (p50 and p99, ms)"),
    "score-file": ("derbridge.benchmarks.score_file",
                   "F7: an N-row score file from the program system through the hub into DERMS, in force (s) vs a "
                   "raw bulk load of the same rows into DERMS's database"),
    "outcomes-apply": ("derbridge.benchmarks.outcomes_apply",
                       "N event outcomes from DERMS applied in the program system, messages of 1,000 (s) vs a raw "
                       "bulk update of the same rows"),
}
REQUIRED = ("name", "value", "unit", "baseline", "ratio", "target", "met")


def print_list(console: Console) -> None:
    table = Table(title="Benchmarks")
    table.add_column("name")
    table.add_column("measures")
    for name, (_module, about) in BENCHMARKS.items():
        table.add_row(name, about)
    console.print(table)


def run(name: str, size: int | None, database: str | None, console: Console) -> dict[str, Any]:
    if name not in BENCHMARKS:
        raise SystemExit(f"unknown benchmark {name!r}; `derbridge bench --list` shows them")
    module = importlib.import_module(BENCHMARKS[name][0])
    console.print(f"[bold]{name}[/]: {BENCHMARKS[name][1]}")
    started = time.perf_counter()
    result: dict[str, Any] = module.run(size, database)
    missing = [key for key in REQUIRED if key not in result]
    if missing:
        raise RuntimeError(f"benchmark {name} did not report {missing}")
    result.setdefault("peak_rss_mb", peak_rss_mb())
    result.update(wall_s=round(time.perf_counter() - started, 2), machine=f"{platform.machine()} {platform.system()}",
                  python=platform.python_version())
    print_result(result, console)
    return result


def peak_rss_mb() -> float:
    """Peak resident memory of this process and of waited-for children, in MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(own, children) / 1024, 1)


def print_result(result: dict[str, Any], console: Console) -> None:
    table = Table(show_header=False)
    for key in ("value", "unit", "baseline", "ratio", "target", "met", "peak_rss_mb"):
        table.add_row(key, str(result.get(key)))
    for key, value in result.get("details", {}).items():
        table.add_row(key, str(value))
    console.print(table)
    verdict = "[green]target met[/]" if result["met"] else "[red]target missed[/]"
    console.print(f"{result['name']}: {result['value']} {result['unit']} (target {result['target']}) {verdict}")
