"""Checking a table file against its FileSpec, chunk by chunk, before anything is applied.

First the schema: every column the file may not leave out is there, with a type its values can be read as.
Then every value: missing, not of its kind (a date, date-time, number, integer, boolean), too long, not an
allowed value, not a time zone, below its least, a later date before an earlier one. Then what no single
chunk shows: keys given twice, and rows that should agree but differ. For those the file is read once more,
only where needed: while checking, each row keeps 64-bit hashes of its keys (two million keys in 24 MB,
where the keys themselves and a hash table over them take hundreds); sorted, equal hashes are neighbours,
and only the rows whose hashes repeat are read again to compare the values themselves.

Every problem is refused in one format (tables/refusals.py): its column, kind, count and first rows.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl

from derbridge.tables.read import ROW, file_chunks, file_schema
from derbridge.tables.refusals import ROWS_NAMED, VALUES_NAMED, Problems, invalid, row_error
from derbridge.tables.spec import FileFormat, FileSpec
from derbridge.tables.values import TEXT_KINDS, given, readable, typed

KINDS = {"text": "text", "time_zone": "text", "date": "a date", "datetime": "a date-time", "number": "a number",
         "integer": "an integer", "boolean": "a boolean"}
NOT_READ = {"date": "is not a date (YYYY-MM-DD)", "datetime": "is not an ISO 8601 date-time",
            "number": "is not a number", "integer": "is not an integer", "boolean": "is not true or false"}
"""What a value of each kind that does not read as one is told."""


def check_file(spec: FileSpec, path: Path, fmt: FileFormat, extra: ExtraChecks | None = None) -> int:
    """Every problem the file shows on its own; returns its row count, or raises FileRefused naming them.
    `extra` adds a system's own row checks (given the file's schema), tallied in the same pass."""
    schema = file_schema(path, fmt)
    check_columns(spec, schema)
    checker = _Checker(spec, schema, extra(schema) if extra is not None else [])
    for chunk in file_chunks(path, fmt):
        checker.take(chunk)
    checker.finish(lambda: file_chunks(path, fmt))
    return checker.rows


def read_checked(spec: FileSpec, path: Path, fmt: FileFormat) -> pl.DataFrame:
    """The whole file, every value checked: ROW and the spec's columns, typed (check_file's refusals)."""
    schema = file_schema(path, fmt)
    check_columns(spec, schema)
    checker = _Checker(spec, schema)
    present = [column.name for column in spec.columns if column.name in schema]
    chunks = []
    for chunk in file_chunks(path, fmt):
        checker.take(chunk)
        chunks.append(chunk.select(ROW, *present))  # the file's other columns are not kept
    checker.finish(lambda: chunks)
    frames = [typed_chunk(spec, schema, chunk) for chunk in chunks]
    return pl.concat(frames) if frames else typed_chunk(spec, schema, pl.DataFrame(schema=schema).with_row_index(ROW))


def typed_chunk(spec: FileSpec, schema: pl.Schema, chunk: pl.DataFrame) -> pl.DataFrame:
    """ROW and every column of the spec, read as its kind (a column the file leaves out has no values)."""
    return chunk.select(ROW, *(typed(column, schema.get(column.name)) for column in spec.columns))


def check_columns(spec: FileSpec, schema: pl.Schema) -> None:
    """Every column the file may not leave out is there, with a type its values can be read as; 422 naming
    each one otherwise."""
    errors = []
    for column in spec.columns:
        dtype = schema.get(column.name)
        if dtype is None:
            if not column.optional:
                errors.append({"field": column.name, "type": "missing_column",
                               "message": "the file has no such column"})
        elif not readable(column, dtype):
            errors.append({"field": column.name, "type": "wrong_type",
                           "message": f"holds {dtype}, not {KINDS[column.kind]}"})
    if errors:
        raise invalid(spec.name, errors)


def rows_where(frame: pl.DataFrame, failed: pl.Expr, field: str, kind: str, message: str) -> list[dict[str, Any]]:
    """One error naming the rows of `frame` (with ROW) where `failed` holds or cannot be judged (null), if any:
    for checks a system makes on top of the file's own, against what it holds."""
    flagged = frame.filter(failed.fill_null(True)).sort(ROW)
    if flagged.is_empty():
        return []
    return [row_error(field, kind, message, flagged.height, flagged.head(ROWS_NAMED)[ROW].to_list())]


