"""The participation history summed per physical device (head end, NIC) for the score variables (F7).

Per device: its successful participations since each cycle start (`cu_<n>`), the end of the last one, and its
opt-outs, in-flight overrides and non-responses of the last 90 days; over the participations that began in the
last 365 days or were opted out of in the last 90 (variables.py says how each time is taken).

PostgreSQL sums them in one GROUP BY, hashing the rows of one sequential scan. SQLite can only group by walking
the (head end, NIC) index, a random read of the table for each of a fleet's millions of participations, so there
the rows are read in the order they are stored, each as a few narrow columns (an outcome code, two times), and
polars sums them per device; both give the same frame.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from derbridge.dacs.schema import controllable_devices, event_participations
from derbridge.store.bulk import select_frame

RECENT_DAYS = 90
NEVER_DAYS = 365
SUCCESSFUL, OVERRIDE, NOT_RESPONDING = "D1SP", "D1IO", "D1ND"
UTC_TIME = pl.Datetime("us", "UTC")
_OUTCOME_CODES = {SUCCESSFUL: 1, OVERRIDE: 2, NOT_RESPONDING: 3}
_OPTED_OUT = 4
"""Added to a row's outcome code when it is an opt-out of the last 90 days."""

_p = event_participations
_began = sa.func.coalesce(_p.c.participation_start, _p.c.reservation_start)
_ended = sa.func.coalesce(_p.c.participation_end, _p.c.participation_start, _p.c.reservation_end)
_opted_at = sa.func.coalesce(_p.c.opted_out_at, _p.c.reservation_start)


def summed_history(connection: Connection, now: datetime, cycle_starts: list[datetime],
                   device_id: str | None) -> pl.DataFrame:
    """Per device (head end, NIC) with history: `cu_<n>` for each of `cycle_starts`, `last_success_end`, OO, IO
    and ND (see the module's docstring)."""
    if connection.dialect.name == "sqlite":
        return _summed_in_polars(connection, now, cycle_starts, device_id)
    return _summed_in_sql(connection, now, cycle_starts, device_id)


def _schema(cycles: int) -> dict[str, Any]:
    return {"head_end_system": pl.String, "nic_id": pl.String, **{f"cu_{n}": pl.Int64 for n in range(cycles)},
            "last_success_end": UTC_TIME, "OO": pl.Int64, "IO": pl.Int64, "ND": pl.Int64}


def _counted(now: datetime, device_id: str | None) -> sa.ColumnElement[bool]:
    """The participations that count: begun in the last 365 days or opted out of in the last 90."""
    recent, oldest = now - timedelta(days=RECENT_DAYS), now - timedelta(days=NEVER_DAYS)
    counted = sa.or_(_began >= oldest, _opted_at >= recent)
    return counted if device_id is None else sa.and_(counted, of_device(_p, device_id))


def _summed_in_sql(connection: Connection, now: datetime, cycle_starts: list[datetime],
                   device_id: str | None) -> pl.DataFrame:
    recent = now - timedelta(days=RECENT_DAYS)

    def count(*conditions: Any) -> Any:
        return sa.func.sum(sa.case((sa.and_(*conditions), 1), else_=0))

    query = (sa.select(_p.c.head_end_system, _p.c.nic_id,
                       *(count(_p.c.outcome == SUCCESSFUL, _began >= start).label(f"cu_{n}")
                         for n, start in enumerate(cycle_starts)),
                       sa.func.max(sa.case((_p.c.outcome == SUCCESSFUL, _ended))).label("last_success_end"),
                       count(_p.c.opted_out, _opted_at >= recent).label("OO"),
                       count(_p.c.outcome == OVERRIDE, _began >= recent).label("IO"),
                       count(_p.c.outcome == NOT_RESPONDING, _began >= recent).label("ND"))
             .where(_counted(now, device_id))
             .group_by(_p.c.head_end_system, _p.c.nic_id))
    return select_frame(connection, query, _schema(len(cycle_starts)))


def _summed_in_polars(connection: Connection, now: datetime, cycle_starts: list[datetime],
                      device_id: str | None) -> pl.DataFrame:
    recent = now - timedelta(days=RECENT_DAYS)
    recent_utc = pl.lit(recent, dtype=UTC_TIME)
    code = (sa.case(*((_p.c.outcome == outcome, number) for outcome, number in _OUTCOME_CODES.items()), else_=0)
            + sa.case((sa.and_(_p.c.opted_out, _opted_at >= recent), _OPTED_OUT), else_=0))
    query = (sa.select(_p.c.head_end_system, _p.c.nic_id, code.label("code"), _began.label("began"),
                       sa.case((_p.c.outcome == SUCCESSFUL, _ended)).label("success_end"))
             .where(_counted(now, device_id)))
    rows = select_frame(connection, query, {"head_end_system": pl.String, "nic_id": pl.String, "code": pl.Int64,
                                            "began": UTC_TIME, "success_end": UTC_TIME})
    outcome, began = pl.col("code") % _OPTED_OUT, pl.col("began")
    successful = outcome == _OUTCOME_CODES[SUCCESSFUL]
    counts = {**{f"cu_{n}": successful & (began >= pl.lit(start, dtype=UTC_TIME))
                 for n, start in enumerate(cycle_starts)},
              "OO": pl.col("code") >= _OPTED_OUT,
              "IO": (outcome == _OUTCOME_CODES[OVERRIDE]) & (began >= recent_utc),
              "ND": (outcome == _OUTCOME_CODES[NOT_RESPONDING]) & (began >= recent_utc)}
    return (rows.lazy().with_columns(condition.cast(pl.Int64).alias(name) for name, condition in counts.items())
            .group_by("head_end_system", "nic_id")
            .agg(*(pl.col(name).sum() for name in counts), pl.col("success_end").max().alias("last_success_end"))
            .select(*_schema(len(cycle_starts))).collect())


def of_device(table: sa.Table, device_id: str) -> sa.ColumnElement[bool]:
    """Rows of `table` about the physical device (head end, NIC) that `device_id` is."""
    d = controllable_devices
    return sa.tuple_(table.c.head_end_system, table.c.nic_id).in_(
        sa.select(d.c.head_end_system, d.c.nic_id).where(d.c.device_id == device_id))
