"""Enrollments migrated in bulk from a legacy program system, and the initial sync that tells DERMS of all of
them in one file, not one message per device.

The extract has one row per enrolled device: its customer, agreement, program, the day it was enrolled and the
device (`derbridge dataset generate` writes one, `enrolled_devices`). It is checked whole — every value, then
every reference (the customer's account, service point and agreement belong together, the program is ACTIVE,
no device is enrolled already) — and refused whole, naming columns and rows. Then it is written with a few
set-based statements: ACTIVE enrollments, their subscriptions, devices and device keys, and a history line
each. Ids are drawn as a block with an `L` prefix, so they never meet the random ids of enrollments made one
by one.

The initial sync writes every device of an import to one Parquet file, in the columns DERMS's bulk enrollment
sync takes, and sends it through the hub. DERMS answers with an ack file, one row per device, which sets each
device's head-end registration here with one statement.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from derbridge.clock import iso_utc, utcnow
from derbridge.dacs.enrollment.enrollment_sync import REGISTRATIONS
from derbridge.dacs.ids import new_id
from derbridge.dacs.schema import (
    accounts,
    active_device_keys,
    bulk_syncs,
    contacts,
    controllable_devices,
    enrollment_history,
    enrollments,
    legacy_imports,
    outbound_files,
    program_subscriptions,
    programs,
    service_agreements,
    service_points,
)
from derbridge.errors import NotFound
from derbridge.store.bulk import bulk_insert, select_to_parquet
from derbridge.store.db import reading
from derbridge.store.outbox import new_file_values
from derbridge.tables.check import read_checked
from derbridge.tables.read import ROW
from derbridge.tables.refusals import ROWS_NAMED, invalid, row_error
from derbridge.tables.spec import PARQUET_TYPE, FileColumn, FileFormat, FileSpec, sha256_of

ID = 30
EXTRACT = FileSpec("legacy extract", (
    FileColumn("cisPersonId", max_length=ID, required=True),
    FileColumn("cisAccountId", max_length=ID, required=True),
    FileColumn("cisServicePointId", max_length=ID, required=True),
    FileColumn("cisServiceAgreementId", max_length=ID, required=True),
    FileColumn("programCode", max_length=30, required=True),
    FileColumn("enrolledOn", "date", required=True),
    FileColumn("headEndSystem", max_length=50, required=True),
    FileColumn("nicId", max_length=100, required=True),
    FileColumn("specification", max_length=60, optional=True),
    FileColumn("assetType", max_length=30, optional=True),
    FileColumn("serialNo", max_length=60, optional=True),
), keys=(("headEndSystem", "nicId"),))
"""One row per enrolled device; no device twice."""
SYNC_PATH = "/hub/files/from-dacs/enrollmentSync"
ACK = FileSpec("enrollment sync ack", (
    FileColumn("deviceId", max_length=12, required=True),
    FileColumn("headEndRegistration", max_length=4, required=True, allowed=REGISTRATIONS),
    FileColumn("message", max_length=2000, optional=True),
), keys=(("deviceId",),))
"""DERMS's answer to an initial sync: each device's head-end registration."""
SENT, ACKED = "SENT", "ACKED"
LEGACY = "L"
"""The prefix of ids drawn for migrated rows."""

staging_metadata = sa.MetaData()
staged = sa.Table(
    "legacy_staging", staging_metadata,
    sa.Column("row", sa.Integer, primary_key=True),
    sa.Column("cis_person_id", sa.String(ID)), sa.Column("cis_account_id", sa.String(ID)),
    sa.Column("cis_service_point_id", sa.String(ID)), sa.Column("cis_service_agreement_id", sa.String(ID)),
    sa.Column("program_code", sa.String(30)), sa.Column("start_date", sa.Date),
    sa.Column("start_at", sa.DateTime(timezone=True)), sa.Column("head_end_system", sa.String(50)),
    sa.Column("nic_id", sa.String(100)), sa.Column("specification", sa.String(60)),
    sa.Column("asset_type", sa.String(30)), sa.Column("serial_no", sa.String(60)),
    sa.Column("enrollment_id", sa.String(12)), sa.Column("subscription_id", sa.String(14)),
    sa.Column("device_id", sa.String(12)),
    prefixes=["TEMPORARY"],
)
staged_acks = sa.Table(
    "legacy_ack_staging", staging_metadata,
    sa.Column("device_id", sa.String(12), primary_key=True), sa.Column("registration", sa.String(4)),
    sa.Column("message", sa.Text),
    prefixes=["TEMPORARY"],
)


# ---- the import -----------------------------------------------------------------------------------------------


def import_file(engine: Engine, path: Path, fmt: FileFormat, sha256: str, who: str) -> dict[str, Any]:
    """Check the extract whole and load it, all or nothing; what was imported, with its id."""
    started = time.perf_counter()
    frame = read_checked(EXTRACT, path, fmt)
    import_id, now = new_id(14), utcnow()
    with engine.begin() as connection:
        _stage(connection, staged, _with_ids(frame, _next_number(connection)))
        try:
            _refuse_bad_references(connection)
            _insert_enrollments(connection, import_id, now)
        finally:
            staged.drop(connection)
        seconds = round(time.perf_counter() - started, 3)
        connection.execute(sa.insert(legacy_imports).values(import_id=import_id, rows=frame.height, sha256=sha256,
                                                            imported_by=who, imported_at=now, seconds=seconds))
    return {"importId": import_id, "rows": frame.height, "seconds": seconds}


def _stage(connection: Connection, table: sa.Table, frame: pl.DataFrame) -> None:
    connection.execute(sa.text(f'DROP TABLE IF EXISTS "{table.name}"'))
    table.create(connection)
    bulk_insert(connection, table, frame)


def _next_number(connection: Connection) -> int:
    """One more than the highest id number drawn for migrated rows so far."""
    highest = connection.execute(sa.select(sa.func.max(enrollments.c.enrollment_id)).where(
        enrollments.c.enrollment_id.like(f"{LEGACY}%"))).scalar_one_or_none()
    return int(highest[1:]) + 1 if highest else 1


def _with_ids(frame: pl.DataFrame, first: int) -> pl.DataFrame:
    number = (pl.col(ROW) - 1 + first).cast(pl.String)
    return frame.select(
        pl.col(ROW).alias("row"), pl.col("cisPersonId").alias("cis_person_id"),
        pl.col("cisAccountId").alias("cis_account_id"), pl.col("cisServicePointId").alias("cis_service_point_id"),
        pl.col("cisServiceAgreementId").alias("cis_service_agreement_id"),
        pl.col("programCode").alias("program_code"), pl.col("enrolledOn").alias("start_date"),
        pl.col("enrolledOn").cast(pl.Datetime("us")).dt.replace_time_zone("UTC").alias("start_at"),
        pl.col("headEndSystem").alias("head_end_system"), pl.col("nicId").alias("nic_id"),
        pl.col("specification"), pl.col("assetType").alias("asset_type"), pl.col("serialNo").alias("serial_no"),
        (LEGACY + number.str.zfill(11)).alias("enrollment_id"),
        (LEGACY + number.str.zfill(13)).alias("subscription_id"),
        (LEGACY + number.str.zfill(11)).alias("device_id"))


def _refuse_bad_references(connection: Connection) -> None:
    """Every reference the extract makes, checked against the database at once; 422 naming rows otherwise."""
    s, key = staged, active_device_keys
    agreement = service_agreements.alias("agreement")
    account = accounts.alias("account")
    program = programs.alias("program")
    checks = [
        ("cisServiceAgreementId", "unknown_agreement",
         "the agreement is not known, or is not for that account and service point",
         sa.select(s.c.row).outerjoin(agreement, agreement.c.cis_service_agreement_id == s.c.cis_service_agreement_id)
         .where(sa.or_(agreement.c.cis_service_agreement_id.is_(None),
                       agreement.c.cis_account_id != s.c.cis_account_id,
                       agreement.c.cis_service_point_id != s.c.cis_service_point_id))),
        ("cisAccountId", "unknown_account", "the account is not known, or is not the person's",
         sa.select(s.c.row).outerjoin(account, account.c.cis_account_id == s.c.cis_account_id)
         .where(sa.or_(account.c.cis_account_id.is_(None), account.c.cis_person_id != s.c.cis_person_id))),
        ("programCode", "program_not_active", "the program is not known or not ACTIVE",
         sa.select(s.c.row).outerjoin(program, program.c.program_code == s.c.program_code)
         .where(sa.or_(program.c.program_code.is_(None), program.c.status != "ACTIVE"))),
        ("nicId", "device_enrolled", "the device is enrolled already",
         sa.select(s.c.row).join(key, sa.and_(key.c.head_end_system == s.c.head_end_system,
                                              key.c.nic_id == s.c.nic_id))),
    ]
    errors = []
    for field, kind, message, query in checks:
        count = connection.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
        if count:
            rows = list(connection.execute(query.order_by(s.c.row).limit(ROWS_NAMED)).scalars())
            errors.append(row_error(field, kind, message, count, rows))
    if errors:
        raise invalid(EXTRACT.name, errors)


def _insert_enrollments(connection: Connection, import_id: str, now: datetime) -> None:
    """Enrollments, subscriptions, devices, keys and history, each one INSERT … SELECT from the staged rows."""
    s, p = staged, programs
    point = service_points.alias("point")
    account = accounts.alias("account")
    joined = s.join(p, p.c.program_code == s.c.program_code).join(
        point, point.c.cis_service_point_id == s.c.cis_service_point_id).join(
        account, account.c.cis_account_id == s.c.cis_account_id)
    marker = json.dumps({"legacyImport": import_id})
    connection.execute(sa.insert(enrollments).from_select(
        ["enrollment_id", "enrollment_source", "status", "program_code", "program_id", "cis_person_id",
         "cis_account_id", "cis_premise_id", "cis_service_point_id", "cis_service_agreement_id", "division",
         "start_date", "installation_method", "asset_ownership", "subscription_id", "legacy_import_id", "request",
         "created_at", "updated_at"],
        sa.select(s.c.enrollment_id, sa.literal("X1BY"), sa.literal("ACTIVE"), s.c.program_code, p.c.program_id,
                  s.c.cis_person_id, s.c.cis_account_id, point.c.cis_premise_id, s.c.cis_service_point_id,
                  s.c.cis_service_agreement_id, account.c.division, s.c.start_date, sa.literal("X1SI"),
                  sa.literal("W1CO"), s.c.subscription_id, sa.literal(import_id), sa.literal(marker),
                  sa.literal(now, sa.DateTime(timezone=True)), sa.literal(now, sa.DateTime(timezone=True)))
        .select_from(joined)))
    connection.execute(sa.insert(program_subscriptions).from_select(
        ["subscription_id", "enrollment_id", "program_id", "program_code", "subscription_type", "status",
         "cis_person_id", "cis_account_id", "cis_service_agreement_id", "cis_service_point_id", "start_at",
         "updated_at"],
        sa.select(s.c.subscription_id, s.c.enrollment_id, p.c.program_id, s.c.program_code, p.c.program_type_code,
                  sa.literal("ACTIVE"), s.c.cis_person_id, s.c.cis_account_id, s.c.cis_service_agreement_id,
                  s.c.cis_service_point_id, s.c.start_at, sa.literal(now, sa.DateTime(timezone=True)))
        .select_from(s.join(p, p.c.program_code == s.c.program_code))))
    connection.execute(sa.insert(controllable_devices).from_select(
        ["device_id", "enrollment_id", "subscription_id", "status", "head_end_system", "nic_id", "specification",
         "device_type", "serial_no", "cis_service_point_id", "installed_at", "updated_at"],
        sa.select(s.c.device_id, s.c.enrollment_id, s.c.subscription_id, sa.literal("ACTIVE"), s.c.head_end_system,
                  s.c.nic_id, s.c.specification, s.c.asset_type, s.c.serial_no, s.c.cis_service_point_id,
                  s.c.start_at, sa.literal(now, sa.DateTime(timezone=True)))))
    connection.execute(sa.insert(active_device_keys).from_select(
        ["head_end_system", "nic_id", "device_id"], sa.select(s.c.head_end_system, s.c.nic_id, s.c.device_id)))
    connection.execute(sa.insert(enrollment_history).from_select(
        ["enrollment_id", "status", "note", "at"],
        sa.select(s.c.enrollment_id, sa.literal("ACTIVE"), sa.literal(f"migrated by legacy import {import_id}"),
                  sa.literal(now, sa.DateTime(timezone=True)))))


# ---- the initial sync -----------------------------------------------------------------------------------------


SYNC_SCHEMA: dict[str, Any] = {
    "subscriptionId": pl.String, "cisPersonId": pl.String, "contactId": pl.String, "cisAccountId": pl.String,
    "subscriptionType": pl.String, "status": pl.String, "programId": pl.String, "programCode": pl.String,
    "startDateTime": pl.Datetime("us", "UTC"), "endDateTime": pl.Datetime("us", "UTC"), "division": pl.String,
    "cisPremiseId": pl.String, "cisServicePointId": pl.String, "deviceId": pl.String, "nicId": pl.String,
    "headEndSystem": pl.String, "specification": pl.String, "deviceType": pl.String,
    "installDateTime": pl.Datetime("us", "UTC"), "deviceStatus": pl.String,
}


def start_sync(engine: Engine, import_id: str, files_dir: Path) -> dict[str, Any]:
    """Write every device of an import to one file and queue it to the hub; the bulk sync's id and size."""
    with reading(engine) as connection:
        if connection.execute(sa.select(legacy_imports.c.import_id).where(
                legacy_imports.c.import_id == import_id)).first() is None:
            raise NotFound("legacy import", import_id)
        bulk_sync_id = new_id(14)
        path = files_dir / "bulk-syncs" / f"enroll-sync-{bulk_sync_id}.parquet"
        devices = select_to_parquet(connection, _devices_of(import_id), SYNC_SCHEMA,
                                    lambda chunk: _sync_file(chunk, bulk_sync_id), path)
    sha256, now = sha256_of(path), utcnow()
    with engine.begin() as connection:
        connection.execute(sa.insert(bulk_syncs).values(
            bulk_sync_id=bulk_sync_id, import_id=import_id, status=SENT, devices=devices, file=str(path),
            sha256=sha256, created_at=now))
        connection.execute(sa.insert(outbound_files).values(
            message_key=f"enroll-sync:{bulk_sync_id}", kind="enroll-sync",
            **new_file_values(f"{SYNC_PATH}?{urlencode({'bulkSyncId': bulk_sync_id})}", path, sha256,
                              PARQUET_TYPE)))
    return {"bulkSyncId": bulk_sync_id, "importId": import_id, "devices": devices}


