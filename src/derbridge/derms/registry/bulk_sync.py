"""Bulk initial sync: devices already enrolled in the program system, sent to DERMS at once as one file.

The file (Parquet or CSV, one row per device with its subscription) is checked whole when it arrives: its
columns, every value's type and length, and that a device, a deviceId and a subscription's fields are each
given once and alike. A bad file is refused (422 naming the column and rows) and nothing is applied.
A good one becomes a job, answered at once; a background runner applies it chunk by chunk, each chunk in its
own transaction, through the same registry steps as an enrollment sync (derms/registry/records.py). Rows whose
customer the CIS does not know are refused row by row. The registration worker registers the devices with
their head ends; once it has taken every device that was due when the job was applied, it writes the ack
file (deviceId, headEndRegistration, message per row) and queues it for the hub.

Memory stays bounded by the chunk size, except the file-wide checks, which keep a few narrow columns per row.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlencode

import polars as pl
import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from derbridge.derms.registry import records as registry
from derbridge.derms.schema import bulk_sync_rows, bulk_syncs, devices, outbound_files
from derbridge.errors import FileRefused
from derbridge.runtime.worker import Worker
from derbridge.store.bulk import bulk_insert
from derbridge.store.db import reading, utcnow
from derbridge.store.outbox import new_file_values
from derbridge.tables.read import ROW as FILE_ROW
from derbridge.tables.read import file_chunks, file_schema
from derbridge.tables.spec import PARQUET_TYPE, FileFormat, sha256_of

log = structlog.get_logger()

ACK_PATH = "/hub/files/from-derms/enrollSyncAck"
CHUNK_ROWS = 100_000
ROWS_NAMED = 10
"""Per problem, the rows an error names (it counts them all)."""
RECEIVED, APPLYING, REGISTERING, DONE, FAILED = "RECEIVED", "APPLYING", "REGISTERING", "DONE", "FAILED"
Kind = Literal["text", "datetime", "boolean", "number", "status"]


@dataclass(frozen=True)
class FileColumn:
    name: str
    kind: Kind = "text"
    length: int = 0
    """Most characters of a text value (0: no limit)."""
    required: bool = False
    """Every row must give a value."""
    optional: bool = False
    """The file may leave the column out."""


COLUMNS: tuple[FileColumn, ...] = (
    FileColumn("syncRequestId", length=14, required=True),
    FileColumn("subscriptionId", length=14, required=True),
    FileColumn("cisPersonId", length=30),
    FileColumn("contactId", length=30),
    FileColumn("cisAccountId", length=30, required=True),
    FileColumn("subscriptionType", length=30),
    FileColumn("status", "status", required=True),
    FileColumn("programId", length=12),
    FileColumn("programCode", length=30, required=True),
    FileColumn("startDateTime", "datetime", required=True),
    FileColumn("endDateTime", "datetime"),
    FileColumn("division", length=30),
    FileColumn("servicePointId", length=30),
    FileColumn("cisPremiseId", length=30),
    FileColumn("cisServicePointId", length=30),
    FileColumn("deviceId", length=12, required=True),
    FileColumn("nicId", length=100, required=True),
    FileColumn("headEndSystem", length=50, required=True),
    FileColumn("specification", length=60),
    FileColumn("deviceType", length=30),
    FileColumn("installDateTime", "datetime"),
    FileColumn("isActive", "boolean", required=True),
    FileColumn("removalDateTime", "datetime", optional=True),
    FileColumn("nameplateKw", "number", optional=True),
    FileColumn("nameplateKwh", "number", optional=True),
    FileColumn("networkAddress", length=100, optional=True),
)
SUBSCRIPTION_COLUMNS = ("syncRequestId", "cisPersonId", "contactId", "cisAccountId", "subscriptionType", "status",
                        "programId", "programCode", "startDateTime", "endDateTime", "division", "servicePointId",
                        "cisPremiseId", "cisServicePointId")
"""What a subscription's rows must give alike (the person, account, program and location of one subscription)."""
ROW = "row"
TRUE_WORDS, FALSE_WORDS = ("true", "1", "y", "yes"), ("false", "0", "n", "no")


