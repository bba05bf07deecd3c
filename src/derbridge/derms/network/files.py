"""DERMS's network in bulk: the network tables imported from files, and network exports written as one Parquet
file each and queued to the hub (F1). Loaded on first use: it brings polars, which DERMS needs only here.

Imports go parents first (substations, feeders, transformers, then service point locations), each file checked
whole (every value, and every reference to rows already imported) and applied in one transaction, or refused
naming the columns and rows, with nothing applied. They build the network and add to it: attributes of known
elements are updated, but a transformer's feeder, a feeder's substation and a service point's transformer change
only through moves (derms/network/model.py), which date the change.

An export is every service point's location (full) or what changed since the previous export (delta), as the
records written: each row says "from effectiveDate on, the service point is served by this transformer, feeder
and substation". A full export also carries the records written since the previous export, so a change is
never lost between two exports. Each export names the export it follows, so the program system can apply
them in order.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlencode

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from derbridge.clock import utcnow
from derbridge.derms.network.model import LOCK, export_of, last_change, new_change
from derbridge.derms.schema import (
    feeders,
    network_exports,
    outbound_files,
    service_point_connections,
    substations,
    transformers,
)
from derbridge.store.bulk import bulk_insert, select_frame
from derbridge.store.locks import one_writer_at_a_time
from derbridge.store.outbox import FAILED, new_file_values
from derbridge.tables.check import read_checked, rows_where
from derbridge.tables.read import ROW
from derbridge.tables.refusals import invalid
from derbridge.tables.spec import PARQUET_TYPE, FileColumn, FileFormat, FileSpec, sha256_of
from derbridge.tables.values import polars_type

HUB_PATH = "/hub/files/from-derms/networkLocations"
EXPORT_KIND = "network-export"
ExportType = Literal["full", "delta"]

ID = 30


@dataclass(frozen=True)
class Parent:
    """Every value of `column` must be a key of `table` already imported."""

    column: str
    table: sa.Table
    what: str


@dataclass(frozen=True)
class NetworkTable:
    """An importable network table: the file's columns (named as the dataset names them) and their table columns."""

    name: str
    table: sa.Table
    columns: tuple[FileColumn, ...]
    names: dict[str, str]
    parent: Parent | None = None
    fixed: str | None = None
    """A file column that a known row may not change (a move changes it, with its date)."""

    @property
    def key(self) -> str:
        return self.columns[0].name

    @property
    def file(self) -> FileSpec:
        return FileSpec(self.name, self.columns, keys=((self.key,),))


NETWORK_TABLES = {table.name: table for table in (
    NetworkTable("substations", substations, (
        FileColumn("substationId", max_length=ID, required=True), FileColumn("name", max_length=100, required=True),
        FileColumn("division", max_length=30, optional=True), FileColumn("capacityKw", "number", optional=True),
        FileColumn("effectiveStartDate", "date", required=True)),
        {"substationId": "substation_id", "name": "name", "division": "division", "capacityKw": "capacity_kw",
         "effectiveStartDate": "effective_start"}),
    NetworkTable("feeders", feeders, (
        FileColumn("feederId", max_length=ID, required=True), FileColumn("substationId", max_length=ID, required=True),
        FileColumn("voltageKv", "number", optional=True), FileColumn("capacityKw", "number", optional=True),
        FileColumn("effectiveStartDate", "date", required=True)),
        {"feederId": "feeder_id", "substationId": "substation_id", "voltageKv": "voltage_kv",
         "capacityKw": "capacity_kw", "effectiveStartDate": "effective_start"},
        parent=Parent("substationId", substations, "substation"), fixed="substationId"),
    NetworkTable("transformers", transformers, (
        FileColumn("transformerId", max_length=ID, required=True), FileColumn("feederId", max_length=ID, required=True),
        FileColumn("phase", max_length=3, optional=True), FileColumn("capacityKw", "number", optional=True),
        FileColumn("effectiveStartDate", "date", required=True)),
        {"transformerId": "transformer_id", "feederId": "feeder_id", "phase": "phase", "capacityKw": "capacity_kw",
         "effectiveStartDate": "effective_start"},
        parent=Parent("feederId", feeders, "feeder"), fixed="feederId"),
)}
LOCATIONS = FileSpec("service_point_locations", (
    FileColumn("cisServicePointId", max_length=ID, required=True),
    FileColumn("transformerId", max_length=ID, required=True), FileColumn("feederId", max_length=ID, required=True),
    FileColumn("substationId", max_length=ID, required=True), FileColumn("effectiveStartDate", "date", required=True),
), keys=(("cisServicePointId",),))
IMPORT_ORDER = (*NETWORK_TABLES, "service_point_locations")


