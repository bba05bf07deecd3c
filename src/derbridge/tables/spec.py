"""What a bulk table file must hold and where its rows go, declared per table by each system.

The import engine (tables/load.py) reads these declarations; this module stays free of polars so that
the systems can declare their tables at start-up without loading it. Value lengths and which values are
required come from the target table's own columns, so the schema module stays the one place they live.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from derbridge.errors import FileRefused
from derbridge.tables.formats import FileFormat

__all__ = ["FileFormat", "FileRefused", "FileColumn", "Reference", "TableSpec"]

ColumnKind = Literal["text", "date", "time_zone"]
"""time_zone: text that must name an IANA time zone (America/Chicago)."""


@dataclass(frozen=True)
class FileColumn:
    """A column of the file: its name there, the table column it fills, and what its values must be."""

    name: str
    column: str
    kind: ColumnKind = "text"
    optional: bool = False
    """The file may leave the column out; every row then has no value."""
    allowed: tuple[str, ...] = ()
    """A closed list of values, when not empty."""


@dataclass(frozen=True)
class Reference:
    """Every value of the file column `column` must be a key of `table` (a one-column primary key)."""

    column: str
    table: sa.Table
    what: str
    """How an error names the row referred to: "person"."""
    source: str
    """The file that brings those rows: "persons"."""


RowsFrom = Callable[[sa.Table], sa.Select[tuple[object, ...]]]
AfterChunk = Callable[[Connection, sa.Table, datetime], None]


@dataclass(frozen=True)
class TableSpec:
    """One importable table: the file's columns, what they refer to, and how its rows reach the table.

    By default the rows are the file's, as they are. `rows_from` builds them from the staging table instead
    (e.g. adding columns joined from another table); `after_chunk` runs after each chunk is applied, in the
    same transaction (e.g. to refresh copies of the changed rows elsewhere).
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
            if column.column not in self.table.c:
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

    @property
    def key(self) -> tuple[FileColumn, ...]:
        """The file columns that fill the table's primary key."""
        keys = {key.name for key in self.table.primary_key.columns}
        return tuple(column for column in self.columns if column.column in keys)
