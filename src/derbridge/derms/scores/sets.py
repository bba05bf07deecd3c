"""Score sets: each score file taken becomes a set, loaded in chunks under its own id, then switched to.

A file is checked whole when it arrives (files.py) and answered once checked: refused (nothing applied) or
taken. Its rows are copied into `score_set_rows` meanwhile, by a thread of its own, a chunk at a time (COPY on
PostgreSQL), each chunk in its own transaction, under the new set's id, which no reader looks at: the set in
force is the one `score_set_in_force` names. A refused file's rows are deleted before the refusal is answered.
Once the check has passed and every row is in, one short transaction points at the new set and marks the old
one REPLACED; then the old rows are deleted. States: CHECKING (being checked and loaded) → LOADING (checked,
still loading) → IN_FORCE → REPLACED, or SUPERSEDED (a set computed before the one in force: never switched
to), FAILED. After a restart the loader (runner.py) starts a LOADING set again from its first row and discards
a CHECKING one (its sender had no answer, and sends the file again); the previous set stays in force
throughout. A file whose name DERMS has taken is a DUPLICATE (the same checksum) or refused (409, another
checksum).
"""

from __future__ import annotations

import shutil
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from derbridge.clock import as_utc, iso_z, utcnow
from derbridge.derms.scores import files
from derbridge.derms.scores.schema import score_set_in_force, score_set_rows, score_sets
from derbridge.errors import Conflict
from derbridge.store.bulk import bulk_insert, select_frame
from derbridge.store.db import reading
from derbridge.tables.spec import sniffed_format

log = structlog.get_logger()
CHECKING, RECEIVED, LOADING, IN_FORCE, REPLACED, SUPERSEDED, FAILED = (
    "CHECKING", "RECEIVED", "LOADING", "IN_FORCE", "REPLACED", "SUPERSEDED", "FAILED")
_ACTIVE: set[str] = set()
"""Sets a thread of this process is loading."""
_ACTIVE_LOCK = threading.Lock()
SLOT = 1
SCORES_SCHEMA = {"head_end_system": pl.String, "nic_id": pl.String, "device_id": pl.String,
                 "subscription_id": pl.String, "program_code": pl.String, "score": pl.Float64,
                 "eligible": pl.Boolean, "reason": pl.String}


def parse_computed_at(text: str) -> datetime:
    return datetime.strptime(f"{text[:19]}+0000", "%Y-%m-%dT%H:%M:%S%z").astimezone(UTC)


def accept(engine: Engine, files_dir: Path, upload: Path, file_name: str, computed_at: str, file_sha256: str,
           run_id: str | None = None, rows: int | None = None) -> tuple[bool, dict[str, Any]]:
    """Check the uploaded file whole and make it a new set, loading it meanwhile: (True, the set), or (False,
    the set taken before) for a repeated file. Conflict for a name already taken with another checksum;
    FileRefused for a bad file, whose rows are deleted before the refusal is answered (the upload is left for
    the caller to keep)."""
    discard_unchecked(engine)  # a file cut short while checked is taken afresh
    existing = _by_name(engine, file_name)
    if existing is not None and existing["state"] == FAILED:  # its load failed: the same file sent again is retried
        discard(engine, existing["setId"])
        existing = None
    if existing is not None:
        _same_file(existing, file_sha256)
        upload.unlink(missing_ok=True)
        return False, existing
    fmt = sniffed_format(upload)
    set_id = f"{file_name[len('SDCSE_V1_'):-len('.csv')]}-{uuid.uuid4().hex[:8]}"
    kept = files_dir / "score-sets" / f"{set_id}.{fmt}"
    kept.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(upload, kept)
    with _ACTIVE_LOCK:  # before the record exists: no other request may take it for a leftover
        _ACTIVE.add(set_id)
    try:
        with engine.begin() as connection:
            connection.execute(sa.insert(score_sets).values(
                set_id=set_id, file_name=file_name, file_sha256=file_sha256,
                computed_at=parse_computed_at(computed_at), run_id=run_id, state=CHECKING, file=str(kept),
                file_format=fmt, rows=0, rows_loaded=0, received_at=utcnow()))
    except IntegrityError:  # the same file, taken by a request that raced this one
        _release(set_id)
        kept.unlink(missing_ok=True)
        raced = _by_name(engine, file_name) or {}
        _same_file(raced, file_sha256)
        return False, raced
    verdict = _Verdict()
    loader = threading.Thread(target=_load_then_switch, args=(engine, set_id, kept, fmt, verdict),
                              name=f"score-set-{set_id}", daemon=True)
    loader.start()
    try:
        counted = files.check_file(kept, fmt, computed_at, rows)
        _set(engine, set_id, state=LOADING, rows=counted)
    except BaseException:
        verdict.give(False)
        loader.join()
        try:
            shutil.move(kept, upload)
            discard(engine, set_id)
        finally:
            _release(set_id)  # only now: a set released while its record stood would be discarded as a leftover
        raise
    verdict.give(True)
    return True, find(engine, set_id) or {}