# ---- reading and typing --------------------------------------------------------------------------------------------

def file_format(path: Path) -> FileFormat:
    with open(path, "rb") as file:
        return "parquet" if file.read(4) == b"PAR1" else "csv"


def _raw_chunks(path: Path, fmt: FileFormat) -> Iterator[pl.DataFrame]:
    """The file's columns we know, raw as written, a chunk at a time (CHUNK_ROWS of Parquet, a block of CSV),
    each row numbered from 1 (the header not counted)."""
    present = [column.name for column in COLUMNS if column.name in file_schema(path, fmt)]
    for chunk in file_chunks(path, fmt, CHUNK_ROWS):
        yield chunk.select(pl.col(FILE_ROW).alias(ROW), *present)


def _text(raw: pl.Expr) -> pl.Expr:
    text = raw.cast(pl.String).str.strip_chars()
    return pl.when(text == "").then(None).otherwise(text)


def _typed(column: FileColumn, dtype: pl.DataType) -> pl.Expr:
    """The column's values in their own type; a value that does not read as one becomes null."""
    raw = pl.col(column.name)
    if column.kind == "datetime":
        if isinstance(dtype, pl.Datetime):
            return (raw.dt.replace_time_zone("UTC") if dtype.time_zone is None
                    else raw.dt.convert_time_zone("UTC")).dt.cast_time_unit("us")
        text = _text(raw)
        return pl.coalesce(text.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%#z", time_zone="UTC", strict=False),
                           text.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f", strict=False).dt.replace_time_zone("UTC"))
    if column.kind == "boolean":
        if dtype == pl.Boolean:
            return raw
        word = _text(raw).str.to_lowercase()
        return pl.when(word.is_in(TRUE_WORDS)).then(True).when(word.is_in(FALSE_WORDS)).then(False)
    if column.kind == "number":
        return raw.cast(pl.Float64, strict=False)
    return _text(raw)


def _typed_frame(chunk: pl.DataFrame) -> pl.DataFrame:
    schema = chunk.schema
    return chunk.select(ROW, *(_typed(column, schema[column.name]).alias(column.name) if column.name in schema
                               else pl.lit(None, _dtype(column)).alias(column.name) for column in COLUMNS))


def _dtype(column: FileColumn) -> pl.DataType:
    return {"datetime": pl.Datetime("us", "UTC"), "boolean": pl.Boolean(), "number": pl.Float64()}.get(
        column.kind, pl.String())


# ---- checking the whole file ---------------------------------------------------------------------------------------

@dataclass
class _Problem:
    field: str
    type: str
    message: str
    count: int = 0
    rows: list[int] | None = None

    def add(self, rows: pl.Series) -> None:
        self.count += rows.len()
        named = self.rows if self.rows is not None else []
        named.extend(rows.head(ROWS_NAMED - len(named)).to_list())
        self.rows = named

    def as_error(self) -> dict[str, Any]:
        rows = ", ".join(str(row) for row in self.rows or [])
        more = f" and {self.count - len(self.rows or [])} more" if self.count > len(self.rows or []) else ""
        plural = "row" if self.count == 1 else "rows"
        return {"field": self.field, "type": self.type, "message": f"{self.message}: {plural} {rows}{more}",
                "rows": self.rows, "count": self.count}


def _value_checks(chunk: pl.DataFrame) -> list[tuple[str, str, str, pl.Expr]]:
    """(column, type, message, failing-row expression) for every check of one value."""
    checks = []
    for column in COLUMNS:
        if column.name not in chunk.columns:
            continue
        raw, typed = pl.col(column.name), _typed(column, chunk.schema[column.name])
        given = _text(raw).is_not_null() if chunk.schema[column.name] == pl.String else raw.is_not_null()
        if column.required:
            checks.append((column.name, "missing", "has no value", ~given))
        if column.kind in ("datetime", "boolean", "number"):
            what = {"datetime": "an ISO 8601 date-time", "boolean": "true or false", "number": "a number"}
            checks.append((column.name, f"not_a_{column.kind}", f"is not {what[column.kind]}",
                           given & typed.is_null()))
        if column.kind == "number":
            checks.append((column.name, "negative", "is below zero", typed < 0))
        if column.kind == "status":
            checks.append((column.name, "not_allowed", "is not ACTIVE or INACTIVE",
                           given & ~typed.is_in(["ACTIVE", "INACTIVE"])))
        if column.length:
            checks.append((column.name, "too_long", f"is longer than {column.length} characters",
                           typed.str.len_chars() > column.length))
    return checks


def check_file(path: Path, fmt: FileFormat) -> int:
    """Every problem the file shows on its own; returns its row count, or raises FileRefused naming them."""
    present = file_schema(path, fmt)
    missing = [column.name for column in COLUMNS if not column.optional and column.name not in present]
    if missing:
        raise FileRefused(422, "Invalid file", f"missing columns: {', '.join(missing)}",
                          [{"field": name, "type": "missing_column", "message": "the file has no such column"}
                           for name in missing])
    problems: dict[tuple[str, str], _Problem] = {}
    devices_seen: list[pl.DataFrame] = []
    subscriptions_seen: list[pl.DataFrame] = []
    rows = 0
    for chunk in _raw_chunks(path, fmt):
        rows += chunk.height
        for name, kind, message, failing in _value_checks(chunk):
            bad = chunk.filter(failing.fill_null(False))[ROW]
            if bad.len():
                problems.setdefault((name, kind), _Problem(name, kind, message)).add(bad)
        typed = _typed_frame(chunk)
        devices_seen.append(typed.select(ROW, "headEndSystem", "nicId", "deviceId"))
        subscriptions_seen.append(typed.select(ROW, "subscriptionId",
                                               same=pl.struct(SUBSCRIPTION_COLUMNS).hash(7)))
    if rows == 0:
        raise FileRefused(422, "Invalid file", "the file has no rows", [{"field": "body", "type": "empty_file",
                                                                     "message": "the file has no rows"}])
    for problem in _file_wide_problems(pl.concat(devices_seen), pl.concat(subscriptions_seen)):
        problems[(problem.field, problem.type)] = problem
    if problems:
        errors = [problem.as_error() for problem in problems.values()]
        names = ", ".join(dict.fromkeys(error["field"] for error in errors))
        raise FileRefused(422, "Invalid file", f"bad columns: {names}", errors)
    return rows


def _file_wide_problems(seen_devices: pl.DataFrame, seen_subscriptions: pl.DataFrame) -> list[_Problem]:
    found = []
    keyed = seen_devices.filter(pl.col("headEndSystem").is_not_null() & pl.col("nicId").is_not_null())
    twice = keyed.filter(pl.struct("headEndSystem", "nicId").is_duplicated())[ROW]
    if twice.len():
        problem = _Problem("nicId", "duplicate", "gives a device (headEndSystem, nicId) given in another row")
        problem.add(twice.sort())
        found.append(problem)
    ids = seen_devices.filter(pl.col("deviceId").is_not_null())
    twice = ids.filter(pl.col("deviceId").is_duplicated())[ROW]
    if twice.len():
        problem = _Problem("deviceId", "duplicate", "gives a deviceId given in another row")
        problem.add(twice.sort())
        found.append(problem)
    subscriptions = seen_subscriptions.filter(pl.col("subscriptionId").is_not_null())
    differing = subscriptions.filter(pl.col("same").n_unique().over("subscriptionId") > 1)[ROW]
    if differing.len():
        problem = _Problem("subscriptionId", "inconsistent",
                           f"gives a subscription whose other rows differ in {', '.join(SUBSCRIPTION_COLUMNS)}")
        problem.add(differing.sort())
        found.append(problem)
    return found


# ---- jobs ----------------------------------------------------------------------------------------------------------

def describe(row: Any) -> dict[str, Any]:
    return {"bulkSyncId": row.bulk_sync_id, "state": row.state, "format": row.file_format, "rows": row.rows,
            "rowsApplied": row.rows_applied, "rowsRefused": row.rows_refused,
            "registered": row.registered, "deregistered": row.deregistered, "notRegistered": row.not_registered,
            "ackFile": row.ack_file, "error": row.error, "receivedAt": registry.iso(row.received_at),
            "updatedAt": registry.iso(row.updated_at), "finishedAt": registry.iso(row.finished_at)}


def find(engine: Engine, bulk_sync_id: str) -> dict[str, Any] | None:
    with reading(engine) as connection:
        row = connection.execute(sa.select(bulk_syncs).where(bulk_syncs.c.bulk_sync_id == bulk_sync_id)).first()
    return describe(row) if row is not None else None


def list_all(engine: Engine, limit: int = 100) -> list[dict[str, Any]]:
    with reading(engine) as connection:
        rows = connection.execute(sa.select(bulk_syncs).order_by(bulk_syncs.c.received_at.desc()).limit(limit))
        return [describe(row) for row in rows]


def accept(engine: Engine, files_dir: Path, bulk_sync_id: str, upload: Path, sha256: str
           ) -> tuple[bool, dict[str, Any]]:
    """Check the uploaded file and make it a job; (False, the job) when the bulk sync id is already taken.
    Raises FileRefused for a bad file (the upload is left for the caller to keep or delete)."""
    existing = find(engine, bulk_sync_id)
    if existing is not None:
        upload.unlink(missing_ok=True)
        return False, existing
    fmt = file_format(upload)
    rows = check_file(upload, fmt)
    kept = files_dir / "bulk-syncs" / f"{bulk_sync_id}-{upload.stem}.{fmt}"  # two racing uploads never collide
    kept.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(upload, kept)
    now = utcnow()
    try:
        with engine.begin() as connection:
            connection.execute(sa.insert(bulk_syncs).values(
                bulk_sync_id=bulk_sync_id, state=RECEIVED, file=str(kept), file_format=fmt, sha256=sha256,
                rows=rows, rows_applied=0, rows_refused=0, received_at=now, updated_at=now))
    except IntegrityError:  # the same bulk sync, taken by a request that raced this one
        kept.unlink(missing_ok=True)
        return False, find(engine, bulk_sync_id) or {}
    return True, find(engine, bulk_sync_id) or {}


def _set_state(engine: Engine, bulk_sync_id: str, state: str, **values: Any) -> None:
    with engine.begin() as connection:
        connection.execute(sa.update(bulk_syncs).where(bulk_syncs.c.bulk_sync_id == bulk_sync_id)
                           .values(state=state, updated_at=utcnow(), **values))


# ---- applying ------------------------------------------------------------------------------------------------------

def apply_job(engine: Engine, bulk_sync_id: str) -> None:
    """Apply the job's file chunk by chunk (from the start again after a restart: the steps are idempotent)."""
    with reading(engine) as connection:
        job = connection.execute(sa.select(bulk_syncs).where(bulk_syncs.c.bulk_sync_id == bulk_sync_id)).one()
    _set_state(engine, bulk_sync_id, APPLYING, rows_applied=0, rows_refused=0)
    with engine.begin() as connection:
        connection.execute(sa.delete(bulk_sync_rows).where(bulk_sync_rows.c.bulk_sync_id == bulk_sync_id))
    applied = refused = 0
    for chunk in _raw_chunks(Path(job.file), job.file_format):
        now = utcnow()
        with engine.begin() as connection:
            taken, turned_away = apply_chunk(connection, bulk_sync_id, _typed_frame(chunk), now)
            applied, refused = applied + taken, refused + turned_away
            connection.execute(sa.update(bulk_syncs).where(bulk_syncs.c.bulk_sync_id == bulk_sync_id)
                               .values(rows_applied=applied, rows_refused=refused, updated_at=now))
    _set_state(engine, bulk_sync_id, REGISTERING, registering_at=utcnow())


def apply_chunk(connection: Connection, bulk_sync_id: str, chunk: pl.DataFrame, now: datetime) -> tuple[int, int]:
    """Stage the chunk's subscriptions, refuse those of unknown customers, record the rows (with the reason
    for refused ones) and upsert the rest; returns (rows applied, rows refused)."""
    subscriptions = chunk.unique("subscriptionId", keep="first", maintain_order=True).select(
        message_id="syncRequestId", subscription_id="subscriptionId", subscription_type="subscriptionType",
        status="status", program_id="programId", program_code="programCode", cis_person_id="cisPersonId",
        contact_id="contactId", cis_account_id="cisAccountId", division="division",
        service_point_id="servicePointId", cis_premise_id="cisPremiseId",
        cis_service_point_id="cisServicePointId", start_at="startDateTime", end_at="endDateTime")
    with registry.temporary(connection, registry.staged_subscriptions):
        bulk_insert(connection, registry.staged_subscriptions, subscriptions)
        refusals = registry.take_refused(connection)
        reasons = pl.DataFrame({"subscription_id": [refusal.subscription_id for refusal in refusals],
                                "refused": [refusal.reason() for refusal in refusals]},
                               schema={"subscription_id": pl.String, "refused": pl.String})
        rows = chunk.select(
            bulk_sync_id=pl.lit(bulk_sync_id), row_no=ROW, message_id="syncRequestId",
            subscription_id="subscriptionId", head_end_system="headEndSystem", nic_id="nicId",
            device_id="deviceId", specification="specification", device_type="deviceType", active="isActive",
            installed_at="installDateTime", removed_at="removalDateTime", nameplate_kw="nameplateKw",
            nameplate_kwh="nameplateKwh", network_address="networkAddress",
        ).join(reasons, on="subscription_id", how="left")
        bulk_insert(connection, bulk_sync_rows, rows)
        in_chunk = _rows_of(bulk_sync_id, int(chunk[ROW].min()), int(chunk[ROW].max()))  # type: ignore[arg-type]
        r = bulk_sync_rows
        registry.upsert_subscriptions(connection, now)
        registry.upsert_devices(connection, sa.select(
            r.c.head_end_system, r.c.nic_id, *(r.c[name] for name in registry.DEVICE_FIELDS), r.c.message_id
        ).where(in_chunk, r.c.refused.is_(None)), now)
        registry.refresh_registrations(connection)
        connection.execute(sa.update(r).where(
            in_chunk, r.c.refused.is_(None), devices.c.head_end_system == r.c.head_end_system,
            devices.c.nic_id == r.c.nic_id, devices.c.last_message_id != r.c.message_id,
        ).values(newer_message_id=devices.c.last_message_id))
    refused = rows.filter(pl.col("refused").is_not_null()).height
    return rows.height - refused, refused


def _rows_of(bulk_sync_id: str, first: int, last: int) -> sa.ColumnElement[bool]:
    return sa.and_(bulk_sync_rows.c.bulk_sync_id == bulk_sync_id, bulk_sync_rows.c.row_no.between(first, last))


class BulkSyncRunner(Worker):
    """Applies received jobs one at a time in a thread of its own; resumes unfinished ones after a restart."""

    def __init__(self, engine: Engine, on_applied: Callable[[], None], poll_s: float = 1.0) -> None:
        super().__init__("bulk-syncs", poll_s)
        self.engine = engine
        self.on_applied = on_applied

    def round(self) -> float:
        bulk_sync_id = self._next()
        if bulk_sync_id is None:
            return self.poll_s
        self.run(bulk_sync_id)
        return 0.0

    def _next(self) -> str | None:
        try:
            with reading(self.engine) as connection:
                return connection.execute(
                    sa.select(bulk_syncs.c.bulk_sync_id).where(bulk_syncs.c.state.in_([RECEIVED, APPLYING]))
                    .order_by(bulk_syncs.c.received_at).limit(1)).scalar()
        except Exception:  # the database is away for a moment: try again at the next poll
            log.exception("bulk_sync.poll_error")
            return None

    def run(self, bulk_sync_id: str) -> None:
        log.info("bulk_sync.applying", bulk_sync_id=bulk_sync_id)
        try:
            apply_job(self.engine, bulk_sync_id)
        except Exception as exc:
            log.exception("bulk_sync.failed", bulk_sync_id=bulk_sync_id)
            _set_state(self.engine, bulk_sync_id, FAILED, error=f"{type(exc).__name__}: {exc}"[:2000])
            return
        log.info("bulk_sync.applied", bulk_sync_id=bulk_sync_id)
        self.on_applied()


# ---- the ack file --------------------------------------------------------------------------------------------------

def finish_registered(engine: Engine, files_dir: Path, drained_since: datetime) -> int:
    """Write and queue the ack file of every job that was registering before `drained_since`: the worker has
    since taken every device that was due (a round found fewer than it could take), so each of the job's
    devices has had its registration settled."""
    with reading(engine) as connection:
        ready = connection.execute(sa.select(bulk_syncs.c.bulk_sync_id).where(
            bulk_syncs.c.state == REGISTERING, bulk_syncs.c.registering_at < drained_since,
        ).order_by(bulk_syncs.c.received_at)).scalars().all()
    for bulk_sync_id in ready:
        _queue_ack_file(engine, files_dir, bulk_sync_id)
    return len(ready)


def ack_frame(connection: Connection, bulk_sync_id: str) -> pl.DataFrame:
    """One row per file row, in file order: deviceId, headEndRegistration, message."""
    r = bulk_sync_rows
    query = (sa.select(r.c.device_id, r.c.refused, r.c.newer_message_id, devices.c.registration_status,
                       devices.c.registration_message)
             .select_from(r.outerjoin(devices, sa.and_(devices.c.head_end_system == r.c.head_end_system,
                                                       devices.c.nic_id == r.c.nic_id)))
             .where(r.c.bulk_sync_id == bulk_sync_id).order_by(r.c.row_no))
    schema = {"deviceId": pl.String, "refused": pl.String, "newer": pl.String, "status": pl.String,
              "message": pl.String}
    parts = [pl.DataFrame(rows, schema=schema, orient="row")
             for rows in connection.execute(query.execution_options(yield_per=CHUNK_ROWS)).partitions()]
    frame = pl.concat(parts) if parts else pl.DataFrame(schema=schema)
    newer = pl.format("not applied: DERMS holds a newer state of this device (from sync {})", pl.col("newer"))
    return frame.select(
        "deviceId",
        headEndRegistration=pl.when(pl.col("refused").is_not_null()).then(pl.lit("D1NR"))
        .otherwise(pl.col("status").replace_strict(registry.HEAD_END_CODES, default="D1NR")),
        message=pl.when(pl.col("refused").is_not_null())
        .then(pl.format("not registered: the row was refused ({})", pl.col("refused")))
        .otherwise(pl.concat_str([pl.col("message"), newer], separator="; ", ignore_nulls=True)),
    )


def _queue_ack_file(engine: Engine, files_dir: Path, bulk_sync_id: str) -> None:
    with reading(engine) as connection:
        frame = ack_frame(connection, bulk_sync_id)
        job = connection.execute(sa.select(bulk_syncs).where(bulk_syncs.c.bulk_sync_id == bulk_sync_id)).one()
    path = files_dir / "acks" / f"enroll-sync-ack-{bulk_sync_id}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(path)
    counts = dict(frame.group_by("headEndRegistration").len().iter_rows())
    summary = {"bulkSyncId": bulk_sync_id, "rows": frame.height, "registered": counts.get("D1RE", 0),
               "deregistered": counts.get("D1DR", 0), "notRegistered": counts.get("D1NR", 0),
               "refused": job.rows_refused}
    now = utcnow()
    with engine.begin() as connection:
        connection.execute(sa.insert(outbound_files).values(
            message_key=f"enroll-sync-ack:{bulk_sync_id}", kind="enroll-sync-ack",
            **new_file_values(f"{ACK_PATH}?{urlencode(summary)}", path, sha256_of(path), PARQUET_TYPE)))
        connection.execute(sa.update(bulk_syncs).where(bulk_syncs.c.bulk_sync_id == bulk_sync_id).values(
            state=DONE, registered=summary["registered"], deregistered=summary["deregistered"],
            not_registered=summary["notRegistered"], ack_file=str(path), updated_at=now, finished_at=now))
        connection.execute(sa.delete(bulk_sync_rows).where(bulk_sync_rows.c.bulk_sync_id == bulk_sync_id))
    Path(job.file).unlink(missing_ok=True)
    log.info("bulk_sync.acknowledged", bulk_sync_id=bulk_sync_id, **{k: v for k, v in summary.items()
                                                                      if k != "bulkSyncId"})
