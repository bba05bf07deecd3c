"""Lookups (domain value maps): small tables with named columns that translate one system's values into the other's.

The mapping code of a flow asks "the value of column X in the row whose column Y is V", e.g. the program
system's specification for DERMS's `ECOTHERM!ET300`. Lookups are data kept in the hub's database and edited at
run time, never code; mapping functions receive an immutable `Lookups` snapshot and stay pure.

A lookup's *key columns* are the columns it translates from. Their values are unique across the rows, so a
key finds exactly one row. A lookup used in both directions (division ↔ DERMS connection id) names both
columns as keys: it is reversible. The first key column identifies a row in edits, imports and the audit.

Rows are numbered from 1 in every problem reported (the first element of `rows`, or the first line after a
CSV header), so an operator can find the row in the file they sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from derbridge.errors import PermanentError

NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_!-]{0,99}$")
COLUMN_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,59}$")
MAX_VALUE_LENGTH = 200
MAX_COLUMNS = 20
MAX_DESCRIPTION_LENGTH = 2000

Row = Mapping[str, str]


class LookupMissing(PermanentError):
    """A translation found nothing: no such lookup, column or row. Names the lookup, column and key, so an
    operator can add what is missing; `missing` says which of the three it was."""

    def __init__(self, lookup: str, column: str, key: str, reason: str,
                 missing: Literal["lookup", "column", "row"]) -> None:
        self.lookup = lookup
        self.column = column
        self.key = key
        self.missing = missing
        super().__init__(f"lookup {lookup!r}: {reason}")


@dataclass(frozen=True)
class LookupProblem:
    """One thing wrong with a lookup or a row; `field` is a dotted path such as `rows.3.DACS`."""

    field: str
    message: str
    type: str = "invalid_lookup"

    def as_error(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message, "type": self.type}


class InvalidLookup(PermanentError):
    """A lookup or an edit that breaks the rules; `problems` names every bad field at once."""

    def __init__(self, problems: list[LookupProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))


@dataclass(frozen=True)
class Lookup:
    """One lookup: its columns, which of them are keys, and its rows (each a value per column, in column order).

    Build it with `Lookup.build`, which validates; the constructor trusts its arguments.
    """

    name: str
    columns: tuple[str, ...]
    keys: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    description: str = ""
    version: int = 0
    _index: dict[str, dict[str, int]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index = {key: {row[self.columns.index(key)]: n for n, row in enumerate(self.rows)} for key in self.keys}
        object.__setattr__(self, "_index", index)

    @classmethod
    def build(cls, name: str, columns: Iterable[str], rows: Iterable[Row], keys: Iterable[str] | None = None,
              description: str = "", version: int = 0) -> Lookup:
        """A validated lookup; `keys` defaults to the first column. Raises InvalidLookup naming every problem."""
        columns = tuple(columns)
        keys = tuple(keys) if keys is not None else columns[:1]
        rows = list(rows)
        problems = definition_problems(name, columns, keys, description) or row_problems(columns, keys, rows)
        if problems:
            raise InvalidLookup(problems)
        return cls(name, columns, keys, tuple(tuple(row[c] for c in columns) for row in rows), description, version)

    @property
    def primary_key(self) -> str:
        return self.keys[0]

    def records(self) -> list[dict[str, str]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def row_key(self, row: Row) -> str:
        return row[self.primary_key]

    def find(self, from_column: str, key: str) -> dict[str, str] | None:
        """The row whose `from_column` (a key column) is `key`, or None."""
        self._check_key_column(from_column, key)
        position = self._index[from_column].get(key)
        return None if position is None else dict(zip(self.columns, self.rows[position], strict=True))

    def value(self, from_column: str, key: str, to_column: str) -> str:
        """Translate: the `to_column` value of the row whose `from_column` is `key`; LookupMissing if none."""
        if to_column not in self.columns:
            raise LookupMissing(self.name, to_column, key, f"has no column {to_column!r} ({self._columns_named()})",
                                "column")
        row = self.find(from_column, key)
        if row is None:
            raise LookupMissing(self.name, from_column, key, f"no row has {from_column} = {key!r}", "row")
        return row[to_column]

    def _check_key_column(self, column: str, key: str) -> None:
        if column not in self.columns:
            raise LookupMissing(self.name, column, key, f"has no column {column!r} ({self._columns_named()})",
                                "column")
        if column not in self.keys:
            raise LookupMissing(self.name, column, key, f"column {column!r} is not a key, so it cannot be "
                                                        f"translated from (keys: {', '.join(self.keys)})", "column")

    def _columns_named(self) -> str:
        return f"columns: {', '.join(self.columns)}"

    # ---- edits: each returns a new, validated lookup; a problem names the row as the caller sent it ------

    def replaced(self, rows: Iterable[Any]) -> Lookup:
        """Exactly these rows (a whole-lookup import)."""
        incoming = list(rows)
        return self._checked(incoming, [], incoming, [f"rows.{n}" for n in range(1, len(incoming) + 1)])

    def merged(self, rows: Iterable[Any]) -> Lookup:
        """Rows replaced or added by their primary key; rows not mentioned stay where they are."""
        incoming = list(rows)
        by_key = {row.get(self.primary_key): row for row in incoming if isinstance(row, Mapping)}
        existing = self.records()
        kept = [row for row in existing if self.row_key(row) not in by_key]
        known = {self.row_key(row) for row in existing}
        final = [dict(by_key.get(self.row_key(row), row)) for row in existing]
        final += [dict(row) for row in incoming if isinstance(row, Mapping) and row.get(self.primary_key) not in known]
        return self._checked(final, kept, incoming, [f"rows.{n}" for n in range(1, len(incoming) + 1)])

    def upserted(self, match_column: str, match_value: str, values: Row) -> Lookup:
        """The row found by `match_column` = `match_value` with `values` laid over it, or a new row made of both."""
        self._check_key_column(match_column, match_value)
        records = self.records()
        position = self._index[match_column].get(match_value)
        if position is None:
            row = {match_column: match_value, **values}
            return self._checked([*records, row], records, [row], ["row"])
        row = {**records[position], **values}
        others = records[:position] + records[position + 1:]
        return self._checked(records[:position] + [row] + records[position + 1:], others, [row], ["row"])

    def without(self, match_column: str, match_value: str) -> Lookup:
        """This lookup less the row found by `match_column` = `match_value`; LookupMissing if there is none."""
        self._check_key_column(match_column, match_value)
        position = self._index[match_column].get(match_value)
        if position is None:
            raise LookupMissing(self.name, match_column, match_value,
                                f"no row has {match_column} = {match_value!r}", "row")
        return replace(self, rows=self.rows[:position] + self.rows[position + 1:])

    def _checked(self, final: list[Any], kept: list[dict[str, str]], incoming: list[Any],
                 labels: list[str]) -> Lookup:
        """`final` as this lookup's rows, once `kept` (valid already) and `incoming` pass together.

        Kept rows come first, so a clash is reported at the incoming row, under its label.
        """
        kept_labels = [f"existing row {self.row_key(row)}" for row in kept]
        problems = row_problems(self.columns, self.keys, kept + incoming, kept_labels + labels)
        if problems:
            raise InvalidLookup(problems)
        return replace(self, rows=tuple(tuple(row[c] for c in self.columns) for row in final))


@dataclass(frozen=True)
class Change:
    """One row's change between two versions of a lookup, for the audit trail."""

    action: str  # "add" | "replace" | "delete"
    row_key: str
    old: dict[str, str] | None
    new: dict[str, str] | None