class _Verdict:
    """The check's verdict on a file whose rows are loading meanwhile."""

    def __init__(self) -> None:
        self._given = threading.Event()
        self.taken = False

    def give(self, taken: bool) -> None:
        self.taken = taken
        self._given.set()

    @property
    def refused(self) -> bool:
        return self._given.is_set() and not self.taken

    def wait(self) -> bool:
        self._given.wait()
        return self.taken


def _load_then_switch(engine: Engine, set_id: str, path: Path, fmt: str, verdict: _Verdict) -> None:
    """Load the file's rows under the set's id while it is checked; once every row is in and the check has
    passed, switch to it. A refused file stops the load (its rows are deleted by the caller)."""
    try:
        eligible = _load_rows(engine, set_id, path, fmt, lambda: verdict.refused)
        if eligible is None or not verdict.wait():
            return
        switch(engine, set_id, eligible)
        path.unlink(missing_ok=True)
        drop_replaced(engine)
    except Exception as exc:
        if not verdict.refused:  # a refused file may not even read: the refusal says why
            log.exception("score_set.failed", set_id=set_id)
            if verdict.wait():
                fail(engine, set_id, f"{type(exc).__name__}: {exc}")
    finally:
        if verdict.taken:  # a refused set is released by the request that refused it, once its record is gone
            _release(set_id)


def _release(set_id: str) -> None:
    with _ACTIVE_LOCK:
        _ACTIVE.discard(set_id)


def _load_rows(engine: Engine, set_id: str, path: Path, fmt: str, stop: Callable[[], bool]) -> int | None:
    """The file's rows into score_set_rows under `set_id`, a chunk per transaction; the eligible count, or None
    when `stop` said to stop."""
    loaded = eligible = 0
    for chunk in files.typed_chunks(path, fmt):  # type: ignore[arg-type]
        if stop():
            return None
        with engine.begin() as connection:
            bulk_insert(connection, score_set_rows, chunk.with_columns(set_id=pl.lit(set_id)))
            loaded, eligible = loaded + chunk.height, eligible + int(chunk["eligible"].sum())
            connection.execute(sa.update(score_sets).where(score_sets.c.set_id == set_id).values(rows_loaded=loaded))
    return eligible


def discard_unchecked(engine: Engine) -> list[str]:
    """Discard the sets a stopped process was still checking (their sender had no answer and sends the file
    again); the sets this process is loading. The sets being checked are read before the ones this process holds:
    a request holds its set before it records it, so one recorded in between is seen held; one that moved on
    meanwhile is no longer CHECKING and is left alone."""
    with reading(engine) as connection:
        checking = connection.execute(sa.select(score_sets.c.set_id, score_sets.c.file)
                                      .where(score_sets.c.state == CHECKING)).all()
    with _ACTIVE_LOCK:
        active = list(_ACTIVE)
    for row in checking:
        if row.set_id not in active and discard(engine, row.set_id, only_in=CHECKING):
            Path(row.file).unlink(missing_ok=True)
    return active


