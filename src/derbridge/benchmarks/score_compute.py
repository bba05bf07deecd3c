"""score-compute: a score run over N scored devices (default 1,000,000) on the default rule set, in the program
system's own storage (target: 10 s for a million).

Set-up, not timed: an ACTIVE monthly program capped at 4 events a month, N customers' premises in three time
zones, N subscriptions with one registered thermostat each, and a season of history written with bulk
inserts: about four events per device over the last 120 days (most successful, some non-responses, in-flight
overrides, errors and opt-outs), and a failed status check for one device in fifty. Timed: `runs.run_now`,
from reading the tables to the file written, the scores stored and the file queued. Baseline, same run and
database: `select_frame` of the same devices through the same joins, the cost of reaching them at all. The
set-up runs in a process of its own, so the peak resident memory reported is the run's process's. `database`
is a PostgreSQL URL (a fresh database is created and dropped).
"""

from __future__ import annotations

import multiprocessing
import resource
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from derbridge.dacs import schema
from derbridge.dacs.scores import runs
from derbridge.dacs.scores.schedule import Destination
from derbridge.dacs.scores.variables import read_devices
from derbridge.store.bulk import bulk_insert
from derbridge.store.db import make_engine, reading
from derbridge.store.migrations import upgrade
from derbridge.store.testing import drop_postgres_database, fresh_postgres_database

DEFAULT_SIZE = 1_000_000
TARGET_S = 10.0
EVENTS = 16
"""Events of the season; each calls a quarter of the devices, so about four per device."""
NOW = datetime(2026, 8, 20, 12, tzinfo=UTC)
ZONES = ("America/Chicago", "America/New_York", "America/Denver")
OUTCOMES = ("D1SP",) * 17 + ("D1ND", "D1IO", "D1ER")


def run(size: int | None, database: str | None) -> dict[str, Any]:
    size = size or DEFAULT_SIZE
    with tempfile.TemporaryDirectory(prefix="derbridge-bench-") as scratch, \
            dacs_database(database, Path(scratch)) as engine:
        started = time.perf_counter()
        _in_a_child_process(load_url, engine.url.render_as_string(hide_password=False), size)
        load_s = time.perf_counter() - started
        baseline = _timed(lambda: _read_devices(engine))
        started = time.perf_counter()
        done = runs.run_now(engine, Destination(Path(scratch) / "files"), "benchmark", NOW)
        value = time.perf_counter() - started
        file_mb = (Path(scratch) / "files" / "scores" / done["fileName"]).stat().st_size / 1e6
        with reading(engine) as connection:
            participations = connection.execute(
                sa.select(sa.func.count()).select_from(schema.event_participations)).scalar_one()
    return {"name": "score-compute", "value": round(value, 2), "unit": "s", "baseline": round(baseline, 2),
            "ratio": round(value / baseline, 1), "target": TARGET_S, "met": value <= TARGET_S, "size": size,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "details": {"backend": engine.dialect.name, "devices": done["devices"], "eligible": done["eligible"],
                        "reasons": done["reasons"], "participations": participations, "read_s": done["readS"],
                        "compute_s": done["computeS"], "write_s": done["writeS"], "file_mb": round(file_mb, 1),
                        "load_s": round(load_s, 1)}}


def _in_a_child_process(work: Callable[..., None], *args: Any) -> None:
    """The set-up in a process of its own, so the peak memory reported is the run's (and the baseline's)."""
    child = multiprocessing.get_context("spawn").Process(target=work, args=args)
    child.start()
    child.join()
    if child.exitcode != 0:
        raise RuntimeError(f"the set-up failed (exit code {child.exitcode})")


def load_url(url: str, size: int) -> None:
    engine = make_engine(url)
    try:
        load(engine, size)
    finally:
        engine.dispose()


@contextmanager
def dacs_database(database: str | None, scratch: Path) -> Iterator[Engine]:
    url = fresh_postgres_database(database, "derbridge_bench") if database else f"sqlite:///{scratch / 'dacs.sqlite'}"
    engine = make_engine(url)
    try:
        upgrade("dacs", engine)
        yield engine
    finally:
        engine.dispose()
        if database:
            drop_postgres_database(url)


