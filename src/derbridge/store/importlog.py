"""The record of bulk file imports: every file applied (what, how many rows, its checksum, when, who) and
every file refused, kept on disk with the reasons, so an operator can see what was loaded and fix what was not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from derbridge.clock import iso_utc
from derbridge.store.db import reading


def file_imports_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "file_imports",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("table_name", sa.String(40), nullable=False, index=True),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("inserted", sa.Integer, nullable=False),
        sa.Column("updated", sa.Integer, nullable=False),
        sa.Column("unchanged", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("bytes", sa.BigInteger, nullable=False),
        sa.Column("file_format", sa.String(10), nullable=False),
        sa.Column("seconds", sa.Float, nullable=False),
        sa.Column("imported_by", sa.String(40), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
    )


def rejected_uploads_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "rejected_uploads",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("path", sa.String(300), nullable=False),
        sa.Column("file", sa.String(500), nullable=False),  # where the refused file is kept
        sa.Column("bytes", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("status", sa.Integer, nullable=False),  # the HTTP status it was answered with
        sa.Column("errors", sa.Text, nullable=False),
        sa.Column("received_by", sa.String(40), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )


@dataclass(frozen=True)
class ImportRecord:
    table_name: str
    rows: int
    inserted: int
    updated: int
    unchanged: int
    sha256: str
    bytes: int
    file_format: str
    seconds: float
    imported_by: str
    imported_at: datetime


def record_import(connection: Connection, table: sa.Table, record: ImportRecord) -> int:
    """Write the record in the caller's transaction: it exists exactly when the rows were applied."""
    return _new_id(connection.execute(sa.insert(table).values(**record.__dict__)))


def record_rejected_upload(engine: Engine, table: sa.Table, **values: Any) -> int:
    values["errors"] = json.dumps(values["errors"])
    with engine.begin() as connection:
        return _new_id(connection.execute(sa.insert(table).values(**values)))


def _new_id(result: sa.CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def recent_imports(engine: Engine, table: sa.Table, table_name: str | None = None,
                   limit: int = 100) -> list[dict[str, Any]]:
    query = sa.select(table).order_by(table.c.id.desc()).limit(limit)
    if table_name is not None:
        query = query.where(table.c.table_name == table_name)
    with reading(engine) as connection:
        return [describe_import(row) for row in connection.execute(query)]


def last_import_per_table(engine: Engine, table: sa.Table) -> dict[str, dict[str, Any]]:
    latest = sa.select(sa.func.max(table.c.id)).group_by(table.c.table_name)
    with reading(engine) as connection:
        rows = connection.execute(sa.select(table).where(table.c.id.in_(latest)))
        return {row.table_name: describe_import(row) for row in rows}


def recent_rejected_uploads(engine: Engine, table: sa.Table, limit: int = 100) -> list[dict[str, Any]]:
    with reading(engine) as connection:
        rows = connection.execute(sa.select(table).order_by(table.c.id.desc()).limit(limit))
        return [{"id": row.id, "path": row.path, "file": row.file, "bytes": row.bytes, "sha256": row.sha256,
                 "contentType": row.content_type, "status": row.status, "errors": json.loads(row.errors),
                 "receivedBy": row.received_by, "receivedAt": iso_utc(row.received_at)} for row in rows]


def describe_import(row: Any) -> dict[str, Any]:
    return {"id": row.id, "table": row.table_name, "rows": row.rows, "inserted": row.inserted,
            "updated": row.updated, "unchanged": row.unchanged, "sha256": row.sha256, "bytes": row.bytes,
            "format": row.file_format, "seconds": row.seconds, "importedBy": row.imported_by,
            "importedAt": iso_utc(row.imported_at)}

