"""A column's values as what they are: the polars expressions that read a file column as its kind.

A column holding text (all of CSV, text columns of Parquet) is read as the kind: surrounding blanks are
ignored, empty or blank text is no value, a value that does not read becomes no value (the checker names it)
or, strict, fails the read. A Parquet column already of the kind is taken as it is: a date-time is put in UTC
(taken as UTC where it has no time zone).
"""

from __future__ import annotations

import polars as pl

from derbridge.tables.spec import ColumnKind, FileColumn

TEXT_KINDS = ("text", "time_zone")
BOOLEAN_WORDS = {"true": True, "1": True, "y": True, "yes": True, "false": False, "0": False, "n": False, "no": False}
WITH_OFFSET = r"(?:[Zz]|[+-]\d\d:?\d\d)$"


def polars_type(kind: ColumnKind) -> pl.DataType:
    """What a column of this kind holds once read."""
    return {"date": pl.Date(), "datetime": pl.Datetime("us", "UTC"), "number": pl.Float64(), "integer": pl.Int64(),
            "boolean": pl.Boolean()}.get(kind, pl.String())


def holds_text(dtype: pl.DataType) -> bool:
    return dtype in (pl.String, pl.Null) or isinstance(dtype, pl.Categorical | pl.Enum)


def readable(column: FileColumn, dtype: pl.DataType) -> bool:
    """Whether a file column of this type can hold the column's values: text always can."""
    if holds_text(dtype):
        return True
    if column.kind == "date":
        return dtype == pl.Date
    if column.kind == "datetime":
        return isinstance(dtype, pl.Datetime)
    if column.kind == "number":
        return dtype.is_numeric()
    if column.kind == "integer":
        return dtype.is_integer()
    return column.kind == "boolean" and dtype == pl.Boolean


def given(column: FileColumn, dtype: pl.DataType) -> pl.Expr:
    """True in a row that gives a value: not null, and not empty or blank text."""
    raw = pl.col(column.name)
    if not holds_text(dtype):
        return raw.is_not_null()
    return raw.is_not_null() & (raw.cast(pl.String).str.strip_chars() != "")


def typed(column: FileColumn, dtype: pl.DataType | None, *, strict: bool = False) -> pl.Expr:
    """The column's values as its kind, named as the file names it; a column the file leaves out (dtype None)
    has no value in any row. Not strict, a value that does not read becomes no value; strict, reading fails."""
    if dtype is None:
        return pl.lit(None, dtype=polars_type(column.kind)).alias(column.name)
    raw = pl.col(column.name)
    if not holds_text(dtype):
        return _converted(column.kind, raw, dtype).alias(column.name)
    text = raw.cast(pl.String) if dtype != pl.String else raw
    if column.kind in TEXT_KINDS:
        return pl.when(text != "").then(text).alias(column.name)
    stripped = text.str.strip_chars()
    return _parsed(column.kind, pl.when(stripped != "").then(stripped), strict).alias(column.name)


def _parsed(kind: ColumnKind, text: pl.Expr, strict: bool) -> pl.Expr:
    if kind == "date":
        return text.str.to_date("%Y-%m-%d", strict=strict)
    if kind == "datetime":
        with_offset = pl.when(text.str.contains(WITH_OFFSET)).then(text).otherwise(text + "+00:00")
        return with_offset.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%#z", time_unit="us", time_zone="UTC",
                                           strict=strict)
    if kind in ("number", "integer"):
        return text.cast(polars_type(kind), strict=strict)
    words = text.str.to_lowercase()
    if strict:
        return words.replace_strict(BOOLEAN_WORDS, return_dtype=pl.Boolean)
    return words.replace_strict(BOOLEAN_WORDS, default=None, return_dtype=pl.Boolean)


def _converted(kind: ColumnKind, raw: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """A Parquet column already of the kind (tables/check.py refused any other), in the kind's own type."""
    if isinstance(dtype, pl.Datetime):
        in_utc = raw.dt.replace_time_zone("UTC") if dtype.time_zone is None else raw.dt.convert_time_zone("UTC")
        return in_utc.dt.cast_time_unit("us")
    return raw.cast(polars_type(kind))
