"""enroll-e2e: full enrollments per second, aggregators to head-end registration, each system its own process.

A dataset's customers are loaded into both systems and the programs approved (not timed). Then aggregators
submit N on-line devices, spread over the three clouds, in batches of 500 to DERMS; the clock stops when
every one of them has gone through the program system's validation, its device status check (DERMS asks the
cloud), ACTIVE, and the enrollment sync to DERMS, whose ack says the device is registered with its head end.
Baseline, same run: one loopback HTTP POST plus one SQLite insert per item (as f3-sync).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import polars as pl

from derbridge.benchmarks.f3_sync import _cpu_s, _rss_mb, baseline_rate, postgres_urls
from derbridge.bootstrap import local_settings
from derbridge.dataset.fleets import HEAD_ENDS
from derbridge.dataset.generate import generate
from derbridge.scenario import utility as scenario
from derbridge.scenario.aggregator import candidates, enroll, enrollment_records
from derbridge.scenario.processes import running

DEFAULT_SIZE = 10_000
BATCH = 500
TARGET_PER_S = 100.0
CUSTOMERS_PER_CANDIDATE = 12
"""About one customer in nine owns a thermostat not yet enrolled and on line; a margin on top."""
PROGRAM = "SMARTSTAT"


def run(size: int | None, database: str | None) -> dict[str, Any]:
    size = size or DEFAULT_SIZE
    with tempfile.TemporaryDirectory(prefix="derbridge-bench-") as tmp:
        baseline = baseline_rate(Path(tmp), 2000)
        value, details = enrollment_rate(Path(tmp), size, database)
    return {"name": "enroll-e2e", "value": round(value, 1), "unit": "enrollments/s", "baseline": round(baseline, 1),
            "ratio": round(value / baseline, 3), "target": TARGET_PER_S, "met": value >= TARGET_PER_S,
            "size": size, "details": details}


def enrollment_rate(tmp: Path, size: int, database: str | None) -> tuple[float, dict[str, Any]]:
    dataset = tmp / "dataset"
    generate(dataset, size * CUSTOMERS_PER_CANDIDATE, seed=1)
    settings = local_settings(tmp / "data", log_level="warning", sender_poll_s=0.2, headend_dataset=str(dataset))
    if database:
        settings = settings.with_overrides(**postgres_urls(database))
    with running(settings, ("derms", "dacs", "hub")) as systems:
        scenario.load_customers(settings, dataset)
        scenario.set_up_programs(settings, *scenario.dataset_eligibility(dataset))
        records = online_records(dataset, size)
        cpu_before = {s.system: _cpu_s(s.pid) for s in systems}
        started = time.perf_counter()
        with scenario.aggregator_client(settings) as derms:
            aggregated = enroll(derms, records, BATCH, poll_s=0.2, timeout_s=900)
        results_s = time.perf_counter() - started
        counts = scenario.wait_until_settled(settings, len(records), 900)
        elapsed = time.perf_counter() - started
        details = {
            "elapsed_s": round(elapsed, 2), "aggregator_results_s": round(results_s, 2),
            "records": len(records), "refused": aggregated.refused_by_reason()[:5], **counts,
            "cpu_s": {s.system: round(_cpu_s(s.pid) - cpu_before[s.system], 1) for s in systems},
            "rss_mb": {s.system: round(_rss_mb(s.pid), 1) for s in systems},
        }
    return int(counts["enrollments"].get("ACTIVE", 0)) / elapsed, details


def online_records(dataset: Path, size: int) -> list[dict[str, Any]]:
    """`size` on-line devices not yet enrolled, shared between the clouds by their share of customers."""
    start = scenario.dataset_start(dataset)
    frames = []
    left = size
    for number, head_end in enumerate(HEAD_ENDS):
        wanted = left if number == len(HEAD_ENDS) - 1 else round(size * head_end.share)
        frames.append(candidates(dataset, head_end.name, wanted, online_only=True))
        left -= frames[-1].height
    devices = pl.concat(frames)
    if devices.height < size:
        raise RuntimeError(f"the dataset has only {devices.height} devices to enroll; {size} asked")
    return enrollment_records(devices, PROGRAM, start)
