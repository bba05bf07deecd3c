"""Effective-dated network locations of service points (F1): which transformer, feeder and substation served
a service point on a given day.

DERMS exports, for each service point, the transformer, feeder and substation serving it, from a date on
(an observation). The program system keeps one record per stretch of days with the same location: when an
observation differs from what was recorded for its date, a new record starts on that date. A service
point's records are ordered, never overlap, leave no gaps after the first start, never repeat the same
location twice in a row, and the last one is open. Full and delta exports are handled alike: a service
point missing from an export keeps its location. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from derbridge.tables.frames import require_columns

Location = tuple[str, str, str]  # (transformer_id, feeder_id, substation_id)


@dataclass(frozen=True)
class Record:
    """Where a service point sat in the network from effective_start up to effective_end (exclusive)."""

    service_point_id: str
    transformer_id: str
    feeder_id: str
    substation_id: str
    effective_start: date
    effective_end: date | None = None  # None: still in effect

    @property
    def location(self) -> Location:
        return (self.transformer_id, self.feeder_id, self.substation_id)

    def covers(self, day: date) -> bool:
        return self.effective_start <= day and (self.effective_end is None or day < self.effective_end)


@dataclass(frozen=True)
class Observation:
    """One export row: from effective_date on, the service point is served by these network elements."""

    service_point_id: str
    transformer_id: str
    feeder_id: str
    substation_id: str
    effective_date: date

    @property
    def location(self) -> Location:
        return (self.transformer_id, self.feeder_id, self.substation_id)


def location_on(history: list[Record], day: date) -> Record | None:
    """The record in effect on `day`, or None before the service point's first record."""
    return next((record for record in history if record.covers(day)), None)


def apply_change(history: list[Record], observation: Observation) -> list[Record]:
    """The service point's records after one observation; `history` itself when nothing changes.

    If the location recorded for the observation's date is already the observed one, nothing changes, so
    an observation applied twice changes nothing the second time. Otherwise the observed location takes
    effect on its date and lasts until the next recorded change:
    - dated on or after the latest start: the open record ends on that date and a new open one starts
      (dated on the latest start, it replaces that record's location);
    - back-dated into an earlier record: that record is split at the date, and the observed location
      fills the rest of it, up to the next record, which is kept (it holds a later-dated observation);
    - dated before the first record: a record from that date up to the first record is added.
    Neighbouring records that end up with the same location are merged.

    Observations that changed nothing leave no trace (a daily full export must not add a record per
    service point per day), so a back-dated change runs up to the next recorded *change*, not up to the
    next observation. Hence, for observations arriving in effective-date order (as exports do), each day
    has the location of the latest observation effective on it and replaying them changes nothing; an
    out-of-order arrival can outlast a confirmation it did not know about.
    """
    _check_history(history, observation.service_point_id)
    current = location_on(history, observation.effective_date)
    if current is not None and current.location == observation.location:
        return history
    starts = {record.effective_start: record.location for record in history}
    starts[observation.effective_date] = observation.location
    return _records_from_starts(observation.service_point_id, starts)


def _check_history(history: list[Record], service_point_id: str) -> None:
    """Refuse a history that is not one service point's ordered, contiguous records ending in an open one."""
    if any(record.service_point_id != service_point_id for record in history):
        raise ValueError(f"history holds records of service points other than {service_point_id}")
    for earlier, later in zip(history, history[1:], strict=False):
        if earlier.effective_end != later.effective_start:
            raise ValueError(f"records of {service_point_id} are not contiguous at {earlier.effective_end}")
    if history and history[-1].effective_end is not None:
        raise ValueError(f"the last record of {service_point_id} is not open")


def _records_from_starts(service_point_id: str, starts: dict[date, Location]) -> list[Record]:
    """Contiguous records from change dates: each runs to the next change; equal neighbours merge."""
    changes: list[tuple[date, Location]] = []
    for start in sorted(starts):
        if not changes or changes[-1][1] != starts[start]:
            changes.append((start, starts[start]))
    ends: list[date | None] = [start for start, _ in changes[1:]]
    return [Record(service_point_id, *location, effective_start=start, effective_end=end)
            for (start, location), end in zip(changes, [*ends, None], strict=True)]


# ---- bulk: a whole export against the open records, as set operations ----

EXPORT_COLUMNS = ("service_point_id", "transformer_id", "feeder_id", "substation_id", "effective_date")
OPEN_RECORD_COLUMNS = ("service_point_id", "transformer_id", "feeder_id", "substation_id", "effective_start")
_LOCATION_COLUMNS = ("transformer_id", "feeder_id", "substation_id")


@dataclass(frozen=True)
class BulkChanges:
    """What an export does to the stored records.

    to_close: service_point_id, effective_start (of the open record), effective_end (its new end).
    to_insert: new open records (service_point_id, transformer_id, feeder_id, substation_id,
    effective_start, effective_end = null).
    needs_history: export rows the open record alone cannot decide (back-dated, dated on the open record's
    start with another location, or a service point listed more than once); apply them one by one, in this
    order, with `apply_change` on the service point's full history.
    """

    to_close: pl.DataFrame
    to_insert: pl.DataFrame
    needs_history: pl.DataFrame


def diff_export(export: pl.DataFrame, open_records: pl.DataFrame) -> BulkChanges:
    """Apply a full or delta export to the open records with joins, not a loop over service points.

    `export` columns: service_point_id, transformer_id, feeder_id, substation_id (str), effective_date
    (date); a full export without dates per row gets the export date in every row. `open_records` holds
    the open record of each known service point (at most one each): service_point_id, transformer_id,
    feeder_id, substation_id, effective_start. Gives the same result as `apply_change` row by row.
    """
    require_columns(export, EXPORT_COLUMNS, "export")
    require_columns(open_records, OPEN_RECORD_COLUMNS, "open records")
    current = open_records.select(
        "service_point_id", *(pl.col(c).alias(f"open_{c}") for c in _LOCATION_COLUMNS), "effective_start")
    joined = export.select(EXPORT_COLUMNS).join(current, on="service_point_id", how="left", validate="m:1",
                                                 maintain_order="left")
    known = pl.col("effective_start").is_not_null()
    unchanged = pl.all_horizontal(pl.col(c) == pl.col(f"open_{c}") for c in _LOCATION_COLUMNS)
    after_open_start = pl.col("effective_date") > pl.col("effective_start")
    flagged = joined.with_columns(
        needs_history=pl.col("service_point_id").is_duplicated()
        | (known & (pl.col("effective_date") < pl.col("effective_start")))
        | (known & (pl.col("effective_date") == pl.col("effective_start")) & ~unchanged),
        moves=known & after_open_start & ~unchanged,
    )
    return BulkChanges(
        to_close=flagged.filter(~pl.col("needs_history") & pl.col("moves")).select(
            "service_point_id", "effective_start", effective_end=pl.col("effective_date")),
        to_insert=flagged.filter(~pl.col("needs_history") & (pl.col("moves") | ~known)).select(
            "service_point_id", *_LOCATION_COLUMNS, effective_start=pl.col("effective_date"),
            effective_end=pl.lit(None, dtype=pl.Date)),
        needs_history=flagged.filter(pl.col("needs_history")).select(EXPORT_COLUMNS),
    )

