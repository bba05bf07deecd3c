"""The participation history summed per physical device (head end, NIC) for the score variables (F7).

Per device: its successful participations since each cycle start (`cu_<n>`), the end of the last one, and its
opt-outs, in-flight overrides and non-responses of the last 90 days; over the participations that began in the
last 365 days or were opted out of in the last 90 (variables.py says how each time is taken).

PostgreSQL sums them in one GROUP BY, hashing the rows of one sequential scan. SQLite can only group by walking
the (head end, NIC) index, a random read of the table for each of a fleet's millions of participations, so there
the rows are read in the order they are stored, each as a few narrow columns (an outcome code, two times), in
eight ranges of ids, two at a time on two connections (each scan is one core's work), and polars sums them per
device; both give the same frame.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from derbridge.dacs.schema import controllable_devices, event_participations
from derbridge.store.bulk import select_frame
from derbridge.store.db import reading

RECENT_DAYS = 90
NEVER_DAYS = 365
SUCCESSFUL, OVERRIDE, NOT_RESPONDING = "D1SP", "D1IO", "D1ND"
UTC_TIME = pl.Datetime("us", "UTC")
_OUTCOME_CODES = {SUCCESSFUL: 1, OVERRIDE: 2, NOT_RESPONDING: 3}
_OPTED_OUT = 4
"""Added to a row's outcome code when it is an opt-out of the last 90 days."""
SQLITE_READERS = 2
"""Connections reading ranges of participation ids at once on SQLite, each scan one core's work."""
SQLITE_RANGES = 8
"""Ranges the ids are read in on SQLite: a range's text, held until decoded, is an eighth of the history's."""

_p = event_participations
_began = sa.func.coalesce(_p.c.participation_start, _p.c.reservation_start)
_ended = sa.func.coalesce(_p.c.participation_end, _p.c.participation_start, _p.c.reservation_end)
_opted_at = sa.func.coalesce(_p.c.opted_out_at, _p.c.reservation_start)


def summed_history(engine: Engine, now: datetime, cycle_starts: list[datetime],
                   device_id: str | None) -> pl.DataFrame:
    """Per device (head end, NIC) with history: `cu_<n>` for each of `cycle_starts`, `last_success_end`, OO, IO
    and ND (see the module's docstring)."""
    if engine.dialect.name != "sqlite":
        with reading(engine) as connection:
            return _summed_in_sql(connection, now, cycle_starts, device_id)
    if device_id is not None:  # its rows, through the (head end, NIC) index
        return _summed_in_polars(_read_rows(engine, now, device_id, None), now, cycle_starts)
    with ThreadPoolExecutor(SQLITE_READERS, thread_name_prefix="score-history") as pool:
        rows = list(pool.map(lambda ids: _read_rows(engine, now, None, ids), _id_ranges(engine, SQLITE_RANGES)))
    return _summed_in_polars(pl.concat(rows), now, cycle_starts)


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


def _id_ranges(engine: Engine, parts: int) -> list[tuple[int, int]]:
    """`parts` ranges (low, high] of participation ids of about as many rows each, together all of them. The
    least and the greatest id each by a query of its own: SQLite then reads them off the ends of the table's
    B-tree instead of scanning it."""
    with reading(engine) as connection:
        least = connection.execute(sa.select(sa.func.min(_p.c.participation_id))).scalar_one()
        greatest = connection.execute(sa.select(sa.func.max(_p.c.participation_id))).scalar_one()
    low, high = (least or 1) - 1, greatest or 0
    bounds = [low + (high - low) * part // parts for part in range(parts + 1)]
    return list(pairwise(bounds))


def _read_rows(engine: Engine, now: datetime, device_id: str | None, ids: tuple[int, int] | None) -> pl.DataFrame:
    """The participations that count (of `device_id`, or whose id is in the range (low, high]), in stored
    order: head end, NIC, an outcome code (1 successful, 2 override, 3 non-response, else 0; + 4 for an opt-out
    of the last 90 days), when it began and, if successful, when it ended."""
    recent = now - timedelta(days=RECENT_DAYS)
    code = (sa.case(*((_p.c.outcome == outcome, number) for outcome, number in _OUTCOME_CODES.items()), else_=0)
            + sa.case((sa.and_(_p.c.opted_out, _opted_at >= recent), _OPTED_OUT), else_=0))
    query = (sa.select(_p.c.head_end_system, _p.c.nic_id, code.label("code"), _began.label("began"),
                       sa.case((_p.c.outcome == SUCCESSFUL, _ended)).label("success_end"))
             .where(_counted(now, device_id)))
    if ids is not None:
        query = query.where(_p.c.participation_id > ids[0], _p.c.participation_id <= ids[1])
    with reading(engine) as connection:
        return select_frame(connection, query, {"head_end_system": pl.String, "nic_id": pl.String,
                                                "code": pl.Int64, "began": UTC_TIME, "success_end": UTC_TIME})


def _summed_in_polars(rows: pl.DataFrame, now: datetime, cycle_starts: list[datetime]) -> pl.DataFrame:
    recent = pl.lit(now - timedelta(days=RECENT_DAYS), dtype=UTC_TIME)
    outcome, began = pl.col("code") % _OPTED_OUT, pl.col("began")
    successful = outcome == _OUTCOME_CODES[SUCCESSFUL]
    counts = {**{f"cu_{n}": successful & (began >= pl.lit(start, dtype=UTC_TIME))
                 for n, start in enumerate(cycle_starts)},
              "OO": pl.col("code") >= _OPTED_OUT,
              "IO": (outcome == _OUTCOME_CODES[OVERRIDE]) & (began >= recent),
              "ND": (outcome == _OUTCOME_CODES[NOT_RESPONDING]) & (began >= recent)}
    return (rows.lazy().with_columns(condition.cast(pl.Int64).alias(name) for name, condition in counts.items())
            .group_by("head_end_system", "nic_id")
            .agg(*(pl.col(name).sum() for name in counts), pl.col("success_end").max().alias("last_success_end"))
            .select(*_schema(len(cycle_starts))).collect())


def of_device(table: sa.Table, device_id: str) -> sa.ColumnElement[bool]:
    """Rows of `table` about the physical device (head end, NIC) that `device_id` is."""
    d = controllable_devices
    return sa.tuple_(table.c.head_end_system, table.c.nic_id).in_(
        sa.select(d.c.head_end_system, d.c.nic_id).where(d.c.device_id == device_id))
