"""reservation-deliver: seconds from DERMS queueing the device list of a reservation of N = 100,000 devices until
the program system holds a reserved participation for each, each system its own process (F9: the CSV streamed
to the hub, checked and mapped, sent as reserve-device calls of 5,000 devices, each applied set-based in the
program system). Target: 3 s, and at most 3 times the baseline.

Set-up, not timed: DERMS with a program's fleet of 1.2 N thermostats on a rated network (nine in ten fit their
transformer's headroom), the program system with the same devices enrolled, one scheduled event whose target
takes N of them, all three systems on a shared clock set to the morning of the event. Reported beside it: the
reservation call itself (DERMS choosing and writing the list), and when DERMS heard the hub's ack. Baseline,
same run: the same N participation rows bulk-inserted into an empty SQLite table (one executemany in one
transaction; the median of three), the least the program system must do to hold them.
"""

from __future__ import annotations

import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa

from derbridge.benchmarks.f3_sync import _cpu_s, _rss_mb, postgres_urls
from derbridge.benchmarks.reservation_fleet import (
    EVENT_START,
    HEAD_END,
    PLANNED_AT,
    PROGRAM,
    load_fleet,
    schedule_event,
)
from derbridge.bootstrap import local_settings
from derbridge.clock import advance_shared_clock, clock_for, use_clock
from derbridge.config import Settings
from derbridge.dacs.schema import active_device_keys, controllable_devices, program_subscriptions, programs
from derbridge.hub.flows.f9_reservations import CHUNK_DEVICES
from derbridge.scenario.processes import running
from derbridge.store.bulk import bulk_insert
from derbridge.store.db import make_engine
from derbridge.store.migrations import upgrade
from derbridge.web.operator import checked, operator_client, wait_for

DEFAULT_SIZE = 100_000
TARGET_S, TARGET_RATIO = 3.0, 3.0
KW = 1.2


def run(size: int | None, database: str | None) -> dict[str, Any]:
    size = size or DEFAULT_SIZE
    with tempfile.TemporaryDirectory(prefix="derbridge-bench-") as tmp:
        baseline = baseline_s(Path(tmp), size)
        value, details = deliver_s(Path(tmp), size, database)
    ratio = value / baseline
    return {"name": "reservation-deliver", "value": round(value, 2), "unit": "s", "baseline": round(baseline, 3),
            "ratio": round(ratio, 2), "target": f"<= {TARGET_S:g} s and <= {TARGET_RATIO:g}x the baseline",
            "met": value <= TARGET_S and ratio <= TARGET_RATIO, "size": size, "details": details}


def deliver_s(tmp: Path, size: int, database: str | None) -> tuple[float, dict[str, Any]]:
    # No daily score run: the program system would score its freshly enrolled devices not eligible, and DERMS,
    # taking that score set, would reserve none of them.
    settings = local_settings(tmp / "data", log_level="warning", sender_poll_s=0.2, score_run_hour=-1,
                              clock_file=str(tmp / "clock"))
    if database:
        settings = settings.with_overrides(**postgres_urls(database))
    advance_shared_clock(Path(settings.clock_file), PLANNED_AT - datetime.now(UTC))
    event_id = load(settings, size)
    with running(settings, ("derms", "dacs", "hub")) as systems:
        with operator_client(settings, "derms", timeout_s=600) as derms, operator_client(settings, "dacs") as dacs, \
                operator_client(settings, "hub") as hub:
            wait_for(lambda: dacs.get(f"/api/program-events/{event_id}").status_code == 200, 60,
                     "the event's stages in the program system")
            cpu_before = {s.system: _cpu_s(s.pid) for s in systems}
            started = time.perf_counter()
            reserved = checked(derms.post(f"/api/events/{event_id}/reservation", json={}))
            queued = time.perf_counter()
            wait_for(lambda: every_chunk_taken(hub, reserved["messageId"], size), 600,
                     "every chunk taken by the program system", interval_s=0.05)
            held = time.perf_counter()
            counted = checked(dacs.get(f"/api/program-events/{event_id}"))["reserved"]
            timeline = transfer_timeline(hub, reserved["messageId"])
            wait_for(lambda: checked(derms.get(f"/api/events/{event_id}/reservation",
                                               params={"limit": 0}))["deviceLists"][0]["ackType"], 600,
                     "DERMS heard the ack", interval_s=0.05)
            acked = time.perf_counter()
        rss = {s.system: round(_rss_mb(s.pid), 1) for s in systems}
        cpu = {s.system: round(_cpu_s(s.pid) - cpu_before[s.system], 1) for s in systems}
    if counted != size:
        raise RuntimeError(f"the program system holds {counted} reserved participations, not {size}")
    details = {"reserved": reserved["devices"].get("RESERVED"), "reserve_call_s": round(queued - started, 2),
               "acked_after_s": round(acked - queued, 2), **timeline, "rss_mb": rss, "cpu_s": cpu}
    return held - queued, details


