"""dispatch-outcomes: seconds for DERMS to dispatch an event of N reserved devices and work out their outcomes
(target: 100,000 in 10 s, dispatch and outcomes together).

One two-hour event, three stages, N devices reserved on ten feeders, all in one simulated cloud in the
process. Measured through DERMS's storage, as its dispatch worker does it: each stage's dispatch written from
the reservation, the cloud asked, the answers written back; then, after the event, the telemetry of the event
and of the five days before read from the cloud, every device's outcome and each stage's performance worked
out, stored, and the messages (or the file) queued for the hub. Baseline, same run and database: a bulk insert
of the N dispatch rows of one stage into an empty table (the least any dispatch of N devices must write).
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from derbridge.derms.dispatch.collect import collect_due
from derbridge.derms.dispatch.schema import event_outcomes
from derbridge.derms.dispatch.stages import plan_due, send_pending
from derbridge.derms.events.schema import event_stages, events
from derbridge.derms.headend.gateway import Gateway
from derbridge.derms.headend.simulator import DATASET_AS_OF, CloudProfile, SimulatedCloud
from derbridge.derms.reservations.schema import reservation_devices
from derbridge.store.bulk import bulk_insert
from derbridge.store.db import make_engine
from derbridge.store.migrations import upgrade
from derbridge.store.testing import drop_postgres_database, fresh_postgres_database

DEFAULT_SIZE = 100_000
TARGET_S = 10.0
EVENT = "EV9000000001"
START = datetime(2026, 7, 15, 20, tzinfo=UTC)
HEAD_END = "ECOCLOUD"
STAGES = (("RAMP_UP", 0, 15), ("SUSTAIN", 15, 105), ("RAMP_DOWN", 105, 120))


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def run(size: int | None, database: str | None) -> dict[str, Any]:
    size = size or DEFAULT_SIZE
    with tempfile.TemporaryDirectory(prefix="dispatch-outcomes-") as directory:
        url = fresh_postgres_database(database, "derbridge_bench") if database else \
            f"sqlite:///{Path(directory) / 'derms.sqlite'}"
        engine = make_engine(url)
        try:
            upgrade("derms", engine)
            nics = _seed(engine, size)
            clock = Clock(START - timedelta(minutes=1))
            gateway = Gateway([_cloud(nics, clock)])
            dispatch_s = 0.0
            for _name, begin, _end in STAGES:
                clock.now = START + timedelta(minutes=begin, seconds=5)
                started = time.perf_counter()
                plan_due(engine, clock.now)
                send_pending(engine, gateway, clock.now)
                dispatch_s += time.perf_counter() - started
            with engine.begin() as connection:
                connection.execute(sa.update(events).values(status="COMPLETED"))
            clock.now = START + timedelta(hours=2, minutes=1)
            started = time.perf_counter()
            collect_due(engine, gateway, clock.now, Path(directory))
            collect_s = time.perf_counter() - started
            with engine.connect() as connection:
                counts: dict[str, int] = {row.outcome: int(row.devices) for row in connection.execute(
                    sa.select(event_outcomes.c.outcome, sa.func.count().label("devices"))
                    .group_by(event_outcomes.c.outcome))}
            baseline = _baseline(engine, nics)
        finally:
            engine.dispose()
            if database:
                drop_postgres_database(url)
    value = dispatch_s + collect_s
    return {"name": "dispatch-outcomes", "value": round(value, 3), "unit": "s", "baseline": round(baseline, 3),
            "ratio": round(value / baseline, 1), "target": f"<= {TARGET_S} s at 100,000 (scaled to N, + 1 s)",
            "met": value <= TARGET_S * size / DEFAULT_SIZE + 1.0, "size": size,
            "details": {"dispatch_s": round(dispatch_s, 3), "outcomes_s": round(collect_s, 3),
                        "outcomes": counts, "database": "postgresql" if database else "sqlite"}}


def _seed(engine: Engine, size: int) -> list[str]:
    nics = [f"ECO-{n:08d}" for n in range(size)]
    day_before = START - timedelta(days=1)
    with engine.begin() as connection:
        connection.execute(sa.insert(events).values(
            event_id=EVENT, name="Bench", event_type="EMERGENCY", program_code="SMARTSTAT", target_kw=size * 1.0,
            start_at=START, end_at=START + timedelta(hours=2), zone="ALL", zone_ids="[]", status="IN_PROGRESS",
            needs_approval=False, created_by="bench", created_at=day_before, updated_at=day_before))
        connection.execute(sa.insert(event_stages), [
            {"event_id": EVENT, "stage_id": f"{EVENT}-{n}", "sequence": n, "name": name,
             "start_at": START + timedelta(minutes=begin), "end_at": START + timedelta(minutes=end)}
            for n, (name, begin, end) in enumerate(STAGES, start=1)])
        bulk_insert(connection, reservation_devices, pl.DataFrame({"nic_id": nics}).with_row_index("rank").select(
            event_id=pl.lit(EVENT), head_end_system=pl.lit(HEAD_END), nic_id="nic_id", status=pl.lit("RESERVED"),
            rank=pl.col("rank").cast(pl.Int64), expected_kw=pl.lit(1.0), transformer_id=pl.lit(None, pl.String),
            feeder_id=pl.format("F-{}", pl.col("rank") % 10), updated_at=pl.lit(day_before)))
    return nics


def _cloud(nics: list[str], clock: Clock) -> SimulatedCloud:
    fleet = pl.DataFrame({"nicId": nics}).with_columns(
        serialNo=pl.col("nicId"), make=pl.lit("ECOTHERM"), model=pl.lit("ET300"), firmware=pl.lit("5.4.2"),
        online=pl.int_range(pl.len()) % 50 != 0,
        lastSeenUtc=pl.lit(DATASET_AS_OF - timedelta(days=30)).dt.cast_time_unit("us"))
    return SimulatedCloud(CloudProfile(HEAD_END, seed=1), fleet, clock)


def _baseline(engine: Engine, nics: list[str]) -> float:
    table = sa.Table("bench_dispatch_rows", sa.MetaData(), sa.Column("stage_id", sa.String(60), primary_key=True),
                     sa.Column("head_end_system", sa.String(50), primary_key=True),
                     sa.Column("nic_id", sa.String(100), primary_key=True), sa.Column("requested_kw", sa.Float))
    table.create(engine)
    rows = pl.DataFrame({"nic_id": nics}).select(stage_id=pl.lit("S"), head_end_system=pl.lit(HEAD_END),
                                                 nic_id="nic_id", requested_kw=pl.lit(1.0))
    started = time.perf_counter()
    with engine.begin() as connection:
        bulk_insert(connection, table, rows)
    return time.perf_counter() - started