def discard(engine: Engine, set_id: str, only_in: str | None = None) -> bool:
    """A set that never was: its record and its rows (only while it is in the state `only_in`, when given);
    whether it went."""
    s = score_sets
    which = s.c.set_id == set_id if only_in is None else sa.and_(s.c.set_id == set_id, s.c.state == only_in)
    with engine.begin() as connection:
        gone = connection.execute(sa.delete(s).where(which)).rowcount
        if gone:
            connection.execute(sa.delete(score_set_rows).where(score_set_rows.c.set_id == set_id))
    return bool(gone)


def _same_file(existing: dict[str, Any], file_sha256: str) -> None:
    if existing.get("fileSha256") != file_sha256:
        raise Conflict(f"score file {existing.get('fileName')} was taken with SHA-256 {existing.get('fileSha256')};"
                       f" this one has {file_sha256}: a corrected file needs a name of its own")


# ---- loading and the switch ------------------------------------------------------------------------------------

def load(engine: Engine, set_id: str) -> str:
    """Load a checked set's file chunk by chunk from the first row (a load cut short by a restart), then switch
    to it unless a later set is in force; the state it ends in."""
    with reading(engine) as connection:
        found = connection.execute(sa.select(score_sets).where(score_sets.c.set_id == set_id)).one()
    _set(engine, set_id, state=LOADING, rows_loaded=0)
    with engine.begin() as connection:
        connection.execute(sa.delete(score_set_rows).where(score_set_rows.c.set_id == set_id))
    eligible = _load_rows(engine, set_id, Path(found.file), found.file_format, lambda: False) or 0
    state = switch(engine, set_id, eligible)
    Path(found.file).unlink(missing_ok=True)
    drop_replaced(engine)
    return state


def switch(engine: Engine, set_id: str, eligible: int) -> str:
    """In one short transaction: the loaded set in force (IN_FORCE, the previous one REPLACED), or SUPERSEDED
    when the set in force was computed later."""
    now = utcnow()
    with engine.begin() as connection:
        mine = connection.execute(sa.select(score_sets.c.computed_at).where(score_sets.c.set_id == set_id)).scalar_one()
        current = connection.execute(
            sa.select(score_sets.c.set_id, score_sets.c.computed_at)
            .join(score_set_in_force, score_set_in_force.c.set_id == score_sets.c.set_id)
            .with_for_update()).first()
        if current is not None and as_utc(current.computed_at) >= as_utc(mine):
            connection.execute(sa.update(score_sets).where(score_sets.c.set_id == set_id).values(
                state=SUPERSEDED, eligible=eligible, loaded_at=now, replaced_at=now))
            return SUPERSEDED
        if current is None:
            connection.execute(sa.insert(score_set_in_force).values(slot=SLOT, set_id=set_id, switched_at=now))
        else:
            connection.execute(sa.update(score_set_in_force).values(set_id=set_id, switched_at=now))
            connection.execute(sa.update(score_sets).where(score_sets.c.set_id == current.set_id)
                               .values(state=REPLACED, replaced_at=now))
        connection.execute(sa.update(score_sets).where(score_sets.c.set_id == set_id).values(
            state=IN_FORCE, eligible=eligible, loaded_at=now, in_force_at=now))
    log.debug("score_set.in_force", set_id=set_id)
    return IN_FORCE


def drop_replaced(engine: Engine) -> None:
    """Delete the rows of sets no longer in force (their records stay)."""
    with engine.begin() as connection:
        gone = sa.select(score_sets.c.set_id).where(score_sets.c.state.in_([REPLACED, SUPERSEDED, FAILED]))
        connection.execute(sa.delete(score_set_rows).where(score_set_rows.c.set_id.in_(gone)))


def fail(engine: Engine, set_id: str, error: str) -> None:
    _set(engine, set_id, state=FAILED, error=error[:2000])
    drop_replaced(engine)


def to_load(engine: Engine) -> str | None:
    """The oldest checked set whose load was cut short (no thread of this process is loading it). A set cut
    short while it was still being checked is discarded: its sender had no answer and sends it again."""
    active = discard_unchecked(engine)
    with reading(engine) as connection:
        return connection.execute(
            sa.select(score_sets.c.set_id).where(score_sets.c.state.in_([RECEIVED, LOADING]),
                                                 score_sets.c.set_id.not_in(active))
            .order_by(score_sets.c.computed_at).limit(1)).scalar()


