"""Import one table file (Parquet or CSV) into a system's table: checked whole, then applied as an upsert in one
transaction, chunk by chunk, so a million rows take seconds and memory stays bounded by the chunk size.

Pass 1 reads the file alone: its columns and their types, every value (missing, too long, not a date, not an
allowed value, dates out of order) and duplicate keys. Nothing touches the database, so a bad file costs
one read. Pass 2 stages each chunk in a temporary table, checks its references against the database and
applies it with one INSERT … SELECT … ON CONFLICT DO UPDATE (SQLite ≥ 3.24 and PostgreSQL alike). A row
whose values are unchanged is not rewritten. A dangling reference anywhere refuses the whole file: the
caller's transaction rolls back. Rows the file does not mention are kept (an extract may be a delta).

Errors name the file's column and its rows, counted from 1 without the header: the first few, and how many.
"""

from __future__ import annotations

import time
import zoneinfo
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO

import polars as pl
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from derbridge.clock import utcnow
from derbridge.errors import FileRefused
from derbridge.store.bulk import bulk_insert
from derbridge.store.importlog import ImportRecord, record_import
from derbridge.tables.spec import FileColumn, FileFormat, TableSpec

CHUNK_ROWS = 200_000
CSV_BLOCK_BYTES = 16 << 20
"""CSV is cut by size: about 200,000 records of a CIS extract."""
ROWS_NAMED = 20
"""Per problem, the rows an error names; it counts them all."""
VALUES_NAMED = 5
ROW = "_row"


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
    check_file(spec, path, fmt)
    now = utcnow()
    with engine.begin() as connection:
        counts = apply_file(connection, spec, path, fmt, now)
        record = ImportRecord(spec.name, counts.rows, counts.inserted, counts.updated, counts.unchanged, sha256,
                              size, fmt, round(time.perf_counter() - started, 3), who, now)
        import_id = record_import(connection, imports, record)
    return import_id, record


# ---- pass 1: the file alone ---------------------------------------------------------------------------------

def check_file(spec: TableSpec, path: Path, fmt: FileFormat) -> int:
    """Every problem the file shows without the database; returns its row count, or raises FileRefused."""
    schema = file_schema(path, fmt)
    column_errors = _column_errors(spec, schema)
    if column_errors:
        raise _invalid(spec, column_errors)
    checks = _value_checks(spec, schema)
    key = [_typed(column, schema) for column in spec.key]
    errors = _Errors()
    hashes: list[pl.DataFrame] = []
    rows = 0
    for chunk in file_chunks(path, fmt):
        rows += chunk.height
        _tally_checks(chunk, checks, errors)
        hashes.append(chunk.select(ROW, key_hash=pl.struct(key).hash()))
    if hashes:
        _tally_duplicate_keys(spec, path, fmt, key, pl.concat(hashes), errors)
    if errors:
        raise _invalid(spec, errors.as_list())
    return rows


@dataclass(frozen=True)
class _Check:
    field: str
    type: str
    message: str
    failed: pl.Expr
    """True on a row that fails the check (null counts as passing)."""


def _value_checks(spec: TableSpec, schema: pl.Schema) -> list[_Check]:
    checks = []
    for column in spec.columns:
        if column.name not in schema:
            continue
        target = spec.table.c[column.column]
        raw = pl.col(column.name)
        text = raw.cast(pl.String)
        if column.kind == "date":
            if not target.nullable:
                checks.append(_Check(column.name, "missing", "has no value", raw.is_null()))
            checks.append(_Check(column.name, "not_a_date", "is not a date (YYYY-MM-DD)",
                                 raw.is_not_null() & _typed(column, schema).is_null()))
            continue
        if not target.nullable:
            checks.append(_Check(column.name, "missing", "has no value",
                                 text.is_null() | (text.str.strip_chars() == "")))
        length = getattr(target.type, "length", None)
        if length:
            checks.append(_Check(column.name, "too_long", f"is longer than {length} characters",
                                 text.str.len_chars() > length))
        if column.allowed:
            checks.append(_Check(column.name, "not_allowed", f"is not one of {', '.join(column.allowed)}",
                                 text.is_not_null() & ~text.is_in(list(column.allowed))))
        if column.kind == "time_zone" and _time_zones():
            checks.append(_Check(column.name, "unknown_time_zone", "is not an IANA time zone (America/Chicago)",
                                 text.is_not_null() & ~text.is_in(_time_zones())))
    for later, earlier in spec.not_before:
        if later in schema and earlier in schema:
            later_date = _typed(spec.file_column(later), schema)
            earlier_date = _typed(spec.file_column(earlier), schema)
            checks.append(_Check(later, "out_of_order", f"is before {earlier}", later_date < earlier_date))
    return checks


