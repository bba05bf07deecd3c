"""Lookups in the hub's database: every edit versioned and audited, and a snapshot the running hub keeps fresh.

Every write takes the same path: lock the lookup's row, compute its new rows in pure code (`hub/lookups.py`),
and, if anything changed, write the difference, one audit row per changed row, and version + 1 — all in one
transaction, so an edit is applied whole or not at all. A refused edit is audited too, with the request as it
came and the reasons.

Several hub processes may share one PostgreSQL database. Each keeps a `LiveLookups` snapshot and asks the
database for every lookup's version at most once per `check_interval_s`; a write in the same process
invalidates the snapshot at once.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from derbridge.clock import as_utc, utcnow
from derbridge.errors import Conflict
from derbridge.hub.lookups import Change, InvalidLookup, Lookup, LookupMissing, LookupProblem, Lookups, changes
from derbridge.hub.schema import lookup_audit, lookup_rows, lookups
from derbridge.store.db import reading

MAX_KEPT_REQUEST_CHARS = 1_000_000


@dataclass(frozen=True)
class Actor:
    """Who made a change: the authenticated caller, and the person they name (X-Derbridge-Actor), if any."""

    principal: str
    person: str | None = None


SEEDER = Actor("derbridge", "seed")


class LookupExists(Conflict):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"lookup {name!r} already exists")


@dataclass(frozen=True)
class Edit:
    """A lookup after an edit, and what the edit changed (empty: nothing did, and nothing was written)."""

    lookup: Lookup
    changes: list[Change]
    created: bool = False


@dataclass(frozen=True)
class Incoming:
    """A lookup as an import file gives it: rows always; columns, keys and description when it says them."""

    name: str
    rows: list[Any]
    columns: tuple[str, ...] | None = None
    keys: tuple[str, ...] | None = None
    description: str | None = None


# ---- reading ----------------------------------------------------------------------------------------------

def load_all(engine: Engine) -> Lookups:
    with reading(engine) as connection:
        heads = connection.execute(sa.select(lookups).order_by(lookups.c.name)).all()
        cells: dict[str, list[str]] = {}
        for row in connection.execute(sa.select(lookup_rows.c.lookup, lookup_rows.c.cells).order_by(lookup_rows.c.id)):
            cells.setdefault(row.lookup, []).append(row.cells)
    return Lookups.of(_lookup_of(head, cells.get(head.name, [])) for head in heads)


def load(engine: Engine, name: str) -> Lookup | None:
    with reading(engine) as connection:
        return _read(connection, name)


def versions(engine: Engine) -> dict[str, int]:
    """Every lookup's version: the one small query that tells a running hub whether to reload."""
    with reading(engine) as connection:
        return {str(name): int(version) for name, version in connection.execute(sa.select(lookups.c.name,
                                                                                          lookups.c.version))}


