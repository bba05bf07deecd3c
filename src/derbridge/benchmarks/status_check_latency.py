"""status-check-latency: a device status check's round trip, program system → hub → DERMS → cloud → DERMS →
hub → program system, with the clouds answering at once (zero reporting lag), each system its own process.

A few hundred devices are enrolled first (not timed). Then an agent asks for a status check every 1/rate
seconds, each for a different enrolled device, through the program system's API; a check's round trip is the
program system's own record of it, from asking to the result, so nothing is lost to polling. Baseline, same
run: the round trip of one loopback HTTP POST to a bare endpoint, with the same client.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from derbridge.benchmarks.enroll_e2e import online_records
from derbridge.benchmarks.f3_sync import postgres_urls
from derbridge.bootstrap import free_port, local_settings
from derbridge.dataset.generate import generate
from derbridge.scenario import utility as scenario
from derbridge.scenario.aggregator import enroll
from derbridge.scenario.processes import running
from derbridge.web.client import make_client
from derbridge.web.operator import checked, operator_client, wait_for

DEFAULT_SIZE = 400
"""Checks asked for, at RATE_PER_S."""
RATE_PER_S = 20.0
DEVICES = 200
TARGET_P50_S, TARGET_P99_S = 0.100, 0.500


def run(size: int | None, database: str | None) -> dict[str, Any]:
    size = size or DEFAULT_SIZE
    baseline = baseline_round_trip_s(200)
    with tempfile.TemporaryDirectory(prefix="derbridge-bench-") as tmp:
        round_trips, details = status_check_round_trips(Path(tmp), size, database)
    p50, p99 = percentile(round_trips, 50), percentile(round_trips, 99)
    return {"name": "status-check-latency", "value": round(p50 * 1000, 1), "unit": "ms (p50)",
            "baseline": round(baseline * 1000, 2), "ratio": round(p50 / baseline, 1),
            "target": f"p50 ≤ {TARGET_P50_S * 1000:g} ms, p99 ≤ {TARGET_P99_S * 1000:g} ms",
            "met": p50 <= TARGET_P50_S and p99 <= TARGET_P99_S, "size": size,
            "details": {"p99_ms": round(p99 * 1000, 1), "max_ms": round(max(round_trips) * 1000, 1),
                        "rate_per_s": RATE_PER_S, **details}}


def status_check_round_trips(tmp: Path, size: int, database: str | None) -> tuple[list[float], dict[str, Any]]:
    dataset = tmp / "dataset"
    generate(dataset, DEVICES * 12, seed=2)
    settings = local_settings(tmp / "data", log_level="warning", headend_dataset=str(dataset))
    if database:
        settings = settings.with_overrides(**postgres_urls(database))
    with running(settings, ("derms", "dacs", "hub")):
        scenario.load_customers(settings, dataset)
        scenario.set_up_programs(settings, *scenario.dataset_eligibility(dataset))
        with scenario.aggregator_client(settings) as derms:
            enroll(derms, online_records(dataset, DEVICES), 500, poll_s=0.2)
        scenario.wait_until_settled(settings, DEVICES, 300)
        with operator_client(settings, "dacs") as dacs:
            device_ids = [d["deviceId"] for d in checked(dacs.get("/api/devices", params={"limit": DEVICES}))]
            asked = ask_at_rate(dacs, device_ids, size)
            checks = wait_for(lambda: answered(dacs, asked), 120, f"{len(asked)} status check results")
    round_trips = [(datetime.fromisoformat(c["answeredAt"]) - datetime.fromisoformat(c["requestedAt"])).total_seconds()
                   for c in checks]
    outcomes = {status: sum(1 for c in checks if c["status"] == status) for status in {c["status"] for c in checks}}
    return round_trips, {"checks": len(checks), "outcomes": outcomes}


def ask_at_rate(dacs: Any, device_ids: list[str], count: int) -> list[str]:
    """One check every 1/RATE_PER_S seconds, on a fixed schedule (a slow answer does not delay the next ask)."""
    asked = []
    started = time.perf_counter()
    for number in range(count):
        time.sleep(max(0.0, started + number / RATE_PER_S - time.perf_counter()))
        device_id = device_ids[number % len(device_ids)]
        asked.append(checked(dacs.post(f"/api/devices/{device_id}/status-checks"))["communicationId"])
    return asked


def answered(dacs: Any, communication_ids: list[str]) -> list[dict[str, Any]] | None:
    checks = [checked(dacs.get(f"/api/status-checks/{c}")) for c in communication_ids]
    return checks if all(check["answeredAt"] for check in checks) else None


def baseline_round_trip_s(count: int) -> float:
    """The median round trip of a POST to a bare endpoint on loopback."""
    app = FastAPI()

    @app.post("/ping")
    async def ping() -> dict[str, bool]:
        return {"ok": True}

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    timings = []
    with make_client(f"http://127.0.0.1:{port}", timeout_s=10) as client:
        for _ in range(count):
            began = time.perf_counter()
            client.post("/ping", json={}).raise_for_status()
            timings.append(time.perf_counter() - began)
    server.should_exit = True
    thread.join(timeout=10)
    return statistics.median(timings)


def percentile(values: list[float], percent: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(percent / 100 * (len(ordered) - 1)))]