@cache
def _time_zones() -> list[str]:
    """Empty where Python finds no time-zone database: time zones are then not judged, rather than all refused."""
    return sorted(zoneinfo.available_timezones())


def _tally_checks(chunk: pl.DataFrame, checks: list[_Check], errors: _Errors) -> None:
    if not checks:
        return
    flags = chunk.select(ROW, *(check.failed.fill_null(False).alias(str(i)) for i, check in enumerate(checks)))
    counts = flags.select(pl.exclude(ROW).sum()).row(0)
    for i, (check, count) in enumerate(zip(checks, counts, strict=True)):
        if count:
            rows = flags.filter(pl.col(str(i))).head(ROWS_NAMED)[ROW].to_list()
            errors.add(check.field, check.type, check.message, int(count), rows)


def _tally_duplicate_keys(spec: TableSpec, path: Path, fmt: FileFormat, key: list[pl.Expr], hashes: pl.DataFrame,
                          errors: _Errors) -> None:
    """Rows whose key repeats another row's.

    While the file is read, each key is kept as a 64-bit hash with its row number (two million keys in 24 MB,
    where the keys themselves and a hash table over them take hundreds); sorted, equal hashes are neighbours.
    Only the rows whose hashes repeat are read again, to compare the keys themselves.
    """
    same_as_previous = pl.col("key_hash") == pl.col("key_hash").shift(1)
    candidates = hashes.sort("key_hash").filter(same_as_previous | same_as_previous.shift(-1))[ROW]
    if candidates.is_empty():
        return
    names = [column.column for column in spec.key]
    keys = pl.concat(chunk.filter(pl.col(ROW).is_in(candidates.implode())).select(ROW, *key)
                     for chunk in file_chunks(path, fmt))
    repeated = keys.drop_nulls(names).filter(pl.struct(names).is_duplicated())
    if repeated.height:
        values = repeated.unique(names, maintain_order=True).head(VALUES_NAMED)
        errors.add("+".join(column.name for column in spec.key), "duplicate_key", "repeats the key of another row",
                   repeated.height, repeated.head(ROWS_NAMED)[ROW].to_list(),
                   ["+".join(str(value) for value in row) for row in values.select(names).iter_rows()])


def _column_errors(spec: TableSpec, schema: pl.Schema) -> list[dict[str, Any]]:
    errors = []
    for column in spec.columns:
        dtype = schema.get(column.name)
        if dtype is None:
            if not column.optional:
                errors.append({"field": column.name, "type": "missing_column",
                               "message": "the file has no such column"})
        elif not _readable(column, dtype):
            expected = "a date" if column.kind == "date" else "text"
            errors.append({"field": column.name, "type": "wrong_type", "message": f"holds {dtype}, not {expected}"})
    return errors


def _readable(column: FileColumn, dtype: pl.DataType) -> bool:
    if dtype in (pl.String, pl.Null):
        return True
    if column.kind == "date":
        return dtype == pl.Date
    return isinstance(dtype, pl.Categorical | pl.Enum)