@dataclass(frozen=True)
class RowCheck:
    """A check of every row: `failed` is true on a row that fails it (null counts as passing)."""

    field: str
    type: str
    message: str
    failed: pl.Expr


_Check = RowCheck
ExtraChecks = Callable[[pl.Schema], list[RowCheck]]


def _value_checks(spec: FileSpec, schema: pl.Schema) -> list[_Check]:
    checks = []
    for column in spec.columns:
        dtype = schema.get(column.name)
        if dtype is None:
            continue
        value = typed(column, dtype)
        if column.required:
            checks.append(_Check(column.name, "missing", "has no value", ~given(column, dtype)))
        if column.kind not in TEXT_KINDS:
            checks.append(_Check(column.name, f"not_a_{column.kind}", NOT_READ[column.kind],
                                 given(column, dtype) & value.is_null()))
        if column.max_length is not None:
            checks.append(_Check(column.name, "too_long", f"is longer than {column.max_length} characters",
                                 pl.col(column.name).cast(pl.String).str.len_chars() > column.max_length))
        if column.allowed:
            checks.append(_Check(column.name, "not_allowed", f"is not one of {', '.join(column.allowed)}",
                                 value.is_not_null() & ~value.is_in(list(column.allowed))))
        if column.kind == "time_zone" and _time_zones():
            checks.append(_Check(column.name, "unknown_time_zone", "is not an IANA time zone (America/Chicago)",
                                 value.is_not_null() & ~value.is_in(_time_zones())))
        if column.min_value is not None:
            checks.append(_Check(column.name, "too_small", f"is below {column.min_value:g}",
                                 value < column.min_value))
    for later, earlier in spec.not_before:
        if later in schema and earlier in schema:
            checks.append(_Check(later, "out_of_order", f"is before {earlier}",
                                 typed(spec.column(later), schema[later])
                                 < typed(spec.column(earlier), schema[earlier])))
    return checks


@cache
def _time_zones() -> list[str]:
    """Empty where Python finds no time-zone database: time zones are then not judged, rather than all refused."""
    return sorted(zoneinfo.available_timezones())


