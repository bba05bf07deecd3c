"""Applying a network export file (F1) to the program system's network locations, all in one transaction.

The file is checked whole first (every value, no service point twice on one date); nothing is applied
unless all of it can be. Then `diff_export` (dacs/network/locations.py) compares it with the open records:
the records to close and to insert are written as set operations (one UPDATE executed for all closings,
one bulk insert), and only the rows the open record cannot decide (back-dated, corrections, a service point
listed more than once) are applied one by one to their service point's whole history with `apply_change`.

Exports are applied once each (a repeat answers what the first application did) and in DERMS's order:
an export that follows one not yet applied is refused as too early, so the sender tries again later.
Loaded on first use: it brings polars.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from derbridge.clock import utcnow
from derbridge.dacs.network.locations import OPEN_RECORD_COLUMNS, Observation, Record, apply_change, diff_export
from derbridge.dacs.network.queries import ExportParameters, describe_export
from derbridge.dacs.schema import network_exports, network_locations
from derbridge.errors import TooEarly
from derbridge.store.bulk import bulk_insert, select_frame
from derbridge.store.locks import one_writer_at_a_time
from derbridge.tables.check import read_checked
from derbridge.tables.read import ROW
from derbridge.tables.spec import FileColumn, FileFormat, FileSpec

LOCK = "dacs.network_locations"
EXPORT = FileSpec("network export", (
    FileColumn("cisServicePointId", max_length=30, required=True),
    FileColumn("facilityId", max_length=30, required=True),
    FileColumn("feederId", max_length=30, required=True),
    FileColumn("substationId", max_length=30, required=True),
    FileColumn("startDate", "date", required=True),
), keys=(("cisServicePointId", "startDate"),))
"""A network export as the program system takes it (the facility is the transformer): no service point twice
on one date."""
AS_OBSERVATIONS = {"cisServicePointId": "service_point_id", "facilityId": "transformer_id", "feederId": "feeder_id",
                   "substationId": "substation_id", "startDate": "effective_date"}
FEW_ROWS = 10_000
"""Up to this many rows, the open records are read for the export's service points only."""
IN_CHUNK = 500


def apply_export(engine: Engine, parameters: ExportParameters, path: Path, fmt: FileFormat,
                 sha256: str) -> dict[str, Any]:
    """Check the file, then apply it once, after the export it follows; what it did."""
    export = read_checked(EXPORT, path, fmt).drop(ROW).rename(AS_OBSERVATIONS)
    with engine.begin() as connection:
        one_writer_at_a_time(connection, LOCK)
        earlier = _applied(connection, parameters.exportId)
        if earlier is not None:
            return describe_export(earlier, "already applied")
        if parameters.previousExportId and _applied(connection, parameters.previousExportId) is None:
            raise TooEarly(f"export {parameters.exportId} follows export {parameters.previousExportId}, which has "
                           "not been applied yet")
        changes = diff_export(export, _open_records(connection, export))
        _close(connection, changes.to_close)
        bulk_insert(connection, network_locations,  # open records, in key order: each lands where the last did
                    changes.to_insert.drop("effective_end").rename({"service_point_id": "cis_service_point_id"})
                    .sort("cis_service_point_id", "effective_start"))
        _apply_one_by_one(connection, changes.needs_history)
        connection.execute(sa.insert(network_exports).values(
            export_id=parameters.exportId, export_type=parameters.exportType, as_of=parameters.asOf,
            previous_export_id=parameters.previousExportId, rows=export.height, closed=changes.to_close.height,
            inserted=changes.to_insert.height, back_dated=changes.needs_history.height,
            unchanged=export.height - changes.to_insert.height - changes.needs_history.height, sha256=sha256,
            applied_at=utcnow()))
        return describe_export(_applied(connection, parameters.exportId))


def _applied(connection: Connection, export_id: str) -> Any:
    return connection.execute(sa.select(network_exports).where(network_exports.c.export_id == export_id)).first()


def _open_records(connection: Connection, export: pl.DataFrame) -> pl.DataFrame:
    t = network_locations
    columns = (t.c.cis_service_point_id.label("service_point_id"), t.c.transformer_id, t.c.feeder_id,
               t.c.substation_id, t.c.effective_start)
    query = sa.select(*columns).where(t.c.effective_end.is_(None))
    schema = dict.fromkeys(OPEN_RECORD_COLUMNS, pl.String) | {"effective_start": pl.Date}
    if export.height > FEW_ROWS:
        return select_frame(connection, query, schema)
    rows = [row for chunk in _chunks(export["service_point_id"].unique().to_list())
            for row in connection.execute(query.where(t.c.cis_service_point_id.in_(chunk))).all()]
    return pl.DataFrame(rows, schema=schema, orient="row")


def _close(connection: Connection, to_close: pl.DataFrame) -> None:
    if to_close.is_empty():
        return
    t = network_locations
    connection.execute(
        sa.update(t).where(t.c.cis_service_point_id == sa.bindparam("sp"), t.c.effective_start == sa.bindparam("start"),
                           t.c.effective_end.is_(None)).values(effective_end=sa.bindparam("end")),
        [{"sp": sp, "start": start, "end": end} for sp, start, end in to_close.iter_rows()])


def _apply_one_by_one(connection: Connection, rows: pl.DataFrame) -> None:
    """Rows needing a service point's whole history: read it, apply each row in order, write what changed."""
    if rows.is_empty():
        return
    before = _histories(connection, rows["service_point_id"].unique().to_list())
    after = {sp: list(history) for sp, history in before.items()}
    for row in rows.iter_rows(named=True):
        observation = Observation(**row)
        after[observation.service_point_id] = apply_change(after.get(observation.service_point_id, []), observation)
    removed: list[Record] = []
    added: list[Record] = []
    for sp, history in after.items():
        old = before.get(sp, [])
        kept = set(old) & set(history)
        removed += [r for r in old if r not in kept]
        added += [r for r in history if r not in kept]
    t = network_locations
    if removed:
        connection.execute(sa.delete(t).where(t.c.cis_service_point_id == sa.bindparam("sp"),
                                              t.c.effective_start == sa.bindparam("start")),
                           [{"sp": r.service_point_id, "start": r.effective_start} for r in removed])
    if added:
        connection.execute(sa.insert(t), [
            {"cis_service_point_id": r.service_point_id, "transformer_id": r.transformer_id,
             "feeder_id": r.feeder_id, "substation_id": r.substation_id, "effective_start": r.effective_start,
             "effective_end": r.effective_end} for r in added])


def _histories(connection: Connection, service_points: list[str]) -> dict[str, list[Record]]:
    t = network_locations
    found: dict[str, list[Record]] = {}
    for chunk in _chunks(service_points):
        rows = connection.execute(sa.select(t).where(t.c.cis_service_point_id.in_(chunk))
                                  .order_by(t.c.cis_service_point_id, t.c.effective_start))
        for row in rows:
            found.setdefault(row.cis_service_point_id, []).append(
                Record(row.cis_service_point_id, row.transformer_id, row.feeder_id, row.substation_id,
                       row.effective_start, row.effective_end))
    return found


def _chunks(values: list[str]) -> list[list[str]]:
    return [values[start:start + IN_CHUNK] for start in range(0, len(values), IN_CHUNK)]