def _typed(column: FileColumn, schema: pl.Schema) -> pl.Expr:
    """The column's values as the table stores them, named after the table column; empty text is no value."""
    if column.name not in schema:
        return pl.lit(None, dtype=pl.Date if column.kind == "date" else pl.String).alias(column.column)
    raw = pl.col(column.name)
    if column.kind == "date":
        parsed = raw if schema[column.name] == pl.Date else raw.cast(pl.String).str.to_date("%Y-%m-%d", strict=False)
        return parsed.alias(column.column)
    text = raw.cast(pl.String)
    return pl.when(text != "").then(text).alias(column.column)


# ---- pass 2: against the database, applied -----------------------------------------------------------------

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
    errors = _Errors()
    rows = written = 0
    for chunk in file_chunks(path, fmt):
        connection.execute(sa.delete(staging))
        bulk_insert(connection, staging, chunk.select(ROW, *(_typed(column, schema) for column in spec.columns)))
        rows += chunk.height
        _tally_references(connection, spec, staging, errors)
        if not errors:
            written += connection.execute(upsert).rowcount
            if spec.after_chunk is not None:
                spec.after_chunk(connection, staging, now)
    if errors:
        raise _invalid(spec, errors.as_list())
    staging.drop(connection)
    inserted = _count(connection, spec.table) - before
    return Counts(rows, inserted, written - inserted, rows - written)


def _staging_table(spec: TableSpec) -> sa.Table:
    """A temporary table shaped like the file's typed columns, with each row's number in the file."""
    columns = [sa.Column(column.column, spec.table.c[column.column].type) for column in spec.columns]
    return sa.Table(f"staging_{spec.table.name}", sa.MetaData(), sa.Column(ROW, sa.Integer), *columns,
                    prefixes=["TEMPORARY"])


def _upsert(connection: Connection, spec: TableSpec, staging: sa.Table, now: datetime) -> sa.Executable:
    """INSERT … SELECT … ON CONFLICT (key) DO UPDATE, only where a value differs; stamps imported_at."""
    rows = spec.rows_from(staging) if spec.rows_from else sa.select(*(staging.c[c.column] for c in spec.columns))
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


def _tally_references(connection: Connection, spec: TableSpec, staging: sa.Table, errors: _Errors) -> None:
    for reference in spec.references:
        value = staging.c[spec.file_column(reference.column).column]
        [key] = reference.table.primary_key.columns
        dangling = sa.select(staging.c[ROW], value).where(value.is_not(None), ~sa.exists().where(key == value))
        count = connection.execute(sa.select(sa.func.count()).select_from(dangling.subquery())).scalar_one()
        if count:
            named = connection.execute(dangling.order_by(staging.c[ROW]).limit(ROWS_NAMED)).all()
            errors.add(reference.column, "unknown_reference",
                       f"refers to no known {reference.what} (import {reference.source} first)", count,
                       [row[0] for row in named], [row[1] for row in named])