def changes(before: Lookup, after: Lookup) -> list[Change]:
    """What turns `before` into `after`, row by row (by primary key): deletions first, then in `after`'s order."""
    old = {before.row_key(r): r for r in before.records()}
    new = {after.row_key(r): r for r in after.records()}
    found = [Change("delete", key, row, None) for key, row in old.items() if key not in new]
    for key, row in new.items():
        if key not in old:
            found.append(Change("add", key, None, row))
        elif old[key] != row:
            found.append(Change("replace", key, old[key], row))
    return found


def definition_problems(name: str, columns: tuple[str, ...], keys: tuple[str, ...],
                        description: str = "") -> list[LookupProblem]:
    problems = []
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        problems.append(LookupProblem("name", "1 to 100 letters, digits, '_', '-' or '!', starting with a letter"))
    if not 2 <= len(columns) <= MAX_COLUMNS:
        problems.append(LookupProblem("columns", f"a lookup has 2 to {MAX_COLUMNS} columns, got {len(columns)}"))
    for column in columns:
        if not isinstance(column, str) or not COLUMN_PATTERN.match(column):
            problems.append(LookupProblem("columns", f"{column!r}: 1 to 60 letters, digits, '_' or '-', "
                                               "starting with a letter"))
    if len(set(columns)) != len(columns):
        problems.append(LookupProblem("columns", "column names repeat"))
    if not keys:
        problems.append(LookupProblem("keys", "name at least one key column (a column translated from)"))
    for key in keys:
        if key not in columns:
            problems.append(LookupProblem("keys", f"{key!r} is not one of the columns"))
    if len(set(keys)) != len(keys):
        problems.append(LookupProblem("keys", "key columns repeat"))
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION_LENGTH:
        problems.append(LookupProblem("description", f"text of at most {MAX_DESCRIPTION_LENGTH} characters"))
    return problems


