"""availability: seconds to decide N devices' availability for one event window (target: 1,000,000 in 2 s).

The fleet is synthetic but realistic in shape: every device has three recent event days, one in fifty has
declared an unavailability window, one in a thousand is on life support, and counts vary. Baseline, same
run and frame: one boolean comparison over one column, i.e. the cost of touching the data at all.
Each figure is the median of three runs. `database` is not used: the engine is pure.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from typing import Any

import polars as pl

from derbridge.derms.availability.engine import EventWindow, fleet_availability
from derbridge.derms.availability.rule_set import DailyWindow, ProgramRules

DEFAULT_SIZE = 1_000_000
TARGET_S = 2.0
REPEATS = 3
EVENT_DAY = date(2026, 7, 15)  # a Wednesday

RULES = ProgramRules(
    available_for_events=True, allowed_overrides=2, max_event_duration=timedelta(hours=4),
    allowed_event_days=frozenset(range(5)), cycle_frequency="MONTH",
    event_window=DailyWindow(clock(12), clock(19)), min_notice=timedelta(hours=2),
    max_events_per_season=20, max_events_per_month=8, max_events_per_week=3,
    max_event_hours_per_year=80.0, max_consecutive_days=3,
)
WINDOW = EventWindow(start=datetime(2026, 7, 15, 20, tzinfo=UTC), end=datetime(2026, 7, 15, 23, tzinfo=UTC),
                     now=datetime(2026, 7, 15, 9, tzinfo=UTC), timezone="America/Chicago")


def run(size: int | None, database: str | None) -> dict[str, Any]:
    size = size or DEFAULT_SIZE
    fleet, unavailability = synthetic_fleet(size)
    value = median_seconds(lambda: fleet_availability(fleet, unavailability, RULES, WINDOW))
    baseline = median_seconds(lambda: fleet.select(pl.col("events_this_week") < 3))
    available = fleet_availability(fleet, unavailability, RULES, WINDOW)["available"].sum()
    return {"name": "availability", "value": round(value, 3), "unit": "s", "baseline": round(baseline, 5),
            "ratio": round(value / baseline, 1), "target": TARGET_S, "met": value <= TARGET_S,
            "size": size, "details": {"available": available, "unavailability_rows": unavailability.height}}


def median_seconds(work: Callable[[], object]) -> float:
    timings = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        work()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def synthetic_fleet(size: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A deterministic fleet of `size` devices, varied by hashing the row number (no random generator)."""
    row = pl.int_range(size, dtype=pl.Int64)

    def spread(seed: int, modulus: int) -> pl.Expr:
        return (row.hash(seed) % modulus).cast(pl.Int64)

    fleet = pl.select(
        device_id=pl.format("dev-{}", row),
        life_support=spread(1, 1000) == 0,
        events_this_week=spread(2, 4),
        events_this_month=spread(3, 9),
        events_this_season=spread(4, 21),
        event_hours_this_year=spread(5, 800).cast(pl.Float64) / 10,
        overrides_this_cycle=spread(6, 4),
        recent_event_days=pl.concat_list([pl.lit(EVENT_DAY) - pl.duration(days=spread(seed, 30) + 1)
                                          for seed in (7, 8, 9)]),
    )
    unavailable = fleet.filter(spread(10, 50) == 0).select("device_id")
    unavailability = unavailable.select(
        "device_id",
        start=pl.lit(WINDOW.start - timedelta(hours=1)),
        end=pl.lit(WINDOW.start + timedelta(hours=1)),
    )
    return fleet, unavailability
