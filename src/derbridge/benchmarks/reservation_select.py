"""reservation-select: seconds for DERMS to choose the devices of one event through its storage — N = 1,000,000
enrolled thermostats, a target that takes a tenth of them — availability (registry joins, rules, the
participation summary), communication, network location and headroom, scores, rotation, and the engine's
ranking and fitting (target: 5 s on the embedded SQLite). Reported beside it: the engine alone over the
candidates already in memory (target: 1 s). Baseline, same run and database: reading the program's device keys
through the registry joins, i.e. the cost of reaching the fleet at all. Each figure is the median of three.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from derbridge.benchmarks.availability_stored import derms_database
from derbridge.benchmarks.reservation_fleet import PLANNED_AT, PROGRAM, load_fleet, schedule_event
from derbridge.derms.events.events import event_row
from derbridge.derms.reservations.candidates import candidates_of
from derbridge.derms.reservations.models import Models
from derbridge.derms.reservations.reserve import plan
from derbridge.derms.reservations.selection import select
from derbridge.derms.schema import devices, subscriptions
from derbridge.store.bulk import select_frame
from derbridge.store.db import reading

DEFAULT_SIZE = 1_000_000
TARGET_S, ENGINE_TARGET_S = 5.0, 1.0
REPEATS = 3
SEED = 2026
KW = 1.2
"""What the reference model expects of a thermostat on the benchmark's summer afternoon."""


def run(size: int | None, database: str | None) -> dict[str, Any]:
    size = size or DEFAULT_SIZE
    wanted = size // 10
    models = Models()
    with derms_database(database) as engine:
        started = time.perf_counter()
        load_fleet(engine, size)
        event_id = schedule_event(engine, target_kw=wanted * KW - KW / 2)
        loaded_s = time.perf_counter() - started
        value = median_seconds(lambda: plan(engine, event_id, PLANNED_AT, models, SEED))
        with reading(engine) as connection:
            event = event_row(connection, event_id)
        candidates, headroom = candidates_of(engine, event, PLANNED_AT, models)
        in_memory = median_seconds(lambda: select(candidates, headroom, event.target_kw, SEED, models.standby_share))
        baseline = median_seconds(lambda: program_keys(engine))
        _event, chosen, _headroom = plan(engine, event_id, PLANNED_AT, models, SEED)
    met = value <= TARGET_S and in_memory <= ENGINE_TARGET_S
    return {"name": "reservation-select", "value": round(value, 3), "unit": "s", "baseline": round(baseline, 3),
            "ratio": round(value / baseline, 1), "target": TARGET_S, "met": met, "size": size,
            "details": {"backend": engine.dialect.name, "load_s": round(loaded_s, 1),
                        "engine_in_memory_s": round(in_memory, 3), "engine_target_s": ENGINE_TARGET_S,
                        "reserved": chosen.reserved.height, "standby": chosen.standby.height,
                        "expected_kw": round(chosen.expected_kw, 1), "excluded": chosen.excluded}}


def program_keys(engine: Engine) -> pl.DataFrame:
    """The program's active devices, keys only, through the registry join: reaching the fleet at all."""
    query = (sa.select(devices.c.head_end_system, devices.c.nic_id)
             .join(subscriptions, subscriptions.c.subscription_id == devices.c.subscription_id)
             .where(subscriptions.c.program_code == PROGRAM, devices.c.active.is_(True)))
    with reading(engine) as connection:
        return select_frame(connection, query, {"head_end_system": pl.String, "nic_id": pl.String})


def median_seconds(work: Callable[[], object]) -> float:
    timings = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        work()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)