def load(engine: Engine, size: int) -> None:
    """The program, its customers' premises, subscriptions, devices, status checks and history."""
    n = pl.int_range(size, dtype=pl.Int64, eager=True)
    sites = pl.select(n=n, id=pl.format("{}", n).str.zfill(9))
    history = _participations(sites)
    with engine.begin() as connection:
        bulk_insert(connection, schema.programs, pl.DataFrame({
            "program_id": ["1"], "program_code": ["BENCHSTAT"], "name": ["Benchmark"], "program_type_code": ["DR"],
            "status": ["ACTIVE"], "start_date": [date(2026, 1, 1)], "version": [1], "created_at": [NOW],
            "updated_at": [NOW]}))
        bulk_insert(connection, schema.program_rules, pl.DataFrame({
            "rule_id": ["1"], "rule_code": ["MONTHLY4"], "description": ["Four a month"],
            "available_for_events": [True], "allowed_overrides": [2], "max_event_duration_minutes": [240],
            "allow_event_days": ["MON,TUE,WED,THU,FRI"], "cycle_frequency": ["MONTHLY"], "max_events_per_month": [4],
            "event_window_start": ["12:00:00.000000"], "event_window_end": ["19:00:00.000000"],
            "min_notice_minutes": [60], "exclude_life_support": [True], "version": [1], "created_at": [NOW],
            "updated_at": [NOW]}))
        bulk_insert(connection, schema.program_rule_associations, pl.DataFrame({
            "program_id": ["1"], "rule_id": ["1"], "associated_at": [NOW]}))
        bulk_insert(connection, schema.premises, sites.select(
            cis_premise_id="R" + pl.col("id"), address1=pl.lit("1 Main St"), city=pl.lit("Springfield"),
            state=pl.lit("IL"), postal=pl.lit("62701"), country=pl.lit("USA"),
            time_zone=pl.lit(pl.Series(ZONES)).get(pl.col("n") % len(ZONES)), imported_at=pl.lit(NOW)))
        bulk_insert(connection, schema.service_points, sites.select(
            cis_service_point_id="S" + pl.col("id"), cis_premise_id="R" + pl.col("id"),
            cis_account_id="A" + pl.col("id"), location_id=pl.lit("L"), imported_at=pl.lit(NOW)))
        bulk_insert(connection, schema.program_subscriptions, sites.select(
            subscription_id="U" + pl.col("id"), enrollment_id="E" + pl.col("id"), program_id=pl.lit("1"),
            program_code=pl.lit("BENCHSTAT"), subscription_type=pl.lit("DR"), status=pl.lit("ACTIVE"),
            cis_person_id="P" + pl.col("id"), cis_account_id="A" + pl.col("id"),
            cis_service_point_id="S" + pl.col("id"), start_at=pl.lit(NOW - timedelta(days=300)),
            updated_at=pl.lit(NOW)))
        bulk_insert(connection, schema.controllable_devices, sites.select(
            device_id="D" + pl.col("id"), enrollment_id="E" + pl.col("id"), subscription_id="U" + pl.col("id"),
            status=pl.lit("ACTIVE"), head_end_system=pl.lit("ECOCLOUD"), nic_id="NIC" + pl.col("id"),
            cis_service_point_id="S" + pl.col("id"), installed_at=pl.lit(NOW - timedelta(days=300)),
            head_end_registration=pl.lit("D1RE"), updated_at=pl.lit(NOW)))
        bulk_insert(connection, schema.status_checks, sites.filter(pl.col("n") % 50 == 0).select(
            communication_id="C" + pl.col("id"), purpose=pl.lit("AGENT"), head_end_system=pl.lit("ECOCLOUD"),
            nic_id="NIC" + pl.col("id"), status=pl.lit("FAILURE"), requested_at=pl.lit(NOW - timedelta(days=2)),
            deadline=pl.lit(NOW - timedelta(days=2)), answered_at=pl.lit(NOW - timedelta(days=2))))
        bulk_insert(connection, schema.event_participations, history)


def _participations(sites: pl.DataFrame) -> pl.DataFrame:
    """Each of EVENTS events, 7.5 days apart over the last 120 days, calls the quarter of the devices whose hash
    picks it; outcomes and opt-outs are drawn from the hash too."""
    frames = []
    for event in range(EVENTS):
        start = NOW - timedelta(days=120 - event * 7.5, hours=-7)
        called = sites.filter(pl.col("n").hash(event) % 4 == 0)
        draw = pl.col("n").hash(event + 100)
        opted = draw % 40 == 0
        outcome = pl.lit(pl.Series(OUTCOMES)).get(draw % len(OUTCOMES))
        frames.append(called.select(
            event_external_id=pl.lit(f"EV{event:03d}"), head_end_system=pl.lit("ECOCLOUD"),
            nic_id="NIC" + pl.col("id"), device_id="D" + pl.col("id"), subscription_id="U" + pl.col("id"),
            program_code=pl.lit("BENCHSTAT"), reserved=pl.lit(True), reservation_start=pl.lit(start),
            reservation_end=pl.lit(start + timedelta(hours=2)), opted_out=opted,
            opted_out_at=pl.when(opted).then(pl.lit(start - timedelta(hours=3))),
            outcome=pl.when(~opted).then(outcome),
            participation_start=pl.when(~opted).then(pl.lit(start)),
            participation_end=pl.when(~opted).then(pl.lit(start + timedelta(hours=2))), updated_at=pl.lit(NOW)))
    return pl.concat(frames)


def _read_devices(engine: Engine) -> int:
    with reading(engine) as connection:
        return read_devices(connection, NOW, None).height


def _timed(work: Any) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started