def _devices_of(import_id: str) -> sa.Select[Any]:
    first_contact = (sa.select(contacts.c.cis_person_id, sa.func.min(contacts.c.contact_id).label("contact_id"))
                     .group_by(contacts.c.cis_person_id).subquery())
    e, sub, d = enrollments, program_subscriptions, controllable_devices
    return (sa.select(sub.c.subscription_id, sub.c.cis_person_id, first_contact.c.contact_id, sub.c.cis_account_id,
                      sub.c.subscription_type, sub.c.status, sub.c.program_id, sub.c.program_code, sub.c.start_at,
                      sub.c.end_at, e.c.division, e.c.cis_premise_id, sub.c.cis_service_point_id, d.c.device_id,
                      d.c.nic_id, d.c.head_end_system, d.c.specification, d.c.device_type, d.c.installed_at, d.c.status)
            .select_from(e.join(sub, sub.c.enrollment_id == e.c.enrollment_id)
                         .join(d, d.c.subscription_id == sub.c.subscription_id)
                         .outerjoin(first_contact, first_contact.c.cis_person_id == sub.c.cis_person_id))
            .where(e.c.legacy_import_id == import_id))


def _sync_file(frame: pl.DataFrame, bulk_sync_id: str) -> pl.DataFrame:
    """The rows as DERMS's bulk enrollment sync takes them: text, date-times in ISO 8601 with their offset."""
    def iso(name: str) -> pl.Expr:
        return pl.col(name).dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")

    return frame.select(
        pl.lit(bulk_sync_id).alias("syncRequestId"), "subscriptionId", "cisPersonId", "contactId", "cisAccountId",
        "subscriptionType", "status", "programId", "programCode", iso("startDateTime"), iso("endDateTime"),
        "division", pl.col("cisServicePointId").alias("servicePointId"), "cisPremiseId", "cisServicePointId",
        "deviceId", "nicId", "headEndSystem", "specification", "deviceType", iso("installDateTime"),
        pl.when(pl.col("deviceStatus") == "ACTIVE").then(pl.lit("true")).otherwise(pl.lit("false")).alias("isActive"))


