"""The variables every scored device's score is computed from, for all of them at once (F7).

A device is scored when it is an ACTIVE controllable device of an ACTIVE subscription of an ACTIVE program:
one row per device (a device belongs to one subscription). Its history is that of the physical device, its
head-end system and NIC id, in `event_participations` and `status_checks`. Nothing loops over devices: a few
queries read the devices, each program's rules, and the history summed per device (history.py); polars
does the rest. The variables, as docs/scores.md explains them to program managers:

- AV availability: 1 when the device may be called — its subscription is in effect now (started, not ended),
  it is registered with its head end (D1RE) and it is communicating (CM); else 0.
- CM communicating: 0 when the device's latest answered status check (by answer time) is a FAILURE; else 1,
  also when it was never checked.
- CU successful participations (outcome D1SP) that started in the current cycle.
- CA the cap on successful participations in a cycle: the smallest cap the program's rules set for its cycle
  (events per week, month or season); DP when no rule sets one (at most one a day).
- DP days in the current cycle. The cycle is the program's rules' cycle frequency (the longest when they
  differ; MONTHLY without rules), counted in the premise's time zone (UTC when unknown).
- DE whole days since the end of the last successful participation, at most 365 (365 when there is none).
- BR burn rate, CU / CA (unknown when CA is 0).
- AC activation cost: 1 for every device (programs carry no cost yet).
- OO opt-outs, IO in-flight overrides (D1IO), ND non-responses (D1ND) in the last 90 days.

A participation's time is its participation start, or its reservation start when it has none; an opt-out's is
when it was recorded, or the reservation start.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from derbridge.dacs.schema import (
    controllable_devices,
    premises,
    program_rule_associations,
    program_rules,
    program_subscriptions,
    programs,
    service_points,
    status_checks,
)
from derbridge.dacs.scores.cycles import DEFAULT_FREQUENCY, FREQUENCIES, UTC_ZONE, Frequency, current_cycle
from derbridge.dacs.scores.history import NEVER_DAYS, UTC_TIME, of_device, summed_history
from derbridge.store.bulk import select_frame
from derbridge.store.db import reading

IDENTITY = ("device_id", "nic_id", "head_end_system", "program_code", "subscription_id")
ACTIVE, REGISTERED, FAILURE, SUCCESS = "ACTIVE", "D1RE", "FAILURE", "SUCCESS"
_CAPS = {"WEEKLY": program_rules.c.max_events_per_week, "MONTHLY": program_rules.c.max_events_per_month,
         "SEASONAL": program_rules.c.max_events_per_season}
_DEVICES = {"device_id": pl.String, "nic_id": pl.String, "head_end_system": pl.String, "program_code": pl.String,
            "subscription_id": pl.String, "in_service": pl.Int64, "time_zone": pl.String}
_CHECKS = {"head_end_system": pl.String, "nic_id": pl.String, "last_failure": UTC_TIME, "last_success": UTC_TIME}


def device_variables(engine: Engine, now: datetime, device_id: str | None = None) -> pl.DataFrame:
    """Every scored device (or just `device_id`) with IDENTITY and VARIABLES as columns, as of `now`. The
    devices and their history are read at the same time on connections of their own (SQLite and PostgreSQL
    both work while Python waits; the history takes two on SQLite, history.py), so a fleet's big reads overlap."""
    with reading(engine) as connection:
        terms = _program_terms(connection)
        cycles = _cycles(_time_zones(connection), [*terms["frequency"].unique(), DEFAULT_FREQUENCY], now)
    with ThreadPoolExecutor(2, thread_name_prefix="score-read") as pool:
        devices = pool.submit(_read, engine, read_devices, now, device_id)
        history = pool.submit(summed_history, engine, now, list(cycles["start"]), device_id)
        checks = _read(engine, _failed_checks, device_id)
        joined = (devices.result().join(terms, on="program_code", how="left")
                  .with_columns(pl.col("frequency").fill_null(DEFAULT_FREQUENCY),
                                pl.col("time_zone").fill_null(UTC_ZONE))
                  .join(cycles.drop("start"), on=["time_zone", "frequency"], how="left")
                  .join(history.result(), on=["head_end_system", "nic_id"], how="left")
                  .join(checks, on=["head_end_system", "nic_id"], how="left"))
    return joined.select(*IDENTITY, *_variables(now, cycles.height)).sort("device_id")


def _read(engine: Engine, query: Callable[..., pl.DataFrame], *args: Any) -> pl.DataFrame:
    with reading(engine) as connection:
        return query(connection, *args)