def _set(engine: Engine, set_id: str, **values: Any) -> None:
    with engine.begin() as connection:
        connection.execute(sa.update(score_sets).where(score_sets.c.set_id == set_id).values(**values))


# ---- reading -------------------------------------------------------------------------------------------------------

def in_force_id(connection: Connection) -> str | None:
    return connection.execute(sa.select(score_set_in_force.c.set_id).where(score_set_in_force.c.slot == SLOT)
                              ).scalar()


def current_scores(connection: Connection) -> pl.DataFrame:
    """The rows of the set in force (SCORES_SCHEMA), read in one statement: a switch is seen whole or not at all;
    empty while DERMS holds none."""
    r = score_set_rows
    in_force = sa.select(score_set_in_force.c.set_id).where(score_set_in_force.c.slot == SLOT).scalar_subquery()
    columns = [r.c[name] for name in SCORES_SCHEMA if name != "eligible"]
    flag = sa.case((r.c.eligible.is_(True), 1), else_=0).label("eligible")  # 0 or 1, the same on every database
    query = sa.select(*columns, flag).where(r.c.set_id == in_force)
    read = select_frame(connection, query, {**{c.name: SCORES_SCHEMA[c.name] for c in columns}, "eligible": pl.Int8})
    return read.with_columns(pl.col("eligible").cast(pl.Boolean)).select(list(SCORES_SCHEMA))


def device_score(connection: Connection, head_end_system: str, nic_id: str) -> list[dict[str, Any]]:
    """The device's rows in the set in force (one per subscription), with the set they come from."""
    r, s = score_set_rows, score_sets
    rows = connection.execute(
        sa.select(r, s.c.file_name, s.c.computed_at)
        .join(score_set_in_force, score_set_in_force.c.set_id == r.c.set_id)
        .join(s, s.c.set_id == r.c.set_id)
        .where(r.c.head_end_system == head_end_system, r.c.nic_id == nic_id)
        .order_by(r.c.subscription_id)).all()
    return [{"headEndSystem": row.head_end_system, "nicId": row.nic_id, "deviceId": row.device_id,
             "subscriptionId": row.subscription_id, "programCode": row.program_code, "score": row.score,
             "eligible": bool(row.eligible), "reason": row.reason, "components": row.components,
             "setId": row.set_id, "fileName": row.file_name, "computedAt": iso_z(as_utc(row.computed_at))}
            for row in rows]


def describe(row: Any, in_force: str | None = None) -> dict[str, Any]:
    return {"setId": row.set_id, "fileName": row.file_name, "fileSha256": row.file_sha256,
            "computedAt": iso_z(as_utc(row.computed_at)), "runId": row.run_id, "state": row.state,
            "inForce": row.set_id == in_force, "format": row.file_format, "rows": row.rows,
            "rowsLoaded": row.rows_loaded, "eligible": row.eligible,
            "ineligible": None if row.eligible is None else row.rows - row.eligible, "error": row.error,
            "receivedAt": iso_z(row.received_at), "loadedAt": iso_z(row.loaded_at),
            "inForceAt": iso_z(row.in_force_at), "replacedAt": iso_z(row.replaced_at)}


def list_all(engine: Engine, limit: int = 100) -> list[dict[str, Any]]:
    """Score sets, the latest computed first."""
    with reading(engine) as connection:
        in_force = in_force_id(connection)
        rows = connection.execute(sa.select(score_sets).order_by(score_sets.c.computed_at.desc()).limit(limit))
        return [describe(row, in_force) for row in rows]


def find(engine: Engine, set_id: str) -> dict[str, Any] | None:
    with reading(engine) as connection:
        if set_id == "current":
            set_id = in_force_id(connection) or ""
        row = connection.execute(sa.select(score_sets).where(score_sets.c.set_id == set_id)).first()
        return describe(row, in_force_id(connection)) if row is not None else None


def _by_name(engine: Engine, file_name: str) -> dict[str, Any] | None:
    with reading(engine) as connection:
        row = connection.execute(sa.select(score_sets).where(score_sets.c.file_name == file_name)).first()
        return describe(row, in_force_id(connection)) if row is not None else None
