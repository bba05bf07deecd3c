"""The reservation engine's choice, over a frame of candidate devices: which to reserve for an event, which to
keep on standby, and how many each constraint left out. Pure and set-based: polars over the whole fleet, never
a loop per device.

The objective: meet the event's target with the expected kW of the devices reserved, calling first the devices
that have waited longest. Devices that no constraint rules out are ranked by the day they were last called
(never called first, then the longest ago), then by expected kW (score × the kW their type is expected to
deliver then; most first), then by a hash of the device under the event's seed (so ties break the same way for
the same seed, and differently for another). In that order, a device fits while the running total of expected
kW through its transformer, and then through its feeder, stays within the element's headroom. Fitting devices
are reserved in rank order until the expected kW reaches the target (the device that crosses it included); the
next ones, `standby_share` as many as were reserved, are the standby list, ranked, for backfill. When the
fleet cannot meet the target, every fitting device is reserved: the most expected kW the constraints allow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import polars as pl

from derbridge.tables.frames import require_columns

RESERVED, STANDBY = "RESERVED", "STANDBY"
# Codes of the constraints besides the availability engine's reasons, in the order they are reported.
OUTSIDE_ZONE = "OUTSIDE_ZONE"
NO_NETWORK_LOCATION = "NO_NETWORK_LOCATION"
NOT_ELIGIBLE = "NOT_ELIGIBLE"
NOT_COMMUNICATING = "NOT_COMMUNICATING"
OPTED_OUT = "OPTED_OUT"
RESERVED_ELSEWHERE = "RESERVED_ELSEWHERE"
NO_EXPECTED_KW = "NO_EXPECTED_KW"
TRANSFORMER_HEADROOM = "TRANSFORMER_HEADROOM"
FEEDER_HEADROOM = "FEEDER_HEADROOM"
FLAGS = {"outside_zone": OUTSIDE_ZONE, "no_location": NO_NETWORK_LOCATION, "not_eligible": NOT_ELIGIBLE,
         "not_communicating": NOT_COMMUNICATING, "opted_out": OPTED_OUT, "reserved_elsewhere": RESERVED_ELSEWHERE}
"""Each candidate's flag column → the constraint it stands for."""
CONSTRAINT_TEXTS = {
    OUTSIDE_ZONE: "the device is not served by the event's substations or feeders",
    NO_NETWORK_LOCATION: "DERMS does not know the device's transformer, so its headroom cannot be checked",
    NOT_ELIGIBLE: "the current score set marks the device not eligible",
    NOT_COMMUNICATING: "the device is not registered with its head end, or its last status check failed",
    OPTED_OUT: "the customer opted the device out of this event",
    RESERVED_ELSEWHERE: "the device is reserved for another event at the same time",
    NO_EXPECTED_KW: "the device is expected to deliver nothing then (score or kW model)",
    TRANSFORMER_HEADROOM: "its transformer has no headroom left for it",
    FEEDER_HEADROOM: "its feeder has no headroom left for it",
}
CANDIDATE_COLUMNS = ("head_end_system", "nic_id", "expected_kw", "reasons", *FLAGS)
"""Columns a candidate frame must hold without nulls; `transformer_id`, `feeder_id`, `substation_id` (text) and
`last_called` (a date) may be null (no location, never called)."""
NULLABLE_COLUMNS = ("transformer_id", "feeder_id", "substation_id", "last_called")


@dataclass(frozen=True)
class Headroom:
    """kW each element can still carry in the event's window; an element absent here is not limited."""

    transformers: pl.DataFrame  # transformer_id, headroom_kw
    feeders: pl.DataFrame  # feeder_id, headroom_kw

    @classmethod
    def unlimited(cls) -> Headroom:
        return cls(pl.DataFrame(schema={"transformer_id": pl.String, "headroom_kw": pl.Float64}),
                   pl.DataFrame(schema={"feeder_id": pl.String, "headroom_kw": pl.Float64}))


@dataclass(frozen=True)
class Selection:
    devices: pl.DataFrame
    """Reserved and standby devices in rank order: head_end_system, nic_id, role, rank, expected_kw,
    transformer_id, feeder_id, substation_id."""
    excluded: dict[str, int]
    """Per constraint, how many devices it left out (a device may count under several)."""
    candidates: int
    eligible: int
    target_kw: float

    @property
    def reserved(self) -> pl.DataFrame:
        return self.devices.filter(pl.col("role") == RESERVED)

    @property
    def standby(self) -> pl.DataFrame:
        return self.devices.filter(pl.col("role") == STANDBY)

    @property
    def expected_kw(self) -> float:
        return float(self.reserved["expected_kw"].sum())