def every_chunk_taken(hub: Any, message_id: str, size: int) -> bool:
    """Whether the program system has answered every chunk of the list with success (the hub's log: a cheap
    question, where counting participations in the program system would load the system being measured)."""
    chunks = [m for m in checked(hub.get("/hub/api/messages", params={"key": message_id, "flow": "F9"}))
              if m["kind"] == "reservation-chunk"]
    return len(chunks) == -(-size // CHUNK_DEVICES) and all(m["status"] == "DELIVERED" for m in chunks)


def transfer_timeline(hub: Any, message_id: str) -> dict[str, float]:
    """From the hub's log: the list received, its first and last chunk taken by the program system (s after
    receipt)."""
    found = checked(hub.get("/hub/api/messages", params={"key": message_id, "flow": "F9"}))
    received = datetime.fromisoformat(next(m for m in found if m["kind"] == "reservation")["receivedAt"])
    taken = sorted(datetime.fromisoformat(m["deliveredAt"]) for m in found if m["kind"] == "reservation-chunk")
    return {"first_chunk_taken_s": round((taken[0] - received).total_seconds(), 2),
            "last_chunk_taken_s": round((taken[-1] - received).total_seconds(), 2)}


def load(settings: Settings, size: int) -> str:
    """DERMS's fleet and the scheduled event; the same devices enrolled in the program system."""
    fleet = size + size // 5
    derms = make_engine(settings.database_url("derms"))
    dacs = make_engine(settings.database_url("dacs"))
    previous = use_clock(clock_for(settings.clock_file))  # what DERMS queues is due on the shared clock
    try:
        upgrade("derms", derms)
        upgrade("dacs", dacs)
        load_fleet(derms, fleet)
        event_id = schedule_event(derms, target_kw=size * KW - KW / 2)
        enroll(dacs, fleet)
    finally:
        use_clock(previous)
        derms.dispose()
        dacs.dispose()
    return event_id


def enroll(engine: sa.Engine, count: int) -> None:
    """The program and `count` active devices on subscriptions of it, as activation leaves them."""
    now = datetime.now(UTC)
    ids = pl.select(id=pl.format("{}", pl.int_range(count, dtype=pl.Int64, eager=True)))
    with engine.begin() as connection:
        connection.execute(sa.insert(programs).values(
            program_id="1", program_code=PROGRAM, name="Bench", program_type_code="DR", status="ACTIVE",
            start_date=EVENT_START.date() - timedelta(days=365), version=1, created_at=now, updated_at=now))
        bulk_insert(connection, program_subscriptions, ids.select(
            subscription_id="SU" + pl.col("id"), enrollment_id="EN" + pl.col("id"), program_id=pl.lit("1"),
            program_code=pl.lit(PROGRAM), subscription_type=pl.lit("DR"), status=pl.lit("ACTIVE"),
            cis_person_id="PE" + pl.col("id"), cis_account_id="AC" + pl.col("id"),
            cis_service_point_id="SP" + pl.col("id"), start_at=pl.lit(now), updated_at=pl.lit(now)))
        bulk_insert(connection, controllable_devices, ids.select(
            device_id="D" + pl.col("id"), enrollment_id="EN" + pl.col("id"), subscription_id="SU" + pl.col("id"),
            status=pl.lit("ACTIVE"), head_end_system=pl.lit(HEAD_END), nic_id="NIC" + pl.col("id"),
            cis_service_point_id="SP" + pl.col("id"), installed_at=pl.lit(now), updated_at=pl.lit(now)))
        bulk_insert(connection, active_device_keys, ids.select(
            head_end_system=pl.lit(HEAD_END), nic_id="NIC" + pl.col("id"), device_id="D" + pl.col("id")))


def baseline_s(tmp: Path, size: int, runs: int = 3) -> float:
    """The N participation rows the program system ends with, into an empty SQLite table: one executemany, one
    transaction, WAL; the median of `runs`."""
    at = PLANNED_AT.strftime("%Y-%m-%d %H:%M:%S.%f")
    start, end = EVENT_START.strftime("%Y-%m-%d %H:%M:%S.%f"), (EVENT_START + timedelta(hours=2)).strftime(
        "%Y-%m-%d %H:%M:%S.%f")
    values = [("EV1", HEAD_END, f"NIC{n}", f"D{n}", f"SU{n}", PROGRAM, 1, start, end, at, 0, at)
              for n in range(size)]
    return statistics.median(_one_baseline(tmp / f"baseline-{run}.sqlite", values) for run in range(runs))


def _one_baseline(path: Path, values: list[tuple[Any, ...]]) -> float:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("CREATE TABLE participations (event TEXT, head_end TEXT, nic TEXT, device TEXT, "
                       "subscription TEXT, program TEXT, reserved INTEGER, reservation_start TEXT, "
                       "reservation_end TEXT, reserved_at TEXT, opted_out INTEGER, updated_at TEXT)")
    started = time.perf_counter()
    connection.execute("BEGIN")
    connection.executemany("INSERT INTO participations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", values)
    connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed
