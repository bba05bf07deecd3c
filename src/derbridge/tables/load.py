"""Loading a checked table file: into a system's table (an upsert in one transaction, chunk by chunk, so a
million rows take seconds and memory stays bounded by the chunk), or copied into a new Parquet file.

A table load checks the file alone first (tables/check.py): nothing touches the database, so a bad file costs
one read. Then each chunk is staged in a temporary table, its references checked against the database by
anti-joins, and applied with one INSERT … SELECT … ON CONFLICT DO UPDATE (SQLite ≥ 3.24 and PostgreSQL
alike). A row whose values are unchanged is not rewritten. A dangling reference anywhere refuses the whole
file: the caller's transaction rolls back. Rows the file does not mention are kept (an extract may be a delta).

A copy (the hub's file relay) checks the file's columns and types from its schema, then streams the columns,
read as their kinds and renamed, into a new Parquet file; a value that does not read refuses the copy, naming
its rows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import polars as pl
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from derbridge.clock import utcnow
from derbridge.store.bulk import bulk_insert
from derbridge.store.importlog import ImportRecord, record_import
from derbridge.tables.check import check_columns, check_file
from derbridge.tables.read import ROW, file_chunks, file_schema, scan
from derbridge.tables.refusals import ROWS_NAMED, Problems, invalid, unreadable
from derbridge.tables.spec import FileFormat, FileSpec, TableSpec
from derbridge.tables.values import typed


@dataclass(frozen=True)
class Counts:
    rows: int
    inserted: int
    updated: int
    unchanged: int


def import_table_file(engine: Engine, spec: TableSpec, path: Path, fmt: FileFormat, *, sha256: str, size: int,
                      who: str, imports: sa.Table) -> tuple[int, ImportRecord]:
    """Check the file, apply it and record the import, all or nothing; returns the record's id and the record."""
    started = time.perf_counter()
    check_file(spec.file, path, fmt)
    now = utcnow()
    with engine.begin() as connection:
        counts = apply_file(connection, spec, path, fmt, now)
        record = ImportRecord(spec.name, counts.rows, counts.inserted, counts.updated, counts.unchanged, sha256,
                              size, fmt, round(time.perf_counter() - started, 3), who, now)
        import_id = record_import(connection, imports, record)
    return import_id, record


def apply_file(connection: Connection, spec: TableSpec, path: Path, fmt: FileFormat, now: datetime) -> Counts:
    """Stage, check references and upsert chunk by chunk in the caller's transaction (roll it back on error).

    The file must have passed check_file. Once a reference fails, the remaining chunks are only checked,
    so the error names every dangling row, and nothing more is written.
    """
    schema = file_schema(path, fmt)
    staging = _staging_table(spec)
    staging.create(connection)
    before = _count(connection, spec.table)
    upsert = _upsert(connection, spec, staging, now)
    values = [typed(column, schema.get(column.name)).alias(spec.target(column)) for column in spec.columns]
    problems = Problems()
    rows = written = 0
    for chunk in file_chunks(path, fmt):
        connection.execute(sa.delete(staging))
        bulk_insert(connection, staging, chunk.select(ROW, *values))
        rows += chunk.height
        _tally_references(connection, spec, staging, problems)
        if not problems:
            written += connection.execute(upsert).rowcount
            if spec.after_chunk is not None:
                spec.after_chunk(connection, staging, now)
    if problems:
        raise invalid(spec.name, problems.as_list())
    staging.drop(connection)
    inserted = _count(connection, spec.table) - before
    return Counts(rows, inserted, written - inserted, rows - written)


def _staging_table(spec: TableSpec) -> sa.Table:
    """A temporary table shaped like the file's typed columns, with each row's number in the file."""
    columns = [sa.Column(spec.target(column), spec.table.c[spec.target(column)].type) for column in spec.columns]
    return sa.Table(f"staging_{spec.table.name}", sa.MetaData(), sa.Column(ROW, sa.Integer), *columns,
                    prefixes=["TEMPORARY"])


def _upsert(connection: Connection, spec: TableSpec, staging: sa.Table, now: datetime) -> sa.Executable:
    """INSERT … SELECT … ON CONFLICT (key) DO UPDATE, only where a value differs; stamps imported_at."""
    rows = (spec.rows_from(staging) if spec.rows_from
            else sa.select(*(staging.c[spec.target(column)] for column in spec.columns)))
    names = [column.name for column in rows.selected_columns]
    stamped = rows.add_columns(sa.literal(now, sa.DateTime(timezone=True)).label("imported_at"))
    insert = (postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert)(spec.table)
    # SQLite's parser needs a WHERE before ON CONFLICT to tell it from a join's ON.
    statement = insert.from_select([*names, "imported_at"], stamped.where(sa.true()))
    keys = [key.name for key in spec.table.primary_key.columns]
    values = [name for name in names if name not in keys]
    differs = sa.or_(*(spec.table.c[name].is_distinct_from(statement.excluded[name]) for name in values))
    upsert = statement.on_conflict_do_update(
        index_elements=keys, where=differs,
        set_={**{name: statement.excluded[name] for name in values}, "imported_at": statement.excluded.imported_at})
    # Rows inserted or changed; without the option, psycopg's count of an INSERT … SELECT is lost (-1).
    return upsert.execution_options(preserve_rowcount=True)


def _tally_references(connection: Connection, spec: TableSpec, staging: sa.Table, problems: Problems) -> None:
    """Rows whose reference names no row of the table referred to: an anti-join of the staged chunk."""
    for reference in spec.references:
        value = staging.c[spec.target(spec.file_column(reference.column))]
        [key] = reference.table.primary_key.columns
        dangling = sa.select(staging.c[ROW], value).where(value.is_not(None), ~sa.exists().where(key == value))
        count = connection.execute(sa.select(sa.func.count()).select_from(dangling.subquery())).scalar_one()
        if count:
            named = connection.execute(dangling.order_by(staging.c[ROW]).limit(ROWS_NAMED)).all()
            problems.add(reference.column, "unknown_reference",
                         f"refers to no known {reference.what} (import {reference.source} first)", count,
                         [row[0] for row in named], [row[1] for row in named])


def _count(connection: Connection, table: sa.Table) -> int:
    return int(connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def copy_columns(spec: FileSpec, path: Path, fmt: FileFormat, names: dict[str, str], out: Path) -> int:
    """Write the spec's columns, read as their kinds and renamed (`names`: file column → new name), to a new
    Parquet file, streaming; returns its row count. Checks the schema first (not every value: the file's
    reader does), and names the rows of any value that does not read as its kind."""
    frame, schema = scan(path, fmt)
    check_columns(spec, schema)
    out.parent.mkdir(parents=True, exist_ok=True)
    selected = frame.select(typed(column, schema.get(column.name), strict=True).alias(names[column.name])
                            for column in spec.columns)
    try:
        selected.sink_parquet(out, compression="zstd", statistics=True)
    except pl.exceptions.PolarsError as exc:
        out.unlink(missing_ok=True)
        check_file(_kinds_only(spec), path, fmt)
        raise unreadable(fmt, exc) from exc
    return int(pl.scan_parquet(out).select(pl.len()).collect().item())


def _kinds_only(spec: FileSpec) -> FileSpec:
    """The spec judging nothing but whether each value reads as its column's kind."""
    columns = tuple(replace(column, required=False, max_length=None, allowed=(), min_value=None)
                    for column in spec.columns)
    return FileSpec(spec.name, columns)
