"""Dropping devices from a reservation and backfilling from its standby list: the choice, pure and set-based.

A customer's opt-out (F12) or declared window (F13) takes a reserved device out of an event. The reservation
keeps the rest, and, if what is left no longer meets the event's target, takes standby devices in their rank
order: each one still free (not opted out of the event, not declared unavailable over it, not reserved for
another event at the same time) and fitting within the headroom its transformer and feeder have left beside the
devices still reserved, until the expected kW reaches the target again (the device that crosses it included),
as the engine fills a reservation first. When the standby list runs out before the target, every fitting
standby device is taken and the reservation says it falls short. Several drops for one event are one choice.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import polars as pl

from derbridge.derms.reservations.selection import (
    FEEDER_HEADROOM,
    OPTED_OUT,
    RESERVED,
    STANDBY,
    TRANSFORMER_HEADROOM,
    Headroom,
)

KEYS = ["head_end_system", "nic_id"]
RELEASED = "RELEASED"
DEVICE_COLUMNS = ("head_end_system", "nic_id", "status", "rank", "expected_kw", "transformer_id", "feeder_id")
DROP_COLUMNS = ("head_end_system", "nic_id", "cause", "source_id")
BLOCKED_COLUMNS = ("head_end_system", "nic_id", "constraint")


@dataclass(frozen=True)
class Backfill:
    dropped: pl.DataFrame
    """Reserved devices taken out: head_end_system, nic_id, cause, source_id, status (OPTED_OUT or RELEASED)."""
    not_reserved: pl.DataFrame
    """Drops of devices the reservation does not hold reserved (nothing to do): the drops' columns."""
    added: pl.DataFrame
    """Standby devices now reserved, in rank order: the devices' columns, status RESERVED."""
    skipped: dict[str, int]
    """Standby devices passed over, per constraint (OPTED_OUT, UNAVAILABLE_DECLARED, RESERVED_ELSEWHERE,
    TRANSFORMER_HEADROOM, FEEDER_HEADROOM)."""
    expected_kw: float
    """Expected kW of the reservation after the change."""
    target_kw: float
    standby_left: int
    """Standby devices still free and fitting, not needed this time."""

    @property
    def target_met(self) -> bool:
        return round(self.expected_kw, 3) >= self.target_kw

    @cached_property
    def changes(self) -> pl.DataFrame:
        """What the program system hears (F9): devices added (RESERVED) and dropped (RELEASED)."""
        return pl.concat([self.added.select(*KEYS, status=pl.lit(RESERVED)),
                          self.dropped.select(*KEYS, status=pl.lit(RELEASED))])


def choose(devices: pl.DataFrame, drops: pl.DataFrame, blocked: pl.DataFrame, headroom: Headroom,
           target_kw: float) -> Backfill:
    """Drop the reserved devices `drops` name and backfill from the standby devices.

    `devices`: the reservation's RESERVED and STANDBY devices (DEVICE_COLUMNS; others are ignored); `drops`:
    DROP_COLUMNS, a device named twice counts once, by its first row; `blocked`: standby devices no longer free,
    with the constraint that rules each out (BLOCKED_COLUMNS); `headroom`: each element's headroom for the
    event's window (the engine's, before any device of this event)."""
    for name, frame, columns in (("devices", devices, DEVICE_COLUMNS), ("drops", drops, DROP_COLUMNS),
                                 ("blocked", blocked, BLOCKED_COLUMNS)):
        missing = [column for column in columns if column not in frame.columns]
        if missing:
            raise ValueError(f"{name} frame lacks columns {missing}")
    reserved = devices.filter(pl.col("status") == RESERVED)
    drops = drops.select(DROP_COLUMNS).unique(KEYS, keep="first", maintain_order=True)
    dropped = drops.join(reserved.select(KEYS), on=KEYS, how="semi").with_columns(
        status=pl.when(pl.col("cause") == OPTED_OUT).then(pl.lit(OPTED_OUT)).otherwise(pl.lit(RELEASED)))
    kept = reserved.join(dropped, on=KEYS, how="anti")
    kept_kw = float(kept["expected_kw"].sum())
    standby = (devices.filter(pl.col("status") == STANDBY).join(drops, on=KEYS, how="anti").sort("rank")
               .join(blocked.select(BLOCKED_COLUMNS).unique(KEYS, keep="first"), on=KEYS, how="left",
                     maintain_order="left"))
    free = standby.filter(pl.col("constraint").is_null()).drop("constraint")
    fitting, left_out = _within_headroom(free, kept, headroom)
    need = target_kw - kept_kw
    added = (fitting.filter((pl.col("expected_kw").cum_sum() - pl.col("expected_kw")) < need)
             if dropped.height and need > 0 else fitting.clear())
    counts = standby.filter(pl.col("constraint").is_not_null())["constraint"].value_counts()
    skipped = {str(code): int(count) for code, count in counts.iter_rows()}
    skipped.update({code: count for code, count in left_out.items() if count})
    return Backfill(dropped=dropped, not_reserved=drops.join(reserved.select(KEYS), on=KEYS, how="anti"),
                    added=added.select(DEVICE_COLUMNS).with_columns(status=pl.lit(RESERVED)), skipped=skipped,
                    expected_kw=kept_kw + float(added["expected_kw"].sum()), target_kw=target_kw,
                    standby_left=fitting.height - added.height)


def _within_headroom(free: pl.DataFrame, kept: pl.DataFrame, headroom: Headroom) -> tuple[pl.DataFrame,
                                                                                          dict[str, int]]:
    """The free standby devices, in rank order, whose running total of expected kW through their transformer,
    then their feeder, stays within what the devices still reserved leave of its headroom."""
    def fits(frame: pl.DataFrame, limits: pl.DataFrame, key: str) -> pl.DataFrame:
        load = kept.group_by(key).agg(load_kw=pl.col("expected_kw").sum())
        room = limits.join(load, on=key, how="left").select(
            key, room_kw=pl.col("headroom_kw") - pl.col("load_kw").fill_null(0.0))
        limited = frame.join(room, on=key, how="left", maintain_order="left")
        within = pl.col("room_kw").is_null() | (pl.col("expected_kw").cum_sum().over(key) <= pl.col("room_kw"))
        return limited.filter(within).drop("room_kw")

    by_transformer = fits(free, headroom.transformers, "transformer_id")
    by_feeder = fits(by_transformer, headroom.feeders, "feeder_id")
    return by_feeder, {TRANSFORMER_HEADROOM: free.height - by_transformer.height,
                       FEEDER_HEADROOM: by_transformer.height - by_feeder.height}
