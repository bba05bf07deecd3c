"""availability-stored: seconds for DERMS to judge every active device of an N-device program for one event,
through its storage: registry joins, the F2 rules it holds, the participation summary (SQL GROUP BY), the
engine (target: 100,000 devices in 5 s, an operator planning an event interactively).

The program's devices sit at N service points in one time zone, each with three participations this summer,
one premise in a thousand on life support. Baseline, same run and database: counting the program's active
devices through the same registry joins, i.e. the cost of reaching the fleet at all. Each figure is the
median of three runs. `database` is a PostgreSQL URL (a fresh database is created and dropped); the default
is a temporary SQLite file.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from derbridge.derms.availability import devices as device_availability
from derbridge.derms.programs import rules as program_rules
from derbridge.derms.schema import (
    devices,
    event_participations,
    sensitive_premises,
    service_locations,
    subscriptions,
)
from derbridge.store.bulk import bulk_insert
from derbridge.store.db import make_engine, reading
from derbridge.store.migrations import upgrade
from derbridge.store.testing import drop_postgres_database, fresh_postgres_database

DEFAULT_SIZE = 100_000
TARGET_S = 5.0
REPEATS = 3
PROGRAM = "BENCHSTAT"
TIME_ZONE = "America/Chicago"
EVENT_START = datetime(2026, 7, 15, 19, tzinfo=UTC)  # Wednesday 14:00 in Chicago
RULE = {
    "ruleId": "1", "ruleCode": "SUMMER", "availableForEvents": True, "allowedOverrides": 1,
    "maxEventDurationMinutes": 240, "allowedEventDays": ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"],
    "cycleFrequency": "MONTH", "maxEventsPerSeason": 20, "maxEventsPerMonth": 8, "maxEventsPerWeek": 2,
    "maxEventHoursPerYear": 40.0, "eventWindowStart": "12:00:00", "eventWindowEnd": "19:00:00",
    "minNoticeMinutes": 120, "maxConsecutiveDays": 2, "excludeLifeSupport": True,
}


def run(size: int | None, database: str | None) -> dict[str, Any]:
    size = size or DEFAULT_SIZE
    with derms_database(database) as engine:
        started = time.perf_counter()
        load_program(engine, size)
        loaded_s = time.perf_counter() - started
        request = device_availability.AvailabilityRequest.model_validate({
            "programCode": PROGRAM, "eventStart": EVENT_START.isoformat(),
            "eventEnd": (EVENT_START + timedelta(hours=2)).isoformat(), "limit": 0})
        now = EVENT_START - timedelta(hours=6)
        value = median_seconds(lambda: device_availability.evaluate(engine, request, now))
        baseline = median_seconds(lambda: count_fleet(engine))
        judged = device_availability.evaluate(engine, request, now)
    summary = device_availability.summary(judged)
    return {"name": "availability-stored", "value": round(value, 3), "unit": "s", "baseline": round(baseline, 4),
            "ratio": round(value / baseline, 1), "target": TARGET_S, "met": value <= TARGET_S, "size": size,
            "details": {"backend": engine.dialect.name, "load_s": round(loaded_s, 1),
                        "available": summary["available"],
                        "by_reason": {reason["code"]: reason["devices"] for reason in summary["reasons"]}}}


@contextmanager
def derms_database(database: str | None) -> Iterator[Engine]:
    with tempfile.TemporaryDirectory(prefix="derbridge-bench-") as scratch:
        url = fresh_postgres_database(database, "derbridge_bench") if database else \
            f"sqlite:///{Path(scratch) / 'derms.sqlite'}"
        engine = make_engine(url)
        try:
            upgrade("derms", engine)
            yield engine
        finally:
            engine.dispose()
            if database:
                drop_postgres_database(url)


def load_program(engine: Engine, size: int) -> None:
    """The F2 rules, then N subscriptions, service locations and devices, and 3 N participations, in bulk."""
    message = program_rules.ProgramMessage.model_validate(
        {"dacsMessageId": "1", "programId": "1", "programCode": PROGRAM, "rulesVersion": 1, "rules": [RULE]})
    program_rules.apply(engine, message, program_rules.check_rules(message))
    row = pl.int_range(size, dtype=pl.Int64, eager=True)
    ids = pl.format("{}", row)
    now = datetime.now(UTC)
    sites = pl.select(id=ids, n=row)
    with engine.begin() as connection:
        bulk_insert(connection, service_locations, sites.select(
            cis_service_point_id="SP" + pl.col("id"), cis_premise_id="PR" + pl.col("id"),
            cis_account_id="AC" + pl.col("id"), location_id=pl.lit("L"), address1=pl.lit("1 Main St"),
            city=pl.lit("Springfield"), state=pl.lit("IL"), postal=pl.lit("62701"), country=pl.lit("USA"),
            time_zone=pl.lit(TIME_ZONE), imported_at=pl.lit(now)))
        bulk_insert(connection, subscriptions, sites.select(
            subscription_id="SU" + pl.col("id"), status=pl.lit("ACTIVE"), program_code=pl.lit(PROGRAM),
            cis_person_id="PE" + pl.col("id"), cis_account_id="AC" + pl.col("id"),
            cis_service_point_id="SP" + pl.col("id"), start_at=pl.lit(now), last_message_id=pl.lit("1"),
            updated_at=pl.lit(now)))
        bulk_insert(connection, devices, sites.select(
            head_end_system=pl.lit("ECOCLOUD"), nic_id="NIC" + pl.col("id"), device_id=pl.col("id"),
            subscription_id="SU" + pl.col("id"), active=pl.lit(True), registration_status=pl.lit("REGISTERED"),
            last_message_id=pl.lit("1"), updated_at=pl.lit(now)))
        bulk_insert(connection, sensitive_premises, sites.filter(pl.col("n") % 1000 == 0).select(
            cis_premise_id="PR" + pl.col("id"), kind=pl.lit("LIFE_SUPPORT"), recorded_at=pl.lit(now)))
        bulk_insert(connection, event_participations, participations(sites, now))


def participations(sites: pl.DataFrame, now: datetime) -> pl.DataFrame:
    """Three events per device this summer, spread over the days before the event by hashing the row."""
    frames = []
    for event in range(3):
        days_before = (pl.col("n").hash(event) % 45 + 1).cast(pl.Int64)
        start = pl.lit(EVENT_START) - pl.duration(days=days_before)
        frames.append(sites.select(
            event_id=pl.lit(f"EV{event}-") + (pl.col("n") % 60).cast(pl.String) + "-" + pl.col("id"),
            head_end_system=pl.lit("ECOCLOUD"), nic_id="NIC" + pl.col("id"), start_at=start,
            end_at=start + pl.duration(hours=2), customer_override=pl.col("n").hash(event + 10) % 7 == 0,
            recorded_at=pl.lit(now)))
    return pl.concat(frames)


def count_fleet(engine: Engine) -> int:
    with reading(engine) as connection:
        return int(connection.execute(
            sa.select(sa.func.count()).select_from(
                devices.join(subscriptions, subscriptions.c.subscription_id == devices.c.subscription_id)
                .outerjoin(service_locations,
                           service_locations.c.cis_service_point_id == subscriptions.c.cis_service_point_id))
            .where(subscriptions.c.program_code == PROGRAM, devices.c.active.is_(True))).scalar_one())


def median_seconds(work: Callable[[], object]) -> float:
    timings = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        work()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)