def import_file(engine: Engine, name: str, path: Path, fmt: FileFormat) -> dict[str, Any]:
    """Check and apply one network file, all or nothing; counts of what it did."""
    if name == "service_point_locations":
        return import_locations(engine, path, fmt)
    spec = NETWORK_TABLES[name]
    frame = read_checked(spec.file, path, fmt)
    with engine.begin() as connection:
        one_writer_at_a_time(connection, LOCK)
        counts = _apply_elements(connection, spec, frame)
        new_change(connection, f"import-{name}", name, None, counts["inserted"] + counts["updated"])
    return {"table": name, **counts}


def _apply_elements(connection: Connection, spec: NetworkTable, frame: pl.DataFrame) -> dict[str, int]:
    key_column = spec.table.c[spec.names[spec.key]]
    known = select_frame(connection, sa.select(*(spec.table.c[c] for c in spec.names.values())),
                         {spec.names[c.name]: polars_type(c.kind) for c in spec.columns})
    rows = frame.rename(spec.names)
    errors = []
    if spec.parent is not None:
        parent_keys = connection.execute(sa.select(*spec.parent.table.primary_key.columns)).scalars().all()
        column = spec.names[spec.parent.column]
        errors += rows_where(rows, ~pl.col(column).is_in(list(parent_keys)), spec.parent.column, "unknown_reference",
                             f"refers to no known {spec.parent.what} (import {spec.parent.table.name} first)")
    joined = rows.join(known.with_columns(known=pl.lit(True)), on=key_column.name, how="left", suffix="_known")
    is_known = pl.col("known").fill_null(False)
    if spec.fixed is not None:
        fixed = spec.names[spec.fixed]
        errors += rows_where(joined, is_known & (pl.col(fixed) != pl.col(f"{fixed}_known")), spec.fixed,
                             "changed_by_import", "differs from the network model's; moves change it, with a date")
    if errors:
        raise invalid(spec.name, errors)
    attributes = [c for c in spec.names.values() if c != key_column.name]
    differs = pl.any_horizontal(pl.col(c).ne_missing(pl.col(f"{c}_known")) for c in attributes)
    new = joined.filter(~is_known).select(ROW, *spec.names.values())
    changed = joined.filter(is_known & differs).select(*spec.names.values())
    now = utcnow()
    stamped = new.drop(ROW).with_columns(imported_at=pl.lit(now))
    if spec.table is transformers:
        stamped = stamped.with_columns(feeder_since=pl.col("effective_start"), updated_at=pl.lit(now))
    bulk_insert(connection, spec.table, stamped)
    if changed.height:
        connection.execute(
            sa.update(spec.table).where(key_column == sa.bindparam("key"))
            .values({c: sa.bindparam(f"new_{c}") for c in attributes} | {"imported_at": now}),
            [{"key": row[key_column.name], **{f"new_{c}": row[c] for c in attributes}}
             for row in changed.iter_rows(named=True)])
    return {"rows": frame.height, "inserted": new.height, "updated": changed.height,
            "unchanged": frame.height - new.height - changed.height}


def import_locations(engine: Engine, path: Path, fmt: FileFormat) -> dict[str, Any]:
    """Connect new service points; a known one must be where the file says (moves change that, with a date)."""
    frame = read_checked(LOCATIONS, path, fmt)
    rows = frame.rename({"cisServicePointId": "cis_service_point_id", "transformerId": "transformer_id",
                         "feederId": "feeder_id", "substationId": "substation_id",
                         "effectiveStartDate": "effective_start"})
    with engine.begin() as connection:
        one_writer_at_a_time(connection, LOCK)
        rows = rows.join(_transformer_feeders(connection), on="transformer_id", how="left").join(
            _open_connections(connection), on="cis_service_point_id", how="left")
        errors = _location_errors(rows)
        if errors:
            raise invalid(LOCATIONS.name, errors)
        new = rows.filter(pl.col("at_transformer").is_null()).sort("cis_service_point_id")  # in key order
        seq = new_change(connection, "import-service-points", "service_point_locations", None, new.height)
        bulk_insert(connection, service_point_connections,
                    new.select("cis_service_point_id", "transformer_id", "feeder_id", "substation_id",
                               "effective_start", change_seq=pl.lit(seq)))
    return {"table": "service_point_locations", "rows": frame.height, "inserted": new.height, "updated": 0,
            "unchanged": frame.height - new.height, "changeSeq": seq}


def _transformer_feeders(connection: Connection) -> pl.DataFrame:
    """Each transformer's feeder (tx_feeder) and that feeder's substation (tx_substation)."""
    query = (sa.select(transformers.c.transformer_id, transformers.c.feeder_id.label("tx_feeder"),
                       feeders.c.substation_id.label("tx_substation"))
             .join(feeders, feeders.c.feeder_id == transformers.c.feeder_id))
    return select_frame(connection, query, dict.fromkeys(("transformer_id", "tx_feeder", "tx_substation"), pl.String))


