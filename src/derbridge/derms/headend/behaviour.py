"""How a simulated fleet uses power and answers dispatches: the model behind a simulated cloud's telemetry.

Every figure is drawn from the cloud's seed and the device (and the event, or the quarter hour), never from a
random generator's state: the same seed, devices and times give the same telemetry, in any order of questions.
Worked out over whole frames (polars), never device by device. The model, documented in docs/fleets.md:

- baseline: a device's load in a quarter hour is its type's rated kW times a duty share, times a draw in
  [0.9, 1.1). A thermostat's duty follows the outdoor temperature, a daily curve in the fleet's time zone
  peaking at `peak_temperature_c` at 15:00 and `temperature_swing_c` lower at 03:00: 5 % at 20 °C and below,
  4.5 points more per degree, at most 95 %. Other types follow the time of day: 30 %, 80 % from 17:00 to 22:00.
- a dispatched device takes the event with probability `response_rate` (drawn per event): it then sheds the
  kW asked of it, at most its type's sheddable share of its load (state CURTAILED); one that does not take it
  runs as usual (NORMAL). A device that takes it is overridden by its customer with probability
  `override_rate`, from a drawn quarter hour after the first (OVERRIDDEN, back to its usual load). A
  dispatched device goes off line with probability `offline_rate`, from a drawn quarter hour of the event to
  its end: no reports then.
- a device off line (by the fleet, or taken off line by an operator) reports nothing after it was last seen;
  nothing is reported for a quarter hour that has not ended.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import polars as pl

from derbridge.derms.headend.model import CURTAILED, DEFAULT_TYPE, INTERVAL, NORMAL, OVERRIDDEN

if TYPE_CHECKING:
    from derbridge.derms.headend.simulator import CloudProfile


@dataclass(frozen=True)
class DeviceType:
    rated_kw: float
    """The device's load when it runs flat out."""
    sheddable: float
    """The share of its load a dispatch can take off."""
    follows_temperature: bool


DEVICE_TYPES = {
    "SMART-THERMOSTAT": DeviceType(3.5, 0.6, True),
    "WATER-HEATER": DeviceType(4.5, 1.0, False),
    "EV-CHARGER": DeviceType(7.2, 1.0, False),
    "BATTERY": DeviceType(5.0, 1.0, False),
}
TIME_ZONE = "America/Chicago"
EVENING = (17, 22)


def u64(value: int) -> pl.Expr:
    return pl.lit(value, dtype=pl.UInt64)


