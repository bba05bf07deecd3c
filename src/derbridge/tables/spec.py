"""What a table file must hold, and where its rows go when it is loaded into a table.

Every table file the systems exchange is declared here the same way: its columns (`FileColumn`), the keys no
two rows may share, the dates that may not be out of order, and the groups of rows that must agree
(`FileSpec`); a file loaded into a database table adds the table and its references (`TableSpec`). Also the
formats and the media types that carry them.

Standard library only, so a system can declare its files at start-up and the command line can name them
without loading polars or SQLAlchemy; reading (tables/read.py), checking (tables/check.py) and loading
(tables/load.py) them is done elsewhere. A TableSpec holds SQLAlchemy tables, but only reads their attributes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from derbridge.errors import FileRefused

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    import sqlalchemy as sa
    from sqlalchemy.engine import Connection

    RowsFrom = Callable[[sa.Table], sa.Select[tuple[object, ...]]]
    AfterChunk = Callable[[Connection, sa.Table, datetime], None]

FileFormat = Literal["parquet", "csv"]

PARQUET_TYPE = "application/vnd.apache.parquet"
CSV_TYPE = "text/csv"
CONTENT_TYPES: dict[str, FileFormat] = {PARQUET_TYPE: "parquet", "application/x-parquet": "parquet",
                                        CSV_TYPE: "csv"}
"""What a table file may be sent as; PARQUET_TYPE and CSV_TYPE are the ones to use."""

ColumnKind = Literal["text", "date", "datetime", "number", "integer", "boolean", "time_zone"]
"""What a column's values are. In CSV every value is text read as its kind: a date is YYYY-MM-DD, a date-time
ISO 8601 (UTC unless it gives an offset), a boolean true/false, 1/0, yes/no or y/n, a time zone an IANA name
(America/Chicago). Parquet may hold them as text too, or in the type itself."""


@dataclass(frozen=True)
class FileColumn:
    """A column of a table file: its name there, what its values must be, and the table column it fills where
    the file is loaded into a table."""

    name: str
    kind: ColumnKind = "text"
    max_length: int | None = None
    """Most characters of a text value."""
    required: bool = False
    """Every row gives a value (empty or blank text is no value)."""
    optional: bool = False
    """The file may leave the column out; every row then has no value."""
    allowed: tuple[str, ...] = ()
    """A closed list of values, when not empty."""
    min_value: float | None = None
    """The least a number may be."""
    column: str | None = None
    """The table column it fills (TableSpec)."""

    def __post_init__(self) -> None:
        if self.required and self.optional:
            raise ValueError(f"{self.name}: a column the file may leave out cannot require a value in every row")


@dataclass(frozen=True)
class Agreement:
    """Rows that share a value of `key` give the same values in `columns` (e.g. the rows of one subscription in
    a file of devices)."""

    key: str
    columns: tuple[str, ...]
    what: str
    """How an error names what the rows share: "subscription"."""


@dataclass(frozen=True)
class FileSpec:
    """Everything a file must show on its own: its columns, the keys no two rows share (each a tuple of column
    names), dates in order, and rows that agree."""

    name: str
    """How a refusal names the file: "persons", "network export"."""
    columns: tuple[FileColumn, ...]
    keys: tuple[tuple[str, ...], ...] = ()
    not_before: tuple[tuple[str, str], ...] = ()
    """(later, earlier) pairs of date columns: a later date, when given, is not before the earlier one."""
    agreements: tuple[Agreement, ...] = ()

    def __post_init__(self) -> None:
        names = {column.name for column in self.columns}
        named = [*(name for key in self.keys for name in key), *(name for pair in self.not_before for name in pair),
                 *(name for agreement in self.agreements for name in (agreement.key, *agreement.columns))]
        unknown = [name for name in named if name not in names]
        if unknown:
            raise ValueError(f"{self.name}: no such columns {unknown}")

    def column(self, name: str) -> FileColumn:
        return next(column for column in self.columns if column.name == name)


@dataclass(frozen=True)
class Reference:
    """Every value of the file column `column` must be a key of `table` (a one-column primary key)."""

    column: str
    table: sa.Table
    what: str
    """How an error names the row referred to: "person"."""
    source: str
    """The file that brings those rows: "persons"."""


@dataclass(frozen=True)
class TableSpec:
    """One importable table: the file's columns (each naming the table column it fills), what they refer to,
    and how its rows reach the table.

    Value lengths and which values are required come from the table's own columns, so the schema module stays
    the one place they live (`file`). By default the rows are the file's, as they are. `rows_from` builds them
    from the staging table instead (e.g. adding columns joined from another table); `after_chunk` runs after
    each chunk is applied, in the same transaction (e.g. to refresh copies of the changed rows elsewhere).
    """

    name: str
    table: sa.Table
    columns: tuple[FileColumn, ...]
    references: tuple[Reference, ...] = ()
    not_before: tuple[tuple[str, str], ...] = ()
    """(later, earlier) pairs of date columns: a later date, when given, is not before the earlier one."""
    rows_from: RowsFrom | None = None
    after_chunk: AfterChunk | None = None

    def __post_init__(self) -> None:
        names = {column.name for column in self.columns}
        for column in self.columns:
            if column.column is None or column.column not in self.table.c:
                raise ValueError(f"{self.name}: table {self.table.name} has no column {column.column}")
            if column.optional and not self.table.c[column.column].nullable:
                raise ValueError(f"{self.name}: {column.name} is optional but {column.column} needs a value")
        filled = {column.column for column in self.columns}
        unfilled_keys = [key.name for key in self.table.primary_key.columns if key.name not in filled]
        if unfilled_keys:
            raise ValueError(f"{self.name}: no file column fills the key {unfilled_keys}")
        for later, earlier in self.not_before:
            if {later, earlier} - names:
                raise ValueError(f"{self.name}: unknown date columns in {later} >= {earlier}")
        for reference in self.references:
            if reference.column not in names or len(reference.table.primary_key.columns) != 1:
                raise ValueError(f"{self.name}: reference {reference.column} → {reference.table.name} is unusable")

    def file_column(self, name: str) -> FileColumn:
        return next(column for column in self.columns if column.name == name)

    def target(self, column: FileColumn) -> str:
        """The table column a file column fills."""
        assert column.column is not None  # every column names one (checked on construction)
        return column.column

    @property
    def key(self) -> tuple[FileColumn, ...]:
        """The file columns that fill the table's primary key."""
        keys = {key.name for key in self.table.primary_key.columns}
        return tuple(column for column in self.columns if column.column in keys)

    @cached_property
    def file(self) -> FileSpec:
        """What the file must hold: each column required and as long as its table column allows, and the
        table's key given once."""
        columns = tuple(replace(column, required=not self.table.c[self.target(column)].nullable,
                                max_length=getattr(self.table.c[self.target(column)].type, "length", None))
                        for column in self.columns)
        return FileSpec(self.name, columns, keys=(tuple(column.name for column in self.key),),
                        not_before=self.not_before)


def media_type(content_type: str) -> str:
    return content_type.split(";")[0].strip().lower()


def file_format(content_type: str) -> FileFormat:
    """The format a Content-Type names; 415 naming the header otherwise."""
    given = media_type(content_type)
    if given not in CONTENT_TYPES:
        accepted = ", ".join(CONTENT_TYPES)
        raise FileRefused(415, "Unsupported media type", f"send the file as one of {accepted}",
                          [{"field": "header.content-type", "type": "unsupported_media_type",
                            "message": f"{given or 'none given'} is not one of {accepted}"}])
    return CONTENT_TYPES[given]


def sniffed_format(path: Path) -> FileFormat:
    """The format a file's first bytes show: Parquet starts with PAR1; anything else is read as CSV."""
    with path.open("rb") as file:
        return "parquet" if file.read(4) == b"PAR1" else "csv"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
