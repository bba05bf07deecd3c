"""f3-sync: aggregator syncs per second, end to end, with each system in its own process.

Each item is created in the program system's API; the clock stops when every sync request is COMPLETE
(the hub delivered it to DERMS, DERMS acknowledged, the hub delivered the ack). Baseline, same run:
one loopback HTTP POST plus one SQLite insert per item, with the same client concurrency.
"""

from __future__ import annotations

import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
import psutil
import uvicorn
from fastapi import FastAPI, Request

from derbridge.bootstrap import free_port, local_settings
from derbridge.scenario.demo import aggregator_body
from derbridge.scenario.processes import running
from derbridge.web.client import make_client
from derbridge.web.operator import checked, operator_client, wait_for

DEFAULT_SIZE = 2000
CLIENTS = 8
TARGET_PER_S = 100.0


def run(size: int | None, database: str | None) -> dict[str, Any]:
    size = size or DEFAULT_SIZE
    with tempfile.TemporaryDirectory(prefix="derbridge-bench-") as tmp:
        baseline = baseline_rate(Path(tmp), size)
        value, details = f3_rate(Path(tmp), size, database)
    return {"name": "f3-sync", "value": round(value, 1), "unit": "syncs/s", "baseline": round(baseline, 1),
            "ratio": round(value / baseline, 3), "target": TARGET_PER_S, "met": value >= TARGET_PER_S,
            "size": size, "details": details}


def f3_rate(tmp: Path, size: int, database: str | None) -> tuple[float, dict[str, Any]]:
    settings = local_settings(tmp / "data", log_level="warning", sender_poll_s=0.2)
    if database:
        settings = settings.with_overrides(**postgres_urls(database))
    with running(settings, ("derms", "dacs", "hub")) as systems:
        dacs = operator_client(settings, "dacs")
        started = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            list(pool.map(lambda i: create_aggregator(dacs, i), range(size)))
        submitted = time.perf_counter() - started
        wait_for(lambda: all_complete(dacs, size), 600, f"{size} COMPLETE sync requests", interval_s=0.1)
        elapsed = time.perf_counter() - started
        rss = {s.system: round(_rss_mb(s.pid), 1) for s in systems}
        cpu = {s.system: round(_cpu_s(s.pid), 1) for s in systems}
        dacs.close()
    details = {"elapsed_s": round(elapsed, 2), "submit_s": round(submitted, 2), "rss_mb": rss, "cpu_s": cpu}
    return size / elapsed, details


def create_aggregator(dacs: Any, index: int) -> dict[str, str]:
    return dict(checked(dacs.post("/api/aggregators", json=aggregator_body(f"Agg {index}", ["P1"]))))


def all_complete(dacs: Any, size: int) -> bool:
    counts = checked(dacs.get("/health"))["syncRequests"]
    return int(counts.get("COMPLETE", 0)) >= size


def postgres_urls(database: str) -> dict[str, str]:
    """One fresh PostgreSQL database per system, named after the server URL's database."""
    from derbridge.store.testing import fresh_postgres_database

    return {f"{system}_database_url": fresh_postgres_database(database, f"bench_{system}")
            for system in ("hub", "dacs", "derms", "engine")}


def baseline_rate(tmp: Path, size: int) -> float:
    """One loopback POST and one SQLite insert (own transaction, WAL) per item, same concurrency."""
    body = aggregator_body("baseline", ["P1"])
    with inserting_server(tmp / "baseline.sqlite") as client:
        started = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            list(pool.map(lambda _i: client.post("/items", json=body).raise_for_status(), range(size)))
        elapsed = time.perf_counter() - started
    return size / elapsed


@contextmanager
def inserting_server(db_path: Path) -> Iterator[httpx2.Client]:
    """A loopback HTTP server whose POST /items inserts the body as one row into SQLite (WAL, own transaction),
    and a client of it: the baseline of the benchmarks that time a message through the systems."""
    connection = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, body TEXT)")
    app = FastAPI()

    @app.post("/items")
    async def insert(request: Request) -> dict[str, bool]:
        connection.execute("INSERT INTO items (body) VALUES (?)", ((await request.body()).decode(),))
        return {"ok": True}

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        with make_client(f"http://127.0.0.1:{port}", timeout_s=30) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        connection.close()


def _rss_mb(pid: int) -> float:
    return float(psutil.Process(pid).memory_info().rss) / 1e6


def _cpu_s(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)
