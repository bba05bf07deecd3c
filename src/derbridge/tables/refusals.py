"""How a refused table file is answered, whichever check refused it: errors.FileRefused, one error per column
and kind of problem, each with its count and the first rows it was found in.

An error is `{field, type, message, count, rows, values?}`: `rows` are the first ROWS_NAMED, counted from 1
without the header; `values`, where the values themselves help (a repeated key, an unknown reference), the
first VALUES_NAMED. A file that cannot be read at all is a 400; one whose columns or values are wrong a 422.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from derbridge.errors import FileRefused

ROWS_NAMED = 20
"""Per problem, the rows an error names; it counts them all."""
VALUES_NAMED = 5


def row_error(field: str, kind: str, message: str, count: int, rows: Sequence[int],
              values: Sequence[str] = ()) -> dict[str, Any]:
    """One problem found in `count` rows, naming the first of them (and of their values, if given)."""
    plural = "row" if count == 1 else "rows"
    error: dict[str, Any] = {"field": field, "type": kind, "message": f"{message} ({count} {plural})",
                             "count": count, "rows": list(rows[:ROWS_NAMED])}
    if values:
        error["values"] = list(values[:VALUES_NAMED])
    return error


@dataclass
class _Tally:
    column: str
    type: str
    message: str
    count: int = 0
    rows: list[int] = field(default_factory=list)
    values: list[str] = field(default_factory=list)


class Problems:
    """Problems by column and kind, gathered over a file's chunks: a count, the first rows, the first values."""

    def __init__(self) -> None:
        self._tallies: dict[tuple[str, str], _Tally] = {}

    def add(self, field: str, kind: str, message: str, count: int, rows: Sequence[int],
            values: Sequence[str] = ()) -> None:
        tally = self._tallies.setdefault((field, kind), _Tally(field, kind, message))
        tally.count += count
        tally.rows.extend(rows[: ROWS_NAMED - len(tally.rows)])
        for value in values:
            if len(tally.values) < VALUES_NAMED and value not in tally.values:
                tally.values.append(value)

    def __bool__(self) -> bool:
        return bool(self._tallies)

    def as_list(self) -> list[dict[str, Any]]:
        return [row_error(tally.column, tally.type, tally.message, tally.count, tally.rows, tally.values)
                for tally in self._tallies.values()]


def invalid(name: str, errors: list[dict[str, Any]]) -> FileRefused:
    """The 422 refusing file `name` for `errors` (column errors or row errors)."""
    columns = ", ".join(dict.fromkeys(error["field"] for error in errors))
    return FileRefused(422, "Invalid file", f"{name}: problems in {columns}; nothing was applied", errors)


def unreadable(fmt: str, exc: Exception) -> FileRefused:
    """The 400 for a file that is not a readable file of its format, with the reader's first line of why."""
    reason = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
    return FileRefused(400, "Unreadable file", f"not a readable {fmt.upper()} file: {reason}",
                       [{"field": "body", "type": "unreadable_file", "message": reason}])

