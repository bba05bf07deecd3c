"""Bulk writes of polars frames into a system's tables: COPY on PostgreSQL, a hundred rows per INSERT on SQLite;
and bulk reads of a query into a frame.

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
from itertools import chain
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection

SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%6f"
COPY_CHUNK_ROWS = 100_000
INSERT_CHUNK_ROWS = 5_000
ROWS_PER_INSERT = 100
VALUES_PER_STATEMENT = 999
"""The least limit of bound values per statement SQLite has had (it is 32,766 since 3.32)."""
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
        _insert_many_rows(connection, table, frame)
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


def _insert_many_rows(connection: Connection, table: sa.Table, frame: pl.DataFrame) -> None:
    """Many rows to a statement: each statement executed costs a round of Python and SQLite work of its own,
    so a hundred rows at a time (within SQLite's limit of bound values) take a third off a million rows."""
    per_statement = max(1, min(ROWS_PER_INSERT, VALUES_PER_STATEMENT // frame.width))
    width = per_statement * frame.width
    many, one = _insert_statement(table, frame.columns, per_statement), _insert_statement(table, frame.columns, 1)
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        for chunk in _for_sqlite(frame).iter_slices(INSERT_CHUNK_ROWS):
            whole = chunk.height - chunk.height % per_statement
            columns = [chunk[name][:whole].to_list() for name in chunk.columns]
            values = list(chain.from_iterable(zip(*columns, strict=True)))
            cursor.executemany(many, (values[start:start + width] for start in range(0, len(values), width)))
            if whole < chunk.height:
                cursor.executemany(one, chunk.slice(whole).iter_rows())
    finally:
        cursor.close()


def _insert_statement(table: sa.Table, columns: list[str], rows: int) -> str:
    names = ", ".join(f'"{name}"' for name in columns)
    marks = "(" + ", ".join("?" for _ in columns) + ")"
    return f'INSERT INTO "{table.name}" ({names}) VALUES {", ".join([marks] * rows)}'


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
    transaction. The schema names the query's columns in order."""
    if connection.dialect.name == "sqlite":
        return _select_as_json_arrays(connection, query, schema)
    chunks = list(_select_chunks(connection, query, schema))
    return pl.concat(chunks) if chunks else pl.DataFrame(schema=schema)


def _select_as_json_arrays(connection: Connection, query: sa.Select[Any], schema: dict[str, Any]) -> pl.DataFrame:
    """SQLite gathers each column into one JSON array and polars decodes it: no Python object per value, which
    halves the time of a million-row read. Dates and date-times, text of one fixed form, are gathered as one list
    separated by commas instead; so are whole numbers and text that JSON need not escape, when split rather than
    decoded (see `_split_array`): a split takes a third of a decode's time. Rows keep the query's order: SQLite
    never drops the ORDER BY of a subquery whose outer query aggregates with anything but count, min or max.
    Each column is let go once decoded, so the text of only the columns not yet decoded is held."""
    rows = query.subquery()
    times = {name for name, dtype in schema.items() if _is_time(dtype)}
    count, *arrays = connection.execute(sa.select(sa.func.count(), *(
        sa.func.group_concat(sa.func.coalesce(column, ""), ",") if name in times else sa.func.json_group_array(column)
        for column, name in zip(rows.c, schema, strict=True)))).one()
    if not count:
        return pl.DataFrame(schema=schema)
    arrays.reverse()
    columns = [_split_times(name, arrays.pop()) if name in times else _decoded(name, arrays.pop(), dtype, count)
               for name, dtype in _as_stored(schema).items()]
    return _typed_text(pl.DataFrame(columns), schema)


def _split_times(name: str, text: str) -> pl.Series:
    values = pl.Series(name, [text]).str.split(",").explode()
    return values.set(values == "", None)


def _decoded(name: str, array: str, dtype: Any, count: int) -> pl.Series:
    """The values of one JSON array: split where that gives them exactly, else decoded."""
    split = _split_array(name, array, dtype)
    if split is not None and split.len() == count:
        return split
    return pl.Series(name, [array]).str.json_decode(pl.List(dtype)).explode()


def _split_array(name: str, array: str, dtype: Any) -> pl.Series | None:
    """A JSON array's values by splitting it, or None when that may not give them exactly. Without a backslash,
    no string in it is escaped, so the text between `["` and `"]` split on `","` is its strings, unless a null
    among them joined two (the caller compares the count); an array of whole numbers without nulls is its text
    between brackets split on commas, unless a number is written otherwise (1.0)."""
    if dtype == pl.String and array.startswith('["') and array.endswith('"]') and "\\" not in array:
        return pl.Series(name, [array[2:-2]]).str.split('","').explode()
    if dtype == pl.Int64 and "null" not in array:
        numbers = pl.Series(name, [array[1:-1]]).str.split(",").explode().cast(pl.Int64, strict=False)
        return None if numbers.has_nulls() else numbers
    return None


def _is_time(dtype: Any) -> bool:
    return dtype == pl.Date or isinstance(dtype, pl.Datetime)


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
    million rows. Rows are fetched a chunk at a time, so only one chunk is ever held as Python tuples. PostgreSQL
    takes the query's values as parameters (psycopg adapts them); for SQLite, which stores date-times as
    SQLAlchemy writes them, the values are rendered into the query by SQLAlchemy's own literal rules."""
    if connection.dialect.name == "postgresql":
        compiled = query.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
        sql, parameters = str(compiled), compiled.params
    else:
        sql, parameters = str(query.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})), {}
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, parameters)
        while rows := cursor.fetchmany(SELECT_CHUNK_ROWS):
            yield _typed_frame(connection.dialect.name, rows, schema)
    finally:
        cursor.close()


def _typed_frame(dialect: str, rows: list[Any], schema: dict[str, Any]) -> pl.DataFrame:
    """SQLite gives dates and date-times back as text, PostgreSQL as values; either way they end as `schema`
    says."""
    if dialect == "postgresql":
        return pl.DataFrame(rows, schema=schema, orient="row")
    return _typed_text(pl.DataFrame(rows, schema=_as_stored(schema), orient="row"), schema)


def _as_stored(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` as SQLite hands the values over: dates and date-times as text."""
    return {name: pl.String if _is_time(dtype) else dtype for name, dtype in schema.items()}


def _typed_text(frame: pl.DataFrame, schema: dict[str, Any]) -> pl.DataFrame:
    """Dates and date-times, which SQLite keeps as text, as `schema` types them."""
    dates = [name for name, dtype in schema.items() if dtype == pl.Date]
    times = [name for name, dtype in schema.items() if isinstance(dtype, pl.Datetime)]
    return frame.with_columns(
        *(pl.col(name).str.to_date("%Y-%m-%d") for name in dates),
        *(pl.col(name).str.to_datetime("%Y-%m-%d %H:%M:%S%.f").dt.replace_time_zone("UTC").cast(schema[name])
          for name in times))
