"""Bulk table files over HTTP: `PUT {prefix}/{table}` with the file as the body, and what was loaded.

Both reference systems take their CIS extract this way. The body is streamed to disk (web/uploads.py), then
checked and applied by tables/load.py (loaded on first use: it brings polars, which no system needs at
start-up). A refused file is kept under the data directory and recorded in rejected_uploads with the
reasons, and the answer says where; an applied file is deleted, its import record keeps the checksum.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine

from derbridge.clock import utcnow
from derbridge.errors import FileRefused, NotFound
from derbridge.store.db import reading
from derbridge.store.importlog import (
    ImportRecord,
    last_import_per_table,
    recent_imports,
    recent_rejected_uploads,
    record_rejected_upload,
)
from derbridge.tables.spec import CONTENT_TYPES, FileFormat, TableSpec, file_format, media_type
from derbridge.web.problems import Problem, problem_response
from derbridge.web.uploads import Upload, checksum_problem, receive_file


@dataclass(frozen=True)
class TableUploads:
    """One system's importable tables and where their imports are recorded and refused files kept."""

    system: str
    tables: dict[str, TableSpec]
    """In import order: parents first."""
    imports: sa.Table
    rejected: sa.Table
    engine_of: Callable[[], Engine]
    directory: Path
    """incoming/ holds files while they arrive and are applied; rejected/ keeps refused ones."""
    max_bytes: int


def table_upload_router(uploads: TableUploads, prefix: str) -> APIRouter:
    router = APIRouter(prefix=prefix, tags=["CIS import"])

    @router.get("", summary="Each table: its rows and its last import, in import order")
    def status() -> dict[str, Any]:
        engine = uploads.engine_of()
        last = last_import_per_table(engine, uploads.imports)
        with reading(engine) as connection:
            tables = [{"table": name, "rows": _count(connection, spec.table), "lastImport": last.get(name)}
                      for name, spec in uploads.tables.items()]
        return {"system": uploads.system, "tables": tables}

    @router.get("/imports", summary="Files applied, newest first")
    def imports(table: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        return recent_imports(uploads.engine_of(), uploads.imports, table, min(limit, 1000))

    @router.get("/rejected", summary="Files refused, newest first, with the reasons and where each is kept")
    def rejected(limit: int = 100) -> list[dict[str, Any]]:
        return recent_rejected_uploads(uploads.engine_of(), uploads.rejected, min(limit, 1000))

    @router.put("/{table}", summary="Import one table file (Parquet or CSV body): checked whole, then upserted",
                openapi_extra={"requestBody": {"required": True, "content": {
                    kind: {"schema": {"type": "string", "format": "binary"}} for kind in CONTENT_TYPES}}},
                responses={400: {"description": "Unreadable file"}, 413: {"description": "File too large"},
                           415: {"description": "Neither Parquet nor CSV"},
                           422: {"description": "Invalid file: each problem's column, rows and count"}})
    async def put_table(table: str, request: Request) -> JSONResponse:
        spec = uploads.tables.get(table)
        if spec is None:
            raise NotFound("table", table, f"this system imports {', '.join(uploads.tables)}")
        who = str(request.state.principal)
        upload = await receive_file(request, uploads.directory / "incoming", uploads.max_bytes)
        try:
            fmt = file_format(upload.content_type)
            mismatch = checksum_problem(request, upload.sha256)
            if mismatch is not None:
                raise mismatch
            import_id, record = await run_in_threadpool(_import, uploads, spec, upload, fmt, who)
        except (Problem, FileRefused) as refused:
            kept = await run_in_threadpool(_keep_refused, uploads, request.url.path, table, upload, refused, who)
            return problem_response(refused.status, refused.title, refused.detail, refused.errors,
                                    extra={"rejectedUploadId": kept})
        finally:
            upload.path.unlink(missing_ok=True)
        return JSONResponse(_applied(import_id, record))

    return router


def _import(uploads: TableUploads, spec: TableSpec, upload: Upload, fmt: FileFormat,
            who: str) -> tuple[int, ImportRecord]:
    from derbridge.tables.load import import_table_file

    return import_table_file(uploads.engine_of(), spec, upload.path, fmt, sha256=upload.sha256, size=upload.size,
                             who=who, imports=uploads.imports)


def _keep_refused(uploads: TableUploads, path: str, table: str, upload: Upload, refused: Problem | FileRefused,
                  who: str) -> int:
    """Move the file under rejected/ and record why; returns the record's id."""
    now = utcnow()
    suffix = CONTENT_TYPES.get(media_type(upload.content_type), "bin")
    kept = uploads.directory / "rejected" / f"{now:%Y%m%dT%H%M%S%f}-{table}-{upload.sha256[:12]}.{suffix}"
    kept.parent.mkdir(parents=True, exist_ok=True)
    upload.path.replace(kept)
    return record_rejected_upload(uploads.engine_of(), uploads.rejected, path=path, file=str(kept),
                                  bytes=upload.size, sha256=upload.sha256, content_type=upload.content_type[:100],
                                  status=refused.status, errors=refused.errors, received_by=who, received_at=now)


def _applied(import_id: int, record: ImportRecord) -> dict[str, Any]:
    return {"importId": import_id, "table": record.table_name, "rows": record.rows, "inserted": record.inserted,
            "updated": record.updated, "unchanged": record.unchanged, "seconds": record.seconds,
            "sha256": record.sha256, "format": record.file_format}


def _count(connection: Any, table: sa.Table) -> int:
    return int(connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