def splitmix64(x: pl.Expr) -> pl.Expr:
    """SplitMix64's finaliser: well-mixed bits from any 64-bit key (x >> k is x // 2**k; UInt64 products wrap)."""
    x = (x ^ (x // u64(2**30))) * u64(0xBF58476D1CE4E5B9)
    x = (x ^ (x // u64(2**27))) * u64(0x94D049BB133111EB)
    return x ^ (x // u64(2**31))


def text_key(column: str) -> pl.Expr:
    """A 64-bit key of a text column (a NIC id, an event id), to draw by."""
    return pl.col(column).hash(seed=0x5EED)


def uniform(seed: int, purpose: str, *keys: pl.Expr) -> pl.Expr:
    """A draw in [0, 1) per row, from the seed, the purpose and the row's 64-bit keys (`text_key`, or integers)."""
    start = int.from_bytes(hashlib.blake2b(f"{seed}/{purpose}".encode(), digest_size=8).digest(), "big")
    mixed = u64(start)
    for key in keys:
        mixed = splitmix64(mixed ^ key.cast(pl.UInt64))
    return (mixed // u64(2**11)).cast(pl.Float64) / float(2**53)


def type_table() -> pl.DataFrame:
    return pl.DataFrame({
        "device_type": list(DEVICE_TYPES), "rated_kw": [t.rated_kw for t in DEVICE_TYPES.values()],
        "sheddable": [t.sheddable for t in DEVICE_TYPES.values()],
        "follows_temperature": [t.follows_temperature for t in DEVICE_TYPES.values()]})


def temperature_c(profile: CloudProfile, local_hour: pl.Expr) -> pl.Expr:
    """The outdoor temperature at a local (fractional) hour: the day's peak at 15:00, the low at 03:00."""
    import math

    return profile.peak_temperature_c - profile.temperature_swing_c * (
        1 - ((local_hour - 15) * (2 * math.pi / 24)).cos()) / 2


def duties(profile: CloudProfile, grid: pl.Series) -> pl.DataFrame:
    """Per quarter hour (a handful of rows, not one per device): a thermostat's duty by the outdoor temperature,
    and the other types' by the time of day."""
    local = pl.col("interval_start").dt.convert_time_zone(TIME_ZONE)
    hour = local.dt.hour().cast(pl.Float64) + local.dt.minute().cast(pl.Float64) / 60
    return grid.to_frame().with_columns(
        thermostat_duty=(0.05 + 0.045 * (temperature_c(profile, hour) - 20)).clip(0.05, 0.95),
        time_duty=pl.when(hour.is_between(*EVENING, closed="left")).then(0.8).otherwise(0.3),
        epoch=pl.col("interval_start").dt.epoch("s"))


def baseline_kw(profile: CloudProfile) -> pl.Expr:
    """A device's usual load in its quarter hour (needs `nic_key`, `epoch`, `rated_kw`, `follows_temperature`
    and the quarter hour's `duties`)."""
    duty = pl.when(pl.col("follows_temperature")).then(pl.col("thermostat_duty")).otherwise(pl.col("time_duty"))
    noise = 0.9 + 0.2 * uniform(profile.seed, "load", pl.col("nic_key"), pl.col("epoch"))
    return pl.col("rated_kw") * duty * noise


def intervals(start: datetime, end: datetime, now: datetime) -> pl.Series:
    """The quarter hours from the one holding `start` up to `end`, each ended by `now`."""
    first = start.replace(minute=start.minute - start.minute % 15, second=0, microsecond=0)
    last_end = min(end, now)
    if last_end - INTERVAL < first:
        return pl.Series("interval_start", [], dtype=pl.Datetime("us", "UTC"))
    series = pl.datetime_range(first, last_end - INTERVAL, INTERVAL, time_unit="us", eager=True,
                               time_zone="UTC").alias("interval_start")
    return series.filter(series + INTERVAL <= last_end)


def telemetry(profile: CloudProfile, devices: pl.DataFrame, dispatched: pl.DataFrame, start: datetime,
              end: datetime, now: datetime) -> pl.DataFrame:
    """What the fleet reports: `devices` (nic_id, device_type, offline_since: null when on line) over the
    quarter hours of [start, end) ended by now; `dispatched` the accepted orders (nic_id, event_id, start, end,
    kw). Columns TELEMETRY_COLUMNS, sorted by device and time."""
    grid = intervals(start, end, now)
    empty = pl.DataFrame(schema={"nic_id": pl.String, "interval_start": pl.Datetime("us", "UTC"),
                                 "kw": pl.Float64, "state": pl.String})
    if grid.len() == 0 or devices.height == 0:
        return empty
    frame = (devices.lazy()
             .join(type_table().lazy(), on="device_type", how="left")
             .with_columns(pl.col("rated_kw").fill_null(DEVICE_TYPES[DEFAULT_TYPE].rated_kw),
                           pl.col("sheddable").fill_null(DEVICE_TYPES[DEFAULT_TYPE].sheddable),
                           pl.col("follows_temperature").fill_null(True), nic_key=text_key("nic_id"))
             .join(duties(profile, grid).lazy(), how="cross")
             .filter(pl.col("offline_since").is_null() | (pl.col("interval_start") < pl.col("offline_since")))
             .with_columns(baseline=baseline_kw(profile)))
    events = _event_draws(profile, dispatched)
    first, last = grid.min(), grid.max()
    in_event = (dispatched.lazy()
                .with_columns(aligned=pl.col("start").dt.truncate("15m"))
                .with_columns(interval_start=pl.datetime_ranges(  # the quarter hours starting within the order
                    pl.when(pl.col("aligned") < pl.col("start")).then(pl.col("aligned") + INTERVAL)
                    .otherwise(pl.col("aligned")), pl.col("end"), interval="15m", closed="left", time_unit="us",
                    time_zone="UTC"))
                .explode("interval_start")
                .filter(pl.col("interval_start").is_between(first, last))
                .join(events.lazy(), on=["nic_id", "event_id"])
                .select("nic_id", "interval_start", "kw", "responds", "override_at", "offline_at")
                .unique(["nic_id", "interval_start"], keep="first"))
    joined = frame.join(in_event, on=["nic_id", "interval_start"], how="left")
    gone = pl.col("offline_at").is_not_null() & (pl.col("interval_start") >= pl.col("offline_at"))
    overridden = pl.col("responds") & pl.col("override_at").is_not_null() & (
        pl.col("interval_start") >= pl.col("override_at"))
    curtailed = pl.col("responds").fill_null(False) & ~overridden.fill_null(False)
    shed = pl.min_horizontal(pl.col("kw"), pl.col("baseline") * pl.col("sheddable"))
    return (joined.filter(~gone.fill_null(False))
            .select("nic_id", "interval_start",
                    kw=pl.when(curtailed).then(pl.col("baseline") - shed).otherwise(pl.col("baseline")),
                    state=pl.when(curtailed).then(pl.lit(CURTAILED))
                    .when(overridden.fill_null(False)).then(pl.lit(OVERRIDDEN)).otherwise(pl.lit(NORMAL)))
            .sort("nic_id", "interval_start").collect())


def _event_draws(profile: CloudProfile, dispatched: pl.DataFrame) -> pl.DataFrame:
    """Per device and event: whether it takes the event, when its customer overrides it and when it goes off
    line (null: never), over the event's quarter hours as dispatched to it."""
    nic, event = text_key("nic_id"), text_key("event_id")
    windows = dispatched.group_by("nic_id", "event_id").agg(first=pl.col("start").min(), last=pl.col("end").max())
    quarters = ((pl.col("last") - pl.col("first")).dt.total_seconds() // 900).clip(1, None)
    step = pl.duration(minutes=15)
    return windows.select(
        "nic_id", "event_id",
        responds=uniform(profile.seed, "respond", nic, event) < profile.response_rate,
        override_at=pl.when(uniform(profile.seed, "override", nic, event) < profile.override_rate).then(
            pl.col("first") + step * (1 + (uniform(profile.seed, "override-at", nic, event)
                                           * (quarters - 1)).floor().cast(pl.Int64))),
        offline_at=pl.when(uniform(profile.seed, "offline", nic, event) < profile.offline_rate).then(
            pl.col("first") + step * (uniform(profile.seed, "offline-at", nic, event) * quarters)
            .floor().cast(pl.Int64)),
    )