def _count(connection: Connection, table: sa.Table) -> int:
    return int(connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


# ---- reading ----------------------------------------------------------------------------------------------

def file_schema(path: Path, fmt: FileFormat) -> pl.Schema:
    """The file's columns and types; CSV is text throughout (types are checked here, not guessed)."""
    try:
        if fmt == "parquet":
            return pl.Schema(pl.read_parquet_schema(path))
        with path.open("rb") as file:
            return pl.read_csv(_csv_header(file), infer_schema=False).schema
    except pl.exceptions.PolarsError as exc:
        raise _unreadable(fmt, exc) from exc


def file_chunks(path: Path, fmt: FileFormat, rows: int = CHUNK_ROWS) -> Iterator[pl.DataFrame]:
    """The file's rows in order, a chunk at a time (`rows` of Parquet, about CSV_BLOCK_BYTES of CSV), each row
    with its number in the file (ROW, from 1).

    Chunk by chunk, not through polars' streaming batches: those read ahead of the consumer, so the whole
    file ends up in memory while the database is still taking the first chunk.
    """
    number = 1
    try:
        for chunk in _parquet_slices(path, rows) if fmt == "parquet" else _csv_blocks(path):
            yield chunk.with_row_index(ROW, offset=number)
            number += chunk.height
    except pl.exceptions.PolarsError as exc:
        raise _unreadable(fmt, exc) from exc


def _parquet_slices(path: Path, rows: int) -> Iterator[pl.DataFrame]:
    total = pl.scan_parquet(path).select(pl.len()).collect().item()
    for offset in range(0, total, rows):
        yield pl.scan_parquet(path).slice(offset, rows).collect()


def _csv_blocks(path: Path) -> Iterator[pl.DataFrame]:
    """Whole records, about CSV_BLOCK_BYTES at a time, each block parsed under the file's header.

    A record ends at a newline outside quotes. In RFC 4180 CSV every quote character toggles quoting (an
    escaped quote is two of them), so a newline ends a record when the quotes before it are even in number.
    """
    with path.open("rb") as file:
        header = _csv_header(file)
        pending = b""
        for block in iter(lambda: file.read(CSV_BLOCK_BYTES), b""):
            pending += block
            cut = _last_record_end(pending)
            if cut:
                yield _parse_csv(header + pending[:cut])
                pending = pending[cut:]
        if pending.strip():
            yield _parse_csv(header + pending)


def _csv_header(file: BinaryIO) -> bytes:
    """The first record, without a UTF-8 byte-order mark."""
    header = b""
    while not header.endswith(b"\n") or header.count(b'"') % 2:
        line = file.readline()
        if not line:
            break
        header += line
    return header.removeprefix(b"\xef\xbb\xbf")


def _last_record_end(data: bytes) -> int:
    """The position just after the last newline that ends a record, or 0."""
    cut = data.rfind(b"\n")
    while cut != -1 and data.count(b'"', 0, cut) % 2:
        cut = data.rfind(b"\n", 0, cut)
    return cut + 1


def _parse_csv(data: bytes) -> pl.DataFrame:
    return pl.read_csv(data, infer_schema=False)


def _unreadable(fmt: FileFormat, exc: Exception) -> FileRefused:
    reason = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
    return FileRefused(400, "Unreadable file", f"not a readable {fmt.upper()} file: {reason}",
                       [{"field": "body", "type": "unreadable_file", "message": reason}])


# ---- errors -------------------------------------------------------------------------------------------------

@dataclass
class _Tally:
    column: str
    type: str
    message: str
    count: int = 0
    rows: list[int] = field(default_factory=list)
    values: list[str] = field(default_factory=list)


class _Errors:
    """Problems by column and kind, gathered over chunks: a count, the first rows, the first values."""

    def __init__(self) -> None:
        self._tallies: dict[tuple[str, str], _Tally] = {}

    def add(self, column: str, kind: str, message: str, count: int, rows: list[int],
            values: Sequence[str] = ()) -> None:
        tally = self._tallies.setdefault((column, kind), _Tally(column, kind, message))
        tally.count += count
        tally.rows.extend(rows[: ROWS_NAMED - len(tally.rows)])
        for value in values:
            if len(tally.values) < VALUES_NAMED and value not in tally.values:
                tally.values.append(value)

    def __bool__(self) -> bool:
        return bool(self._tallies)

    def as_list(self) -> list[dict[str, Any]]:
        errors = []
        for tally in self._tallies.values():
            plural = "row" if tally.count == 1 else "rows"
            error: dict[str, Any] = {"field": tally.column, "type": tally.type,
                                     "message": f"{tally.message} ({tally.count} {plural})",
                                     "count": tally.count, "rows": tally.rows}
            if tally.values:
                error["values"] = tally.values
            errors.append(error)
        return errors


def _invalid(spec: TableSpec, errors: list[dict[str, Any]]) -> FileRefused:
    columns = ", ".join(dict.fromkeys(error["field"] for error in errors))
    return FileRefused(422, "Invalid file", f"{spec.name}: problems in {columns}; nothing was applied", errors)