def apply_ack_file(engine: Engine, bulk_sync_id: str, path: Path, fmt: FileFormat) -> dict[str, Any]:
    """Set each device's head-end registration from DERMS's ack file, once per bulk sync."""
    with reading(engine) as connection:
        job = connection.execute(sa.select(bulk_syncs).where(bulk_syncs.c.bulk_sync_id == bulk_sync_id)).first()
    if job is None:
        raise NotFound("bulk sync", bulk_sync_id)
    if job.status == ACKED:
        return {"bulkSyncId": bulk_sync_id, "result": "already applied"}
    frame = read_checked(ACK, path, fmt)
    counts = dict(frame.group_by("headEndRegistration").len().iter_rows())
    now = utcnow()
    with engine.begin() as connection:
        _stage(connection, staged_acks, frame.select(pl.col("deviceId").alias("device_id"),
                                                      pl.col("headEndRegistration").alias("registration"),
                                                      pl.col("message")))
        d, a = controllable_devices, staged_acks
        connection.execute(sa.update(d).where(d.c.device_id == a.c.device_id).values(
            head_end_registration=a.c.registration, registration_message=a.c.message,
            registration_updated_at=job.created_at, updated_at=now))
        staged_acks.drop(connection)
        connection.execute(sa.update(bulk_syncs).where(bulk_syncs.c.bulk_sync_id == bulk_sync_id).values(
            status=ACKED, acked_at=now, registered=counts.get("D1RE", 0), deregistered=counts.get("D1DR", 0),
            not_registered=counts.get("D1NR", 0)))
    return {"bulkSyncId": bulk_sync_id, "result": "applied", "devices": frame.height,
            "registrations": counts}


def imports(engine: Engine) -> list[dict[str, Any]]:
    """Every legacy import, newest first."""
    query = sa.select(legacy_imports).order_by(legacy_imports.c.imported_at.desc())
    with reading(engine) as connection:
        return [{"importId": row.import_id, "rows": row.rows, "sha256": row.sha256, "importedBy": row.imported_by,
                 "importedAt": iso_utc(row.imported_at), "seconds": row.seconds} for row in connection.execute(query)]


def bulk_sync_status(engine: Engine, bulk_sync_id: str | None = None) -> list[dict[str, Any]]:
    query = sa.select(bulk_syncs).order_by(bulk_syncs.c.created_at.desc())
    if bulk_sync_id:
        query = query.where(bulk_syncs.c.bulk_sync_id == bulk_sync_id)
    with reading(engine) as connection:
        return [{"bulkSyncId": row.bulk_sync_id, "importId": row.import_id, "status": row.status,
                 "devices": row.devices, "registered": row.registered, "deregistered": row.deregistered,
                 "notRegistered": row.not_registered, "createdAt": iso_utc(row.created_at),
                 "ackedAt": iso_utc(row.acked_at)} for row in connection.execute(query)]