def check_candidates(candidates: pl.DataFrame) -> None:
    require_columns(candidates, CANDIDATE_COLUMNS, "candidates")
    missing = [column for column in NULLABLE_COLUMNS if column not in candidates.columns]
    if missing:
        raise ValueError(f"candidates frame lacks columns {missing}")


def ruled_out() -> pl.Expr:
    """Whether a candidate breaks any constraint: an availability reason that blocks it, a flag, or no kW."""
    return pl.any_horizontal(pl.col("reasons").list.len() > 0, *(pl.col(flag) for flag in FLAGS),
                             pl.col("expected_kw") <= 0)


def exclusion_counts(candidates: pl.DataFrame) -> dict[str, int]:
    """Per constraint, how many candidates break it (the availability reasons, then the flags, then no kW)."""
    reasons = candidates.filter(pl.col("reasons").list.len() > 0)["reasons"].explode().value_counts()
    counted = {str(code): int(count) for code, count in reasons.iter_rows()}
    flags = candidates.select(*(pl.col(flag).sum().alias(code) for flag, code in FLAGS.items()),
                              (pl.col("expected_kw") <= 0).sum().alias(NO_EXPECTED_KW)).row(0, named=True)
    counted.update({code: int(count) for code, count in flags.items() if count})
    return counted


def select(candidates: pl.DataFrame, headroom: Headroom, target_kw: float, seed: int,
           standby_share: float) -> Selection:
    """Rank what no constraint rules out, fit it within the network's headroom, and reserve up to the target."""
    check_candidates(candidates)
    excluded = exclusion_counts(candidates)
    ranked = _ranked(candidates.filter(~ruled_out()), seed)
    fitting, left_out = _within_headroom(ranked, headroom)
    excluded.update({code: count for code, count in left_out.items() if count})
    reserve = (pl.col("expected_kw").cum_sum() - pl.col("expected_kw")) < target_kw
    chosen = fitting.with_columns(reserved=reserve)
    standby_count = math.ceil(int(chosen["reserved"].sum()) * standby_share)
    devices = (chosen.with_columns(standby_rank=(~pl.col("reserved")).cast(pl.UInt32).cum_sum())
               .filter(pl.col("reserved") | (pl.col("standby_rank") <= standby_count))
               .select("head_end_system", "nic_id",
                       role=pl.when(pl.col("reserved")).then(pl.lit(RESERVED)).otherwise(pl.lit(STANDBY)),
                       rank=pl.int_range(1, pl.len() + 1, dtype=pl.UInt32),
                       expected_kw="expected_kw", transformer_id="transformer_id", feeder_id="feeder_id",
                       substation_id="substation_id"))
    return Selection(devices, excluded, candidates.height, ranked.height, target_kw)


def _ranked(eligible: pl.DataFrame, seed: int) -> pl.DataFrame:
    """Longest waiting first, then most expected kW, then the seeded hash of the device."""
    return (eligible.with_columns(tie=pl.struct("head_end_system", "nic_id").hash(seed))
            .sort(["last_called", "expected_kw", "tie"], descending=[False, True, False], nulls_last=False))


def _within_headroom(ranked: pl.DataFrame, headroom: Headroom) -> tuple[pl.DataFrame, dict[str, int]]:
    """The ranked devices whose running total of expected kW through their transformer, then through their
    feeder, stays within its headroom; and how many each element kind left out."""
    def fits(frame: pl.DataFrame, limits: pl.DataFrame, key: str) -> pl.DataFrame:
        limited = frame.join(limits, on=key, how="left", maintain_order="left")
        within = (pl.col("headroom_kw").is_null()
                  | (pl.col("expected_kw").cum_sum().over(key) <= pl.col("headroom_kw")))
        return limited.filter(within).drop("headroom_kw")

    by_transformer = fits(ranked, headroom.transformers, "transformer_id")
    by_feeder = fits(by_transformer, headroom.feeders, "feeder_id")
    return by_feeder, {TRANSFORMER_HEADROOM: ranked.height - by_transformer.height,
                       FEEDER_HEADROOM: by_transformer.height - by_feeder.height}


def by_feeder(selection: Selection, headroom: Headroom) -> list[dict[str, Any]]:
    """Per feeder, the devices reserved, their expected kW and the feeder's headroom (None: not limited)."""
    reserved = selection.reserved.group_by("feeder_id").agg(devices=pl.len(), expected_kw=pl.col("expected_kw").sum())
    joined = reserved.join(headroom.feeders, on="feeder_id", how="left").sort("expected_kw", descending=True)
    return [{"feederId": row["feeder_id"], "devices": row["devices"], "expectedKw": round(row["expected_kw"], 3),
             "headroomKw": None if row["headroom_kw"] is None else round(row["headroom_kw"], 3)}
            for row in joined.iter_rows(named=True)]