def read_devices(connection: Connection, now: datetime, device_id: str | None) -> pl.DataFrame:
    """The scored devices (or just `device_id`) with their subscription and time zone; `in_service` is 1 when the
    subscription is in effect at `now` and the device registered with its head end."""
    d, s, p = controllable_devices, program_subscriptions, programs
    in_service = sa.case((sa.and_(d.c.head_end_registration == REGISTERED, s.c.start_at <= now,
                                  sa.or_(s.c.end_at.is_(None), s.c.end_at > now)), 1), else_=0).label("in_service")
    query = (sa.select(d.c.device_id, d.c.nic_id, d.c.head_end_system, s.c.program_code, s.c.subscription_id,
                       in_service, premises.c.time_zone)
             .select_from(d.join(s, s.c.subscription_id == d.c.subscription_id)
                          .join(p, p.c.program_code == s.c.program_code)
                          .outerjoin(service_points, service_points.c.cis_service_point_id == d.c.cis_service_point_id)
                          .outerjoin(premises, premises.c.cis_premise_id == service_points.c.cis_premise_id))
             .where(d.c.status == ACTIVE, s.c.status == ACTIVE, p.c.status == ACTIVE))
    if device_id is not None:
        query = query.where(d.c.device_id == device_id)
    return select_frame(connection, query, _DEVICES)


def _program_terms(connection: Connection) -> pl.DataFrame:
    """Each ACTIVE program's cycle frequency (the longest of its rules'; none without rules) and its cap for
    that cycle (the smallest its rules set; none without one)."""
    found = connection.execute(
        sa.select(programs.c.program_code, program_rules.c.cycle_frequency, *_CAPS.values())
        .select_from(programs.join(program_rule_associations,
                                   program_rule_associations.c.program_id == programs.c.program_id)
                     .join(program_rules, program_rules.c.rule_id == program_rule_associations.c.rule_id))
        .where(programs.c.status == ACTIVE)).all()
    rules: dict[str, list[Any]] = {}
    for row in found:
        rules.setdefault(row.program_code, []).append(row)
    terms = []
    for code, rows in rules.items():
        frequency: Frequency = max((row.cycle_frequency for row in rows), key=FREQUENCIES.index)
        caps = [cap for row in rows if (cap := row._mapping[_CAPS[frequency].name]) is not None]
        terms.append({"program_code": code, "frequency": frequency, "cap": min(caps) if caps else None})
    return pl.DataFrame(terms, schema={"program_code": pl.String, "frequency": pl.String, "cap": pl.Int64})


def _time_zones(connection: Connection) -> list[str]:
    """Every premise's time zone, and UTC for devices whose premise is unknown."""
    found = connection.execute(sa.select(premises.c.time_zone).distinct()).scalars()
    return sorted({UTC_ZONE, *found})


def _cycles(time_zones: list[str], frequencies: list[str], now: datetime) -> pl.DataFrame:
    """The current cycle of every time zone and frequency: its number, first instant (UTC) and days."""
    pairs = [(zone, frequency) for zone in time_zones for frequency in FREQUENCIES if frequency in frequencies]
    cycles = [current_cycle(now, zone, frequency) for zone, frequency in pairs]
    return pl.DataFrame({"time_zone": [zone for zone, _ in pairs], "frequency": [f for _, f in pairs],
                         "cycle": list(range(len(pairs))), "start": [cycle.start for cycle in cycles],
                         "DP": [float(cycle.days) for cycle in cycles]},
                        schema={"time_zone": pl.String, "frequency": pl.String, "cycle": pl.Int64, "start": UTC_TIME,
                                "DP": pl.Float64})


def _failed_checks(connection: Connection, device_id: str | None) -> pl.DataFrame:
    """Devices (head end, NIC) with a failed status check: when their last failure and last success were
    answered."""
    c = status_checks
    failure = sa.case((c.c.status == FAILURE, c.c.answered_at))
    query = (sa.select(c.c.head_end_system, c.c.nic_id, sa.func.max(failure).label("last_failure"),
                       sa.func.max(sa.case((c.c.status == SUCCESS, c.c.answered_at))).label("last_success"))
             .where(c.c.status.in_([SUCCESS, FAILURE]), c.c.answered_at.is_not(None))
             .group_by(c.c.head_end_system, c.c.nic_id).having(sa.func.max(failure).is_not(None)))
    if device_id is not None:
        query = query.where(of_device(c, device_id))
    return select_frame(connection, query, _CHECKS)


def _variables(now: datetime, cycles: int) -> list[pl.Expr]:
    """The variables from the joined columns, in VARIABLES order."""
    moment = pl.lit(now, dtype=UTC_TIME)
    answered_since = (pl.col("last_failure") <= pl.col("last_success")).fill_null(False)
    communicating = pl.col("last_failure").is_null() | answered_since
    in_cycle = [pl.when(pl.col("cycle") == n).then(pl.col(f"cu_{n}")) for n in range(cycles)]  # at least UTC's
    used = pl.coalesce(in_cycle).fill_null(0).cast(pl.Float64)
    cap = pl.col("cap").cast(pl.Float64).fill_null(pl.col("DP"))
    rested = ((moment - pl.col("last_success_end")).dt.total_days().clip(0, NEVER_DAYS)
              .fill_null(NEVER_DAYS).cast(pl.Float64))
    available = (pl.col("in_service") == 1) & communicating
    return [pl.lit(1.0).alias("AC"), available.fill_null(False).cast(pl.Float64).alias("AV"),
            pl.when(cap > 0).then(used / cap).alias("BR"), cap.alias("CA"), used.alias("CU"),
            rested.alias("DE"), pl.col("DP"), communicating.cast(pl.Float64).alias("CM"),
            *(pl.col(name).fill_null(0).cast(pl.Float64).alias(name) for name in ("OO", "IO", "ND"))]