def history(engine: Engine, lookup: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """Audit entries, newest first, optionally of one lookup."""
    query = sa.select(lookup_audit).order_by(lookup_audit.c.id.desc()).limit(limit)
    if lookup:
        query = query.where(lookup_audit.c.lookup == lookup)
    with reading(engine) as connection:
        return [_audit_entry(row) for row in connection.execute(query)]


# ---- writing ----------------------------------------------------------------------------------------------

def create(engine: Engine, lookup: Lookup, actor: Actor, note: str | None = None) -> Edit:
    """Create a new lookup with its rows; LookupExists if the name is taken."""
    try:
        with engine.begin() as connection:
            if _read(connection, lookup.name, lock=True) is not None:
                raise LookupExists(lookup.name)
            return _create(connection, lookup, actor, note)
    except IntegrityError as exc:  # created at the same moment by another process (PostgreSQL)
        raise LookupExists(lookup.name) from exc


def put_row(engine: Engine, name: str, match_column: str, match_value: str, values: dict[str, Any],
            actor: Actor) -> Edit:
    """Add the row found by `match_column` = `match_value`, or replace the values given in it."""
    return _edit(engine, name, lambda before: before.upserted(match_column, match_value, values), actor, None)


def delete_row(engine: Engine, name: str, match_column: str, match_value: str, actor: Actor) -> Edit:
    return _edit(engine, name, lambda before: before.without(match_column, match_value), actor, None)


def import_lookups(engine: Engine, incoming: Sequence[Incoming], replace_rows: bool, actor: Actor,
                   field_prefix: Callable[[str], str] = lambda name: f"lookups.{name}.") -> list[Edit]:
    """Merge (or, with `replace_rows`, replace) each lookup's rows, creating lookups that do not exist.

    Everything is checked before anything is written: one bad row anywhere refuses the whole import,
    with every problem named (prefixed by `field_prefix(lookup name)`).
    """
    note = "import (replace)" if replace_rows else "import (merge)"
    names = [item.name for item in incoming]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise InvalidLookup([LookupProblem(field_prefix(name).rstrip("."), "appears more than once") for name in twice])
    with engine.begin() as connection:
        plans: list[tuple[Lookup | None, Lookup]] = []
        problems: list[LookupProblem] = []
        for item in incoming:
            before = _read(connection, item.name, lock=True)
            try:
                plans.append((before, _imported(before, item, replace_rows)))
            except InvalidLookup as exc:
                prefix = field_prefix(item.name)
                problems += [replace(problem, field=prefix + problem.field) for problem in exc.problems]
        if problems:
            raise InvalidLookup(problems)
        return [_create(connection, after, actor, note) if before is None
                else _apply(connection, before, after, actor, note) for before, after in plans]


def record_refusal(engine: Engine, name: str, request: str, problems: list[LookupProblem], actor: Actor,
                   what: str) -> None:
    """Keep a refused edit in the audit trail: the request as it came and every reason."""
    reasons = json.dumps([p.as_error() for p in problems])
    with engine.begin() as connection:
        version = connection.execute(sa.select(lookups.c.version).where(lookups.c.name == name)).scalar()
        _audit(connection, actor, "refuse", name, None, None, None, version,
               f"{what} refused: {reasons}", request=request[:MAX_KEPT_REQUEST_CHARS])


def seed(engine: Engine, seeds: Iterable[Lookup]) -> list[str]:
    """Create each seeded lookup that does not exist; to one that does, add only seeded rows it never had.

    A row counts as "had" if its key appears anywhere in the lookup's audit trail, so a row an operator
    changed or deleted is never put back, and no existing row is ever overwritten. Returns what it touched.
    """
    touched = []
    for lookup in seeds:
        try:
            with engine.begin() as connection:
                before = _read(connection, lookup.name, lock=True)
                if before is None:
                    _create(connection, lookup, SEEDER, "seed")
                    touched.append(lookup.name)
                elif _add_new_seed_rows(connection, before, lookup):
                    touched.append(lookup.name)
        except IntegrityError:  # another hub process seeded it at the same moment
            continue
    return touched


def _add_new_seed_rows(connection: Connection, before: Lookup, seeded: Lookup) -> bool:
    if (before.columns, before.keys) != (seeded.columns, seeded.keys):
        return False  # the definition moved on; the operator owns it now
    had = set(connection.execute(sa.select(lookup_audit.c.row_key).distinct()
                                 .where(lookup_audit.c.lookup == before.name)).scalars())
    after = before
    for row in seeded.records():
        if seeded.row_key(row) not in had:
            try:
                after = after.merged([row])
            except InvalidLookup:
                continue  # clashes with an operator's value in another key column: the operator wins
    if after == before:
        return False
    _apply(connection, before, after, SEEDER, "seed")
    return True


def _imported(before: Lookup | None, item: Incoming, replace_rows: bool) -> Lookup:
    if before is None:
        if item.columns is None:
            raise InvalidLookup([LookupProblem("columns", "a new lookup needs its columns")])
        return Lookup.build(item.name, item.columns, item.rows, item.keys, item.description or "")
    problems = []
    if item.columns is not None and set(item.columns) != set(before.columns):
        problems.append(LookupProblem("columns", f"{', '.join(item.columns)} differ from the lookup's columns "
                                           f"{', '.join(before.columns)}"))
    if item.keys is not None and tuple(item.keys) != before.keys:
        problems.append(LookupProblem("keys", f"{', '.join(item.keys)} differ from the lookup's key columns "
                                        f"{', '.join(before.keys)}"))
    if problems:
        raise InvalidLookup(problems)
    return before.replaced(item.rows) if replace_rows else before.merged(item.rows)


def _edit(engine: Engine, name: str, compute: Callable[[Lookup], Lookup], actor: Actor, note: str | None) -> Edit:
    with engine.begin() as connection:
        before = _read(connection, name, lock=True)
        if before is None:
            raise LookupMissing(name, "", "", "no such lookup", "lookup")
        return _apply(connection, before, compute(before), actor, note)


def _create(connection: Connection, lookup: Lookup, actor: Actor, note: str | None) -> Edit:
    created = replace(lookup, version=1)
    connection.execute(sa.insert(lookups).values(
        name=created.name, description=created.description, column_names=json.dumps(created.columns),
        key_columns=json.dumps(created.keys), version=created.version, updated_at=utcnow()))
    definition = {"columns": list(created.columns), "keys": list(created.keys), "description": created.description}
    _audit(connection, actor, "create", created.name, None, None, definition, created.version, note)
    empty = replace(created, rows=())
    found = changes(empty, created)
    _write_rows(connection, created, found)
    _audit_changes(connection, actor, created, found, note)
    return Edit(created, found, created=True)


def _apply(connection: Connection, before: Lookup, after: Lookup, actor: Actor, note: str | None) -> Edit:
    found = changes(before, after)
    if not found:
        return Edit(before, [])
    after = replace(after, version=before.version + 1)
    connection.execute(sa.update(lookups).where(lookups.c.name == before.name)
                       .values(version=after.version, updated_at=utcnow()))
    _write_rows(connection, after, found)
    _audit_changes(connection, actor, after, found, note)
    return Edit(after, found)


def _write_rows(connection: Connection, lookup: Lookup, found: list[Change]) -> None:
    this_lookup = lookup_rows.c.lookup == lookup.name
    for change in found:  # deletions come first, so a re-added key never meets its old row
        if change.action == "delete":
            connection.execute(sa.delete(lookup_rows).where(this_lookup, lookup_rows.c.row_key == change.row_key))
        elif change.action == "replace":
            connection.execute(sa.update(lookup_rows).where(this_lookup, lookup_rows.c.row_key == change.row_key)
                               .values(cells=json.dumps(change.new)))
    added = [{"lookup": lookup.name, "row_key": c.row_key, "cells": json.dumps(c.new)}
             for c in found if c.action == "add"]
    if added:
        connection.execute(sa.insert(lookup_rows), added)


def _audit_changes(connection: Connection, actor: Actor, lookup: Lookup, found: list[Change],
                   note: str | None) -> None:
    for change in found:
        _audit(connection, actor, change.action, lookup.name, change.row_key, change.old, change.new,
               lookup.version, note)


def _audit(connection: Connection, actor: Actor, action: str, lookup: str, row_key: str | None, old: Any,
           new: Any, version: int | None, note: str | None, request: str | None = None) -> None:
    connection.execute(sa.insert(lookup_audit).values(
        at=utcnow(), principal=actor.principal, person=actor.person, action=action, lookup=lookup,
        row_key=row_key, old_value=None if old is None else json.dumps(old),
        new_value=request if request is not None else (None if new is None else json.dumps(new)),
        version=version, note=note))


def _read(connection: Connection, name: str, lock: bool = False) -> Lookup | None:
    """The lookup as stored; with `lock`, its row stays locked until the transaction ends (PostgreSQL; SQLite
    transactions here begin IMMEDIATE, which locks the whole database)."""
    query = sa.select(lookups).where(lookups.c.name == name)
    head = connection.execute(query.with_for_update() if lock else query).one_or_none()
    if head is None:
        return None
    cells = connection.execute(sa.select(lookup_rows.c.cells).where(lookup_rows.c.lookup == name)
                               .order_by(lookup_rows.c.id)).scalars().all()
    return _lookup_of(head, list(cells))


def _lookup_of(head: Any, cells: list[str]) -> Lookup:
    columns = tuple(json.loads(head.column_names))
    rows = tuple(tuple(json.loads(text)[column] for column in columns) for text in cells)
    return Lookup(head.name, columns, tuple(json.loads(head.key_columns)), rows, head.description, int(head.version))


def _audit_entry(row: Any) -> dict[str, Any]:
    refused = row.action == "refuse"
    at = as_utc(row.at)
    return {
        "id": row.id, "at": at.isoformat() if at else None, "principal": row.principal, "person": row.person,
        "action": row.action, "lookup": row.lookup, "rowKey": row.row_key,
        "old": _json(row.old_value), "new": row.new_value if refused else _json(row.new_value),
        "version": row.version, "note": row.note,
    }


def _json(text: str | None) -> Any:
    return json.loads(text) if text else None


# ---- the running hub's view -------------------------------------------------------------------------------

@dataclass
class LiveLookups:
    """The lookups a running hub maps with: a snapshot, reloaded when any lookup's version changed.

    `snapshot()` checks the versions at most once per `check_interval_s` (one small query), so edits made
    through another hub process show within about that long; `invalidate()` (called after every write
    through this process) makes the next `snapshot()` reload at once.
    """

    engine: Engine
    check_interval_s: float = 1.0
    clock: Callable[[], float] = time.monotonic
    _current: Lookups | None = field(default=None, init=False)
    _checked_at: float = field(default=float("-inf"), init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def snapshot(self) -> Lookups:
        with self._lock:
            now = self.clock()
            if self._current is None or now - self._checked_at >= self.check_interval_s:
                if self._current is None or versions(self.engine) != self._current.versions:
                    self._current = load_all(self.engine)
                self._checked_at = now
            return self._current

    def invalidate(self) -> None:
        with self._lock:
            self._current = None