class _Checker:
    """One pass over a file's chunks, tallying every value problem and keeping the hashes of keys and of the
    values that must agree; `finish` judges those and refuses the file if anything was found."""

    def __init__(self, spec: FileSpec, schema: pl.Schema, extra: list[RowCheck] | None = None) -> None:
        self.spec, self.schema = spec, schema
        self.checks = [*_value_checks(spec, schema), *(extra or [])]
        self.hashed = [*self._key_hashes(), *self._agreement_hashes()]
        self.problems = Problems()
        self.hashes: list[pl.DataFrame] = []
        self.rows = 0

    def take(self, chunk: pl.DataFrame) -> None:
        self.rows += chunk.height
        if self.checks and chunk.height:
            self._tally(chunk)
        if self.hashed:
            self.hashes.append(chunk.select(ROW, *self.hashed))

    def finish(self, chunks: Callable[[], Iterable[pl.DataFrame]]) -> None:
        """Judge keys and agreements (reading again, from `chunks`, the rows whose hashes say they may fail),
        then refuse the file if any problem was found."""
        if self.hashes:
            self._judge_hashes(pl.concat(self.hashes), chunks)
            self.hashes = []
        if self.problems:
            raise invalid(self.spec.name, self.problems.as_list())

    def _tally(self, chunk: pl.DataFrame) -> None:
        flags = chunk.select(ROW, *(check.failed.fill_null(False).alias(str(i)) for i, check in enumerate(self.checks)))
        counts = flags.select(pl.exclude(ROW).sum()).row(0)
        for i, (check, count) in enumerate(zip(self.checks, counts, strict=True)):
            if count:
                rows = flags.filter(pl.col(str(i))).head(ROWS_NAMED)[ROW].to_list()
                self.problems.add(check.field, check.type, check.message, int(count), rows)

    def _typed(self, name: str) -> pl.Expr:
        return typed(self.spec.column(name), self.schema.get(name))

    def _key_hashes(self) -> list[pl.Expr]:
        """Per key, its hash in each row that gives the whole key."""
        return [pl.when(pl.all_horizontal(self._typed(name).is_not_null() for name in key))
                .then(pl.struct(self._typed(name) for name in key).hash()).alias(f"key{i}")
                for i, key in enumerate(self.spec.keys)]

    def _agreement_hashes(self) -> list[pl.Expr]:
        """Per agreement, the hash of its key (where given) and of the values that must agree."""
        return [expr for i, agreement in enumerate(self.spec.agreements) for expr in (
            pl.when(self._typed(agreement.key).is_not_null()).then(self._typed(agreement.key).hash()).alias(f"by{i}"),
            pl.struct(self._typed(name) for name in agreement.columns).hash().alias(f"values{i}"))]

    def _judge_hashes(self, hashes: pl.DataFrame, chunks: Callable[[], Iterable[pl.DataFrame]]) -> None:
        suspects = [*(_repeated(hashes, f"key{i}") for i in range(len(self.spec.keys))),
                    *(_differing(hashes, f"by{i}", f"values{i}") for i in range(len(self.spec.agreements)))]
        rows = pl.concat(suspects).unique()
        if rows.is_empty():
            return
        names = list(dict.fromkeys([*(name for key in self.spec.keys for name in key),
                                    *(name for a in self.spec.agreements for name in (a.key, *a.columns))]))
        read = pl.concat(chunk.filter(pl.col(ROW).is_in(rows.implode())).select(ROW, *map(self._typed, names))
                         for chunk in chunks())
        for key in self.spec.keys:
            self._tally_repeated_key(read, list(key))
        for agreement in self.spec.agreements:
            self._tally_disagreeing(read, agreement.key, list(agreement.columns), agreement.what)

    def _tally_repeated_key(self, read: pl.DataFrame, key: list[str]) -> None:
        repeated = read.drop_nulls(key).filter(pl.struct(key).is_duplicated())
        if repeated.height:
            values = repeated.unique(key, maintain_order=True).head(VALUES_NAMED).select(key)
            self.problems.add("+".join(key), "duplicate_key", "repeats the key of another row", repeated.height,
                              repeated.head(ROWS_NAMED)[ROW].to_list(),
                              ["+".join(str(value) for value in row) for row in values.iter_rows()])

    def _tally_disagreeing(self, read: pl.DataFrame, key: str, columns: list[str], what: str) -> None:
        differing = read.drop_nulls(key).filter(pl.struct(columns).n_unique().over(key) > 1)
        if differing.height:
            self.problems.add(key, "inconsistent", f"gives a {what} whose other rows differ in {', '.join(columns)}",
                              differing.height, differing.head(ROWS_NAMED)[ROW].to_list(),
                              differing[key].unique(maintain_order=True).head(VALUES_NAMED).cast(pl.String).to_list())


def _repeated(hashes: pl.DataFrame, column: str) -> pl.Series:
    """Rows whose hash another row shares."""
    same_as_previous = pl.col(column) == pl.col(column).shift(1)
    return hashes.drop_nulls(column).sort(column).filter(same_as_previous | same_as_previous.shift(-1))[ROW]


def _differing(hashes: pl.DataFrame, by: str, values: str) -> pl.Series:
    """Rows of a `by` hash whose rows give more than one hash of `values`."""
    return hashes.drop_nulls(by).filter(pl.col(values).n_unique().over(by) > 1)[ROW]

