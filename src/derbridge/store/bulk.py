"""Bulk writes of polars frames into a system's tables: COPY on PostgreSQL, one executemany on SQLite; and bulk
reads of a query into a frame.

Row-by-row inserts through SQLAlchemy cost tens of microseconds a row; a million-row import must not.
The frame's columns are the table's column names; a subset is fine: the rest take their server defaults
or NULL (SQLAlchemy's Python-side defaults do not apply here).
Values are converted once per column, the way SQLAlchemy would store them, so rows written here read back
through SQLAlchemy exactly like rows it wrote itself (SQLite keeps UTC date-times as naive text).
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection

SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%6f"
COPY_CHUNK_ROWS = 100_000
SELECT_CHUNK_ROWS = 50_000


def bulk_insert(connection: Connection, table: sa.Table, frame: pl.DataFrame) -> int:
    """Insert every row of `frame` into `table` inside the caller's transaction; returns the row count."""
    if frame.is_empty():
        return 0
    unknown = [name for name in frame.columns if name not in table.c]
    if unknown:
        raise ValueError(f"table {table.name} has no columns {unknown}")
    if connection.dialect.name == "postgresql":
        _copy_into(connection, table, frame)
    else:
        _executemany_into(connection, table, frame)
    return frame.height


def _copy_into(connection: Connection, table: sa.Table, frame: pl.DataFrame) -> None:
    """COPY … FROM STDIN in CSV: unquoted empty fields are NULL, quoted ones empty strings (as polars writes)."""
    columns = ", ".join(f'"{name}"' for name in frame.columns)
    statement = f'COPY "{table.name}" ({columns}) FROM STDIN WITH (FORMAT csv)'
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(statement) as copy:
        for chunk in frame.iter_slices(COPY_CHUNK_ROWS):
            buffer = io.BytesIO()
            _for_copy(chunk).write_csv(buffer, include_header=False)
            copy.write(buffer.getvalue())


def _for_copy(frame: pl.DataFrame) -> pl.DataFrame:
    """Date-times in ISO 8601 with their offset; everything else as polars writes it."""
    return frame.with_columns(
        pl.col(name).dt.strftime("%Y-%m-%dT%H:%M:%S%.6f%z")
        for name, dtype in frame.schema.items() if isinstance(dtype, pl.Datetime)
    )


def _executemany_into(connection: Connection, table: sa.Table, frame: pl.DataFrame) -> None:
    columns = ", ".join(f'"{name}"' for name in frame.columns)
    marks = ", ".join("?" for _ in frame.columns)
    statement = f'INSERT INTO "{table.name}" ({columns}) VALUES ({marks})'
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(statement, _for_sqlite(frame).iter_rows())
    finally:
        cursor.close()


def _for_sqlite(frame: pl.DataFrame) -> pl.DataFrame:
    """Values as SQLAlchemy stores them in SQLite: UTC date-times and dates as text, booleans as 0/1."""
    converted = []
    for name, dtype in frame.schema.items():
        column = pl.col(name)
        if isinstance(dtype, pl.Datetime):
            if dtype.time_zone is not None:
                column = column.dt.convert_time_zone("UTC")
            converted.append(column.dt.strftime(SQLITE_DATETIME))
        elif dtype == pl.Date:
            converted.append(column.dt.strftime("%Y-%m-%d"))
        elif dtype == pl.Boolean:
            converted.append(column.cast(pl.Int8))
    return frame.with_columns(converted) if converted else frame


def select_frame(connection: Connection, query: sa.Select[Any], schema: dict[str, Any]) -> pl.DataFrame:
    """The rows of `query` as a frame with `schema` (text, numbers, dates, UTC date-times), in the caller's
    transaction."""
    chunks = list(_select_chunks(connection, query, schema))
    return pl.concat(chunks) if chunks else pl.DataFrame(schema=schema)


def select_to_parquet(connection: Connection, query: sa.Select[Any], schema: dict[str, Any],
                      shape: Callable[[pl.DataFrame], pl.DataFrame], path: Path) -> int:
    """The rows of `query`, each chunk `shape`d, written to one Parquet file at `path` without ever holding
    them all; returns the row count. Chunks go to part files first, then stream into one."""
    parts = path.parent / f".{path.name}.parts"
    parts.mkdir(parents=True, exist_ok=True)
    try:
        rows = 0
        for number, chunk in enumerate(_select_chunks(connection, query, schema)):
            shape(chunk).write_parquet(parts / f"{number:06d}.parquet")
            rows += chunk.height
        if rows:
            pl.scan_parquet(sorted(parts.iterdir())).sink_parquet(path, compression="zstd",
                                                                   row_group_size=SELECT_CHUNK_ROWS)
        else:
            shape(pl.DataFrame(schema=schema)).write_parquet(path, compression="zstd")
        return rows
    finally:
        shutil.rmtree(parts, ignore_errors=True)


def _select_chunks(connection: Connection, query: sa.Select[Any], schema: dict[str, Any]) -> Iterator[pl.DataFrame]:
    """Read through the driver's cursor: SQLAlchemy's row processing would cost more than the read itself for a
    million rows. Rows are fetched a chunk at a time, so only one chunk is ever held as Python tuples. The
    query's few values are rendered into it (our own numbers and dates, never user text)."""
    sql = str(query.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(SELECT_CHUNK_ROWS):
            yield _typed_frame(connection.dialect.name, rows, schema)
    finally:
        cursor.close()


def _typed_frame(dialect: str, rows: list[Any], schema: dict[str, Any]) -> pl.DataFrame:
    """SQLite gives dates and date-times back as text, PostgreSQL as values; either way they end as `schema`
    says."""
    if dialect == "postgresql":
        return pl.DataFrame(rows, schema=schema, orient="row")
    dates = [name for name, dtype in schema.items() if dtype == pl.Date]
    times = [name for name, dtype in schema.items() if isinstance(dtype, pl.Datetime)]
    frame = pl.DataFrame(rows, schema=schema | dict.fromkeys(dates + times, pl.String), orient="row")
    return frame.with_columns(
        *(pl.col(name).str.to_date("%Y-%m-%d") for name in dates),
        *(pl.col(name).str.to_datetime("%Y-%m-%d %H:%M:%S%.f").dt.replace_time_zone("UTC").cast(schema[name])
          for name in times))
