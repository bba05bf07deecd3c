"""Reading table files (Parquet or CSV) with polars: their columns and types from the schema alone, or every
row checked, and a column-for-column copy into a new Parquet file.

CSV is read as text throughout (types are checked here, not guessed); an empty CSV field is no value.
Errors name the file's column and its rows, counted from 1 without the header: the first few, and how many.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from derbridge.errors import FileRefused
from derbridge.tables.formats import FileColumn, FileFormat

ROW = "row"
ROWS_NAMED = 20
"""Per problem, the rows an error names; it counts them all."""


def scan(path: Path, fmt: FileFormat) -> tuple[pl.LazyFrame, pl.Schema]:
    """The file as a lazy frame and its schema; 400 when it is not a readable file of that format."""
    try:
        frame = pl.scan_parquet(path) if fmt == "parquet" else pl.scan_csv(path, infer_schema=False)
        return frame, frame.collect_schema()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise unreadable(fmt, exc) from exc


def unreadable(fmt: FileFormat, exc: Exception) -> FileRefused:
    reason = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
    return FileRefused(400, "Unreadable file", f"not a readable {fmt.upper()} file: {reason}",
                       [{"field": "body", "type": "unreadable_file", "message": reason}])


def check_columns(schema: pl.Schema, columns: Sequence[FileColumn]) -> None:
    """Every required column present with a type its values can be read as; 422 naming each one otherwise."""
    errors = []
    for column in columns:
        dtype = schema.get(column.name)
        if dtype is None:
            if not column.optional:
                errors.append({"field": column.name, "type": "missing_column",
                               "message": "the file has no such column"})
        elif not _readable(column, dtype):
            errors.append({"field": column.name, "type": "wrong_type",
                           "message": f"holds {dtype}, not {_expected(column)}"})
    if errors:
        raise invalid(errors)


def invalid(errors: list[dict[str, Any]]) -> FileRefused:
    names = ", ".join(dict.fromkeys(error["field"] for error in errors))
    return FileRefused(422, "Invalid file", f"bad columns: {names}", errors)


def _readable(column: FileColumn, dtype: pl.DataType) -> bool:
    if dtype in (pl.String, pl.Null):
        return True
    if column.kind == "date":
        return dtype == pl.Date
    if column.kind == "number":
        return dtype.is_numeric()
    return isinstance(dtype, pl.Categorical | pl.Enum)


def _expected(column: FileColumn) -> str:
    return {"date": "a date", "number": "a number", "text": "text"}[column.kind]


def typed(column: FileColumn, schema: pl.Schema, *, strict: bool = False) -> pl.Expr:
    """The column's values as what they are (text, date, number); empty text is no value. Not strict: a value
    that cannot be read becomes no value (the checks name it); strict: reading fails."""
    dtype = schema.get(column.name)
    if dtype is None:
        return pl.lit(None, dtype=_polars_type(column)).alias(column.name)
    raw = pl.col(column.name)
    if column.kind == "date" and dtype != pl.Date:
        return raw.cast(pl.String).str.to_date("%Y-%m-%d", strict=strict)
    if column.kind == "number" and not dtype.is_numeric():
        return raw.cast(pl.String).str.strip_chars().cast(pl.Float64, strict=strict)
    if column.kind == "number":
        return raw.cast(pl.Float64)
    if column.kind == "text":
        text = raw.cast(pl.String)
        return pl.when(text != "").then(text).alias(column.name)
    return raw


def _polars_type(column: FileColumn) -> type[pl.DataType]:
    return {"date": pl.Date, "number": pl.Float64, "text": pl.String}[column.kind]


@dataclass(frozen=True)
class _Check:
    field: str
    type: str
    message: str
    failed: pl.Expr
    """True on a row that fails the check."""


def _value_checks(columns: Sequence[FileColumn], schema: pl.Schema) -> list[_Check]:
    checks = []
    for column in columns:
        if column.name not in schema:
            continue
        raw, value = pl.col(column.name), typed(column, schema)
        present = raw.is_not_null() & (raw.cast(pl.String) != "")
        if not column.optional:
            checks.append(_Check(column.name, "missing", "has no value", ~present))
        if column.kind == "date":
            checks.append(_Check(column.name, "not_a_date", "is not a date (YYYY-MM-DD)", present & value.is_null()))
        elif column.kind == "number":
            checks.append(_Check(column.name, "not_a_number", "is not a number", present & value.is_null()))
        elif column.max_length is not None:
            checks.append(_Check(column.name, "too_long", f"is longer than {column.max_length} characters",
                                 raw.cast(pl.String).str.len_chars() > column.max_length))
    return checks


def value_errors(frame: pl.DataFrame, columns: Sequence[FileColumn], schema: pl.Schema) -> list[dict[str, Any]]:
    """Every value problem in `frame` (raw columns plus ROW): missing, not a date or number, too long."""
    checks = _value_checks(columns, schema)
    if not checks or frame.is_empty():
        return []
    flags = frame.select(ROW, *(check.failed.fill_null(False).alias(str(i)) for i, check in enumerate(checks)))
    counts = flags.select(pl.exclude(ROW).sum()).row(0)
    errors = []
    for i, (check, count) in enumerate(zip(checks, counts, strict=True)):
        if count:
            rows = flags.filter(pl.col(str(i))).head(ROWS_NAMED)[ROW].to_list()
            errors.append(row_error(check.field, check.type, check.message, int(count), rows))
    return errors


def row_error(field: str, kind: str, message: str, count: int, rows: list[int]) -> dict[str, Any]:
    named = ", ".join(str(row) for row in rows) + (", …" if count > len(rows) else "")
    plural = "row" if count == 1 else "rows"
    return {"field": field, "type": kind, "message": f"{message} ({count} {plural}: {named})", "count": count,
            "rows": rows}


def duplicate_errors(frame: pl.DataFrame, key: Sequence[str]) -> list[dict[str, Any]]:
    """Rows that repeat another row's key (the key columns of a typed frame with ROW)."""
    if not key:
        return []
    repeated = frame.drop_nulls(list(key)).filter(pl.struct(list(key)).is_duplicated())
    if repeated.is_empty():
        return []
    return [row_error("+".join(key), "duplicate_key", "repeats the key of another row", repeated.height,
                      repeated.head(ROWS_NAMED)[ROW].to_list())]


