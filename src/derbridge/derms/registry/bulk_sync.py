"""Bulk initial sync: devices already enrolled in the program system, sent to DERMS at once as one file.

The file (Parquet or CSV, one row per device with its subscription) is checked whole when it arrives, by the
table-file toolkit (tables/check.py): its columns, every value's type and length, and that a device and a
deviceId are each given once and a subscription's rows alike. A bad file is refused (422 naming the column
and rows) and nothing is applied.
A good one becomes a job, answered at once; a background runner applies it chunk by chunk, each chunk in its
own transaction, through the same registry steps as an enrollment sync (derms/registry/records.py). Rows whose
customer the CIS does not know are refused row by row. The registration worker registers the devices with
their head ends; once it has taken every device that was due when the job was applied, it writes the ack
file (deviceId, headEndRegistration, message per row) and queues it for the hub.

Memory stays bounded by the chunk size, except the file-wide checks, which keep a few hashes per row.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import polars as pl
import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from derbridge.clock import iso_z, utcnow
from derbridge.derms.registry import records as registry
from derbridge.derms.schema import bulk_sync_rows, bulk_syncs, devices, outbound_files
from derbridge.errors import FileRefused
from derbridge.runtime.worker import Worker
from derbridge.store.bulk import bulk_insert
from derbridge.store.db import reading
from derbridge.store.outbox import new_file_values
from derbridge.tables import check
from derbridge.tables.read import ROW, file_chunks, file_schema
from derbridge.tables.spec import (
    PARQUET_TYPE,
    Agreement,
    FileColumn,
    FileFormat,
    FileSpec,
    sha256_of,
    sniffed_format,
)

log = structlog.get_logger()

ACK_PATH = "/hub/files/from-derms/enrollSyncAck"
CHUNK_ROWS = 100_000
RECEIVED, APPLYING, REGISTERING, DONE, FAILED = "RECEIVED", "APPLYING", "REGISTERING", "DONE", "FAILED"
SUBSCRIPTION_COLUMNS = ("syncRequestId", "cisPersonId", "contactId", "cisAccountId", "subscriptionType", "status",
                        "programId", "programCode", "startDateTime", "endDateTime", "division", "servicePointId",
                        "cisPremiseId", "cisServicePointId")
"""What a subscription's rows must give alike (the person, account, program and location of one subscription)."""
SYNC_FILE = FileSpec("bulk sync", (
    FileColumn("syncRequestId", max_length=14, required=True),
    FileColumn("subscriptionId", max_length=14, required=True),
    FileColumn("cisPersonId", max_length=30),
    FileColumn("contactId", max_length=30),
    FileColumn("cisAccountId", max_length=30, required=True),
    FileColumn("subscriptionType", max_length=30),
    FileColumn("status", required=True, allowed=("ACTIVE", "INACTIVE")),
    FileColumn("programId", max_length=12),
    FileColumn("programCode", max_length=30, required=True),
    FileColumn("startDateTime", "datetime", required=True),
    FileColumn("endDateTime", "datetime"),
    FileColumn("division", max_length=30),
    FileColumn("servicePointId", max_length=30),
    FileColumn("cisPremiseId", max_length=30),
    FileColumn("cisServicePointId", max_length=30),
    FileColumn("deviceId", max_length=12, required=True),
    FileColumn("nicId", max_length=100, required=True),
    FileColumn("headEndSystem", max_length=50, required=True),
    FileColumn("specification", max_length=60),
    FileColumn("deviceType", max_length=30),
    FileColumn("installDateTime", "datetime"),
    FileColumn("isActive", "boolean", required=True),
    FileColumn("removalDateTime", "datetime", optional=True),
    FileColumn("nameplateKw", "number", optional=True, min_value=0),
    FileColumn("nameplateKwh", "number", optional=True, min_value=0),
    FileColumn("networkAddress", max_length=100, optional=True),
), keys=(("headEndSystem", "nicId"), ("deviceId",)),
    agreements=(Agreement("subscriptionId", SUBSCRIPTION_COLUMNS, "subscription"),))
"""One row per device with its subscription: a device and a deviceId once, a subscription's rows alike."""


def check_file(path: Path, fmt: FileFormat) -> int:
    """Every problem the file shows on its own (and it has rows); returns its row count, or raises FileRefused
    naming them."""
    rows = check.check_file(SYNC_FILE, path, fmt)
    if rows == 0:
        raise FileRefused(422, "Invalid file", "the file has no rows", [{"field": "body", "type": "empty_file",
                                                                     "message": "the file has no rows"}])
    return rows


def _typed_chunks(path: Path, fmt: FileFormat) -> Iterator[pl.DataFrame]:
    """The file's rows, CHUNK_ROWS at a time, each column read as its kind."""
    schema = file_schema(path, fmt)
    for chunk in file_chunks(path, fmt, CHUNK_ROWS):
        yield check.typed_chunk(SYNC_FILE, schema, chunk)


# ---- jobs ----------------------------------------------------------------------------------------------------------

def describe(row: Any) -> dict[str, Any]:
    return {"bulkSyncId": row.bulk_sync_id, "state": row.state, "format": row.file_format, "rows": row.rows,
            "rowsApplied": row.rows_applied, "rowsRefused": row.rows_refused,
            "registered": row.registered, "deregistered": row.deregistered, "notRegistered": row.not_registered,
            "ackFile": row.ack_file, "error": row.error, "receivedAt": iso_z(row.received_at),
            "updatedAt": iso_z(row.updated_at), "finishedAt": iso_z(row.finished_at)}


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
    fmt = sniffed_format(upload)
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
    for chunk in _typed_chunks(Path(job.file), job.file_format):
        now = utcnow()
        with engine.begin() as connection:
            taken, turned_away = apply_chunk(connection, bulk_sync_id, chunk, now)
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