def _open_connections(connection: Connection) -> pl.DataFrame:
    """Where each known service point is connected now (at_transformer, at_feeder, at_substation)."""
    t = service_point_connections
    query = sa.select(t.c.cis_service_point_id, t.c.transformer_id.label("at_transformer"),
                      t.c.feeder_id.label("at_feeder"), t.c.substation_id.label("at_substation")
                      ).where(t.c.effective_end.is_(None))
    return select_frame(connection, query, dict.fromkeys(
        ("cis_service_point_id", "at_transformer", "at_feeder", "at_substation"), pl.String))


def _location_errors(rows: pl.DataFrame) -> list[dict[str, Any]]:
    found = pl.col("tx_feeder").is_not_null()
    known = pl.col("at_transformer").is_not_null()
    elsewhere = ((pl.col("transformer_id") != pl.col("at_transformer")) | (pl.col("feeder_id") != pl.col("at_feeder"))
                 | (pl.col("substation_id") != pl.col("at_substation")))
    return [
        *rows_where(rows, ~found, "transformerId", "unknown_reference",
                    "refers to no known transformer (import transformers first)"),
        *rows_where(rows, found & (pl.col("feeder_id") != pl.col("tx_feeder")), "feederId", "inconsistent",
                    "is not the feeder its transformer is on"),
        *rows_where(rows, found & (pl.col("substation_id") != pl.col("tx_substation")), "substationId",
                    "inconsistent", "is not the substation of its transformer's feeder"),
        *rows_where(rows, known & elsewhere, "transformerId", "changed_by_import",
                    "differs from where the service point is connected; moves change it, with a date"),
    ]


# ---- exports ----------------------------------------------------------------------------------------------

EXPORT_SCHEMA = {"servicePointId": pl.String, "transformerId": pl.String, "feederId": pl.String,
                 "substationId": pl.String, "effectiveDate": pl.Date}


def create_export(engine: Engine, directory: Path, export_type: ExportType, as_of: date,
                  new_chain: bool = False, wake: Callable[[], None] | None = None) -> dict[str, Any]:
    """Write the export and queue it to the hub in one transaction; None as exportId when a delta finds nothing.

    It follows the newest export not refused by the hub (none with `new_chain`: the program system applies
    it without waiting for another, e.g. after its database was replaced).
    """
    with engine.begin() as connection:
        one_writer_at_a_time(connection, LOCK)
        previous = None if new_chain else _previous_export(connection)
        since = previous.change_seq_to if previous is not None else 0
        upto = last_change(connection)
        if export_type == "delta" and upto == since:
            return {"exportId": None, "exportType": export_type, "rows": 0,
                    "detail": f"nothing changed since export {previous.export_id if previous else '(none)'}"}
        frame = _export_rows(connection, export_type, as_of, since)
        export_id = f"NL-{utcnow():%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
        file = (directory / f"networkLocations-{export_id}.parquet").resolve()
        file.parent.mkdir(parents=True, exist_ok=True)
        frame.write_parquet(file, compression="zstd", statistics=True)
        sha256 = sha256_of(file)
        message_key = f"{EXPORT_KIND}:{export_id}"
        connection.execute(sa.insert(network_exports).values({
                  "export_id": export_id, "export_type": export_type, "as_of": as_of,
                  "previous_export_id": previous.export_id if previous is not None else None,
                  "change_seq_from": since, "change_seq_to": upto, "rows": frame.height, "file": str(file),
                  "sha256": sha256, "message_key": message_key, "created_at": utcnow()}))
        query = {"exportType": export_type, "exportId": export_id, "asOf": as_of.isoformat()}
        if previous is not None:
            query["previousExportId"] = previous.export_id
        connection.execute(sa.insert(outbound_files).values(
            message_key=message_key, kind=EXPORT_KIND,
            **new_file_values(f"{HUB_PATH}?{urlencode(query)}", file, sha256, PARQUET_TYPE)))
        created = export_of(connection, export_id)
    if wake is not None:
        wake()
    return created


def _previous_export(connection: Connection) -> Any:
    e, f = network_exports, outbound_files
    return connection.execute(
        sa.select(e).join(f, f.c.message_key == e.c.message_key).where(f.c.status != FAILED)
        .order_by(e.c.change_seq_to.desc(), e.c.created_at.desc()).limit(1)).first()


def _export_rows(connection: Connection, export_type: ExportType, as_of: date, since: int) -> pl.DataFrame:
    t = service_point_connections
    written = t.c.change_seq > since
    current = sa.or_(t.c.effective_end.is_(None), t.c.effective_end > as_of)
    query = (sa.select(t.c.cis_service_point_id, t.c.transformer_id, t.c.feeder_id, t.c.substation_id,
                       t.c.effective_start)
             .where(written if export_type == "delta" else sa.or_(written, current))
             .order_by(t.c.cis_service_point_id, t.c.effective_start))
    return select_frame(connection, query, EXPORT_SCHEMA)