def read_checked(path: Path, fmt: FileFormat, columns: Sequence[FileColumn],
                 key: Sequence[str] = ()) -> pl.DataFrame:
    """The whole file, every value checked: ROW and the columns, typed. 422 naming every problem's column and
    rows (missing values, values that are not dates or numbers, too long, repeated keys)."""
    frame, schema = scan(path, fmt)
    check_columns(schema, columns)
    present = [column.name for column in columns if column.name in schema]
    try:
        raw = frame.with_row_index(ROW, offset=1).select(ROW, *present).collect()
    except pl.exceptions.PolarsError as exc:
        raise unreadable(fmt, exc) from exc
    errors = value_errors(raw, columns, schema)
    if errors:
        raise invalid(errors)
    values = raw.select(ROW, *(typed(column, schema).alias(column.name) for column in columns))
    errors = duplicate_errors(values, key)
    if errors:
        raise invalid(errors)
    return values


def copy_columns(path: Path, fmt: FileFormat, columns: Sequence[FileColumn], names: dict[str, str],
                 out: Path) -> int:
    """Write the given columns, typed and renamed (`names`: file column → new name), to a new Parquet file,
    streaming; returns its row count. Checks the schema first, and names the rows of any unreadable value."""
    frame, schema = scan(path, fmt)
    check_columns(schema, columns)
    out.parent.mkdir(parents=True, exist_ok=True)
    selected = frame.select(typed(column, schema, strict=True).alias(names[column.name]) for column in columns)
    try:
        selected.sink_parquet(out, compression="zstd", statistics=True)
    except pl.exceptions.PolarsError as exc:
        out.unlink(missing_ok=True)
        raw = frame.with_row_index(ROW, offset=1).select(ROW, *(c.name for c in columns if c.name in schema))
        errors = value_errors(raw.collect(), [c for c in columns if c.kind != "text"], schema)
        raise (invalid(errors) if errors else unreadable(fmt, exc)) from exc
    return int(pl.scan_parquet(out).select(pl.len()).collect().item())