def row_problems(columns: tuple[str, ...], keys: tuple[str, ...], rows: list[Any],
                 labels: list[str] | None = None) -> list[LookupProblem]:
    """Every cell that is missing, extra, empty, too long or not text, and every key value used twice.

    Each problem's field is the row's label (default `rows.N`, numbered from 1) and the column.
    """
    labels = labels or [f"rows.{n}" for n in range(1, len(rows) + 1)]
    problems = []
    seen: dict[str, dict[str, str]] = {key: {} for key in keys}
    for label, row in zip(labels, rows, strict=True):
        if not isinstance(row, Mapping):
            problems.append(LookupProblem(label, "a row is an object of column → value"))
            continue
        for extra in sorted(set(row) - set(columns), key=str):
            problems.append(LookupProblem(f"{label}.{extra}",
                                          f"not a column of this lookup (columns: {', '.join(columns)})"))
        for column in columns:
            problem = _cell_problem(row.get(column))
            if problem:
                problems.append(LookupProblem(f"{label}.{column}", problem))
            elif column in seen:
                first = seen[column].setdefault(row[column], label)
                if first != label:
                    problems.append(LookupProblem(f"{label}.{column}",
                                            f"{row[column]!r} is already in {first.replace('rows.', 'row ')}; "
                                            f"values of key column {column} must be unique", "duplicate_key"))
    return problems


def _cell_problem(value: object) -> str | None:
    if value is None:
        return "missing"
    if not isinstance(value, str):
        return f"must be text, got {type(value).__name__}"
    if not value.strip():
        return "empty"
    if value != value.strip():
        return "has leading or trailing spaces"
    if len(value) > MAX_VALUE_LENGTH:
        return f"longer than {MAX_VALUE_LENGTH} characters"
    return None


@dataclass(frozen=True)
class Lookups:
    """An immutable snapshot of every lookup: what the flows' mapping code is handed.

    `versions` (lookup name → version) tells a cache whether the database has moved on since.
    """

    by_name: Mapping[str, Lookup]

    @classmethod
    def of(cls, lookups: Iterable[Lookup]) -> Lookups:
        return cls({lookup.name: lookup for lookup in lookups})

    @classmethod
    def from_dict(cls, data: Mapping[str, Mapping[str, Any]]) -> Lookups:
        """Build in memory, e.g. in a test: `{"NAME": {"columns": [...], "keys": [...], "rows": [{...}]}}`.

        `keys` defaults to the first column; `description` and `version` are optional.
        """
        return cls.of(Lookup.build(name, spec["columns"], spec.get("rows", []), spec.get("keys"),
                                   spec.get("description", ""), spec.get("version", 0))
                      for name, spec in data.items())

    @property
    def versions(self) -> dict[str, int]:
        return {name: lookup.version for name, lookup in self.by_name.items()}

    def get(self, lookup: str) -> Lookup:
        found = self.by_name.get(lookup)
        if found is None:
            raise LookupMissing(lookup, "", "", "no such lookup", "lookup")
        return found

    def value(self, lookup: str, from_column: str, key: str, to_column: str) -> str:
        """The `to_column` value of the row of `lookup` whose `from_column` is `key`; LookupMissing if none."""
        return self.get(lookup).value(from_column, key, to_column)

    def find(self, lookup: str, from_column: str, key: str, to_column: str) -> str | None:
        """Like `value`, but None when no row has that key (a missing lookup or column still raises)."""
        found = self.get(lookup)
        if to_column not in found.columns:
            return found.value(from_column, key, to_column)  # raises, naming the unknown column
        row = found.find(from_column, key)
        return None if row is None else row[to_column]
