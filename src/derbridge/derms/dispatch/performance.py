"""What each stage of an event delivered, per feeder, against each device's own baseline. Pure: no I/O.

Baseline: a device's mean kW in the same quarter hour of the day (UTC) over the `BASELINE_DAYS` days before the
event, counting only the quarter hours its head end reported NORMAL (not under a dispatch): the average of the
same hours on recent non-event days. Delivered: over a stage, the devices that accepted its dispatch, each
quarter hour's sum of (baseline − reported kW), averaged over the stage's quarter hours. A quarter hour a device
did not report, or a device with no baseline, adds nothing: a delivery is counted only where it is seen.
Dispatched kW is what the stage asked of the devices that accepted it.
"""

from __future__ import annotations

import math
from datetime import datetime

import polars as pl

from derbridge.derms.headend.model import ACCEPTED, INTERVAL, NORMAL

BASELINE_DAYS = 5
KEY = ["head_end_system", "nic_id"]
NO_FEEDER = ""
PERFORMANCE_SCHEMA = pl.Schema({"stage_id": pl.String(), "feeder_id": pl.String(), "dispatched_kw": pl.Float64(),
                                "delivered_kw": pl.Float64(), "baseline_kw": pl.Float64(), "devices": pl.Int64()})


def quarter_of_day(column: str = "interval_start") -> pl.Expr:
    return pl.col(column).dt.hour().cast(pl.Int32) * 4 + pl.col(column).dt.minute().cast(pl.Int32) // 15


def baselines(history: pl.DataFrame) -> pl.DataFrame:
    """Each device's mean kW per quarter of the day over its NORMAL quarter hours (head_end_system, nic_id,
    quarter, baseline_kw)."""
    return (history.filter(pl.col("state") == NORMAL)
            .group_by(*KEY, quarter=quarter_of_day()).agg(baseline_kw=pl.col("kw").mean()))


def stage_quarters(start: datetime, end: datetime) -> int:
    return max(1, math.ceil((end - start) / INTERVAL))


def performance(stages: pl.DataFrame, dispatched: pl.DataFrame, telemetry: pl.DataFrame,
                history: pl.DataFrame) -> pl.DataFrame:
    """Per stage and feeder (PERFORMANCE_SCHEMA). stages: stage_id, start_at, end_at; dispatched: stage_id,
    head_end_system, nic_id, feeder_id, requested_kw, result; telemetry: the event's quarter hours; history: the
    days before it (both head_end_system, nic_id, interval_start, kw, state)."""
    quarters = stages.select("stage_id", "start_at", "end_at", quarters=pl.struct("start_at", "end_at").map_elements(
        lambda row: stage_quarters(row["start_at"], row["end_at"]), return_dtype=pl.Int64))
    accepted = (dispatched.filter(pl.col("result") == ACCEPTED)
                .with_columns(pl.col("feeder_id").fill_null(NO_FEEDER)))
    asked = accepted.group_by("stage_id", "feeder_id").agg(dispatched_kw=pl.col("requested_kw").sum(),
                                                           devices=pl.len().cast(pl.Int64))
    seen = (accepted.select("stage_id", *KEY, "feeder_id")
            .join(quarters, on="stage_id")
            .join(telemetry, on=KEY)
            .filter((pl.col("interval_start") >= pl.col("start_at")) & (pl.col("interval_start") < pl.col("end_at")))
            .with_columns(quarter=quarter_of_day())
            .join(baselines(history), on=[*KEY, "quarter"])
            .group_by("stage_id", "feeder_id")
            .agg(delivered=(pl.col("baseline_kw") - pl.col("kw")).sum(), baseline=pl.col("baseline_kw").sum(),
                 quarters=pl.col("quarters").first()))
    return (asked.join(seen, on=["stage_id", "feeder_id"], how="left")
            .select("stage_id", "feeder_id", "dispatched_kw",
                    delivered_kw=(pl.col("delivered") / pl.col("quarters")).fill_null(0.0),
                    baseline_kw=(pl.col("baseline") / pl.col("quarters")).fill_null(0.0), devices="devices")
            .cast(PERFORMANCE_SCHEMA).sort("stage_id", "feeder_id"))
