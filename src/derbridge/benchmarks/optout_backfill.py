"""optout-backfill: an agent's opt-out in the program system until the reservation update that drops the device
and backfills it is applied back in the program system, at 10 opt-outs a second, each system its own process:
the opt-out (F12) to the hub and DERMS, DERMS dropping the device and backfilling from the standby list, the
update (F9) as a device list through the hub's file relay, applied by the program system. Target: p50 ≤ 200 ms,
p99 ≤ 500 ms.

Set-up, not timed: DERMS with a program's fleet on a rated network, the program system with the same devices
enrolled and a program type that allows an opt-out, one event reserved for 2 N devices with as many on standby,
the list delivered; all three systems on a shared clock set to the morning of the event. Then an agent opts N
reserved devices out, one every 1/rate seconds. Each opt-out's latency is the program system's own record: from
the opt-out (`opted_out_at`) to the participation released by the update (`updated_at`), both on its clock, so
nothing is lost to polling. Baseline, same run: the median round trip of a loopback POST whose handler inserts
one row into SQLite (WAL), as f3-sync's baseline does per item.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from derbridge.benchmarks.f3_sync import inserting_server, postgres_urls
from derbridge.benchmarks.reservation_deliver import enroll, every_chunk_taken
from derbridge.benchmarks.reservation_fleet import HEAD_END, PLANNED_AT, load_fleet, schedule_event
from derbridge.benchmarks.status_check_latency import percentile
from derbridge.bootstrap import local_settings
from derbridge.clock import advance_shared_clock, clock_for, use_clock
from derbridge.config import Settings
from derbridge.dacs.schema import event_participations, program_types
from derbridge.scenario.processes import running
from derbridge.store.db import make_engine
from derbridge.store.migrations import upgrade
from derbridge.web.operator import checked, operator_client, wait_for

DEFAULT_SIZE = 200
"""Opt-outs, at RATE_PER_S."""
RATE_PER_S = 10.0
KW = 1.2
TARGET_P50_S, TARGET_P99_S = 0.200, 0.500


def run(size: int | None, database: str | None) -> dict[str, Any]:
    size = size or DEFAULT_SIZE
    with tempfile.TemporaryDirectory(prefix="derbridge-bench-") as tmp:
        baseline = baseline_round_trip_s(Path(tmp), 200)
        latencies, details = opt_out_latencies(Path(tmp), size, database)
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    return {"name": "optout-backfill", "value": round(p50 * 1000, 1), "unit": "ms (p50)",
            "baseline": round(baseline * 1000, 2), "ratio": round(p50 / baseline, 1),
            "target": f"p50 ≤ {TARGET_P50_S * 1000:g} ms, p99 ≤ {TARGET_P99_S * 1000:g} ms",
            "met": p50 <= TARGET_P50_S and p99 <= TARGET_P99_S, "size": size,
            "details": {"p99_ms": round(p99 * 1000, 1), "max_ms": round(max(latencies) * 1000, 1),
                        "rate_per_s": RATE_PER_S, **details}}


def opt_out_latencies(tmp: Path, size: int, database: str | None) -> tuple[list[float], dict[str, Any]]:
    models = tmp / "models.toml"
    models.write_text("standby_share = 1.0\n")  # a standby device for every reserved one
    # No daily score run: the program system would score its freshly seeded devices not eligible, and DERMS,
    # taking that score set, would reserve none of them.
    settings = local_settings(tmp / "data", log_level="warning", clock_file=str(tmp / "clock"),
                              reservation_models=str(models), score_run_hour=-1)
    if database:
        settings = settings.with_overrides(**postgres_urls(database))
    advance_shared_clock(Path(settings.clock_file), PLANNED_AT - datetime.now(UTC))
    reserved_count = 2 * size
    event_id = load(settings, reserved_count)
    with running(settings, ("derms", "dacs", "hub")), operator_client(settings, "derms", timeout_s=120) as derms, \
            operator_client(settings, "dacs") as dacs, operator_client(settings, "hub") as hub:
        wait_for(lambda: dacs.get(f"/api/program-events/{event_id}").status_code == 200, 60,
                 "the event's stages in the program system")
        reserved = checked(derms.post(f"/api/events/{event_id}/reservation", json={}))
        taken = reserved["devices"]["RESERVED"]
        wait_for(lambda: every_chunk_taken(hub, reserved["messageId"], taken), 120,
                 "the reservation held by the program system", interval_s=0.05)
        listed = checked(derms.get(f"/api/events/{event_id}/reservation", params={"limit": 100_000}))["listed"]
        nics = [d["nicId"] for d in listed if d["status"] == "RESERVED"][:size]
        opt_out_at_rate(dacs, event_id, nics)
        wait_for(lambda: released(settings, event_id) >= size, 120, f"{size} devices released by updates",
                 interval_s=0.1)
        shown = checked(derms.get(f"/api/events/{event_id}/reservation", params={"limit": 0}))
        changes = checked(derms.get(f"/api/events/{event_id}/reservation/changes", params={"limit": 100_000}))
        opted_out = opted_out_at(settings, event_id)
        hops = breakdown(hub, event_id, changes["drops"], opted_out)
    latencies = latencies_of(settings, event_id)
    updates = len(shown["deviceLists"]) - 1
    return latencies, {"opt_outs": size, "updates": updates, "backfilled": len(changes["backfills"]),
                       "target_met": shown["targetMet"], "reserved_before": taken, "median_hops_ms": hops}


HOPS = ("program system → hub", "hub → DERMS", "DERMS drops and backfills, the hub takes the update",
        "hub → program system")


def breakdown(hub: Any, event_id: str, drops: list[dict[str, Any]], opted_out: dict[str, datetime]) -> dict[str, float]:
    """Where an opt-out's time goes, from the hub's log (all three systems on the shared clock): the median of
    each hop, in ms."""
    hops: dict[str, list[float]] = {hop: [] for hop in HOPS}
    for drop in drops:
        f12 = [m for m in checked(hub.get("/hub/api/messages", params={
            "key": f"{event_id}:{HEAD_END}:{drop['nicId']}", "flow": "F12"})) if m["deliveredAt"]]
        f9 = checked(hub.get("/hub/api/messages", params={"key": drop["messageId"], "flow": "F9"}))
        listed = [m for m in f9 if m["kind"] == "reservation"]
        chunks = [m for m in f9 if m["kind"] == "reservation-chunk" and m["deliveredAt"]]
        if not (f12 and listed and chunks):
            continue
        marks = [opted_out[drop["nicId"]], *(datetime.fromisoformat(at) for at in (
            f12[0]["receivedAt"], f12[0]["deliveredAt"], listed[0]["receivedAt"], chunks[0]["deliveredAt"]))]
        for hop, began, ended in zip(HOPS, marks, marks[1:], strict=False):
            hops[hop].append((ended - began).total_seconds() * 1000)
    return {hop: round(statistics.median(values), 1) for hop, values in hops.items() if values}


def opted_out_at(settings: Settings, event_id: str) -> dict[str, datetime]:
    p = event_participations
    engine = make_engine(settings.database_url("dacs"))
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.select(p.c.nic_id, p.c.opted_out_at).where(
                p.c.event_external_id == event_id, p.c.opted_out.is_(True))).all()
    finally:
        engine.dispose()
    return {row.nic_id: _utc(row.opted_out_at) for row in rows}


def load(settings: Settings, reserved: int) -> str:
    """DERMS's fleet (five times the reservation) and a scheduled event taking `reserved` devices; the same
    devices enrolled in the program system, under a program type that allows an opt-out up to an hour before."""
    fleet = 5 * reserved
    derms = make_engine(settings.database_url("derms"))
    dacs = make_engine(settings.database_url("dacs"))
    previous = use_clock(clock_for(settings.clock_file))
    try:
        upgrade("derms", derms)
        upgrade("dacs", dacs)
        load_fleet(derms, fleet)
        event_id = schedule_event(derms, target_kw=reserved * KW - KW / 2)
        enroll(dacs, fleet)
        now = datetime.now(UTC)
        with dacs.begin() as connection:
            connection.execute(sa.insert(program_types).values(
                program_type_code="DR", description="Bench", category="DEMAND_RESPONSE", device_required=True,
                preemptive_optout_allowed=True, optout_cutoff_minutes=60, unavailability_allowed=True,
                created_at=now, updated_at=now))
    finally:
        use_clock(previous)
        derms.dispose()
        dacs.dispose()
    return event_id


def opt_out_at_rate(dacs: Any, event_id: str, nics: list[str]) -> None:
    """One opt-out every 1/RATE_PER_S seconds, on a fixed schedule (a slow answer does not delay the next)."""
    started = time.perf_counter()
    for number, nic in enumerate(nics):
        time.sleep(max(0.0, started + number / RATE_PER_S - time.perf_counter()))
        checked(dacs.post("/api/participations/opt-outs", json={
            "eventExternalIdentifier": event_id, "headEndSystem": HEAD_END, "nicId": nic}))


def released(settings: Settings, event_id: str) -> int:
    """Opted-out participations the program system no longer holds reserved (an update released them)."""
    p = event_participations
    engine = make_engine(settings.database_url("dacs"))
    try:
        with engine.connect() as connection:
            return int(connection.execute(sa.select(sa.func.count()).where(
                p.c.event_external_id == event_id, p.c.opted_out.is_(True), p.c.reserved.is_(False))).scalar_one())
    finally:
        engine.dispose()


def latencies_of(settings: Settings, event_id: str) -> list[float]:
    """Per opt-out, from the program system's record of it to its participation's release, in seconds."""
    p = event_participations
    engine = make_engine(settings.database_url("dacs"))
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.select(p.c.opted_out_at, p.c.updated_at).where(
                p.c.event_external_id == event_id, p.c.opted_out.is_(True), p.c.reserved.is_(False))).all()
    finally:
        engine.dispose()
    return [(_utc(row.updated_at) - _utc(row.opted_out_at)).total_seconds() for row in rows]


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def baseline_round_trip_s(tmp: Path, count: int) -> float:
    """The median round trip of a loopback POST whose handler inserts one row into SQLite (WAL)."""
    timings = []
    with inserting_server(tmp / "baseline.sqlite") as client:
        for _ in range(count):
            began = time.perf_counter()
            client.post("/items", json={"eventId": "EV1", "nicId": "NIC1"}).raise_for_status()
            timings.append(time.perf_counter() - began)
    return statistics.median(timings)
