"""An endpoint that takes a table file (Parquet or CSV) as its body and applies it.

The body is streamed to disk (web/uploads.py); the Content-Type says Parquet or CSV; the system's function
applies the file in a worker thread. A refused file is kept under `rejected/` and the refusal recorded with its
reasons (the system's rejected requests), and the answer is problem+json naming each column and row; an
applied file is deleted.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from derbridge.clock import utcnow
from derbridge.errors import FileRefused
from derbridge.tables.spec import FileFormat, file_format
from derbridge.web.problems import RejectionKeeper
from derbridge.web.uploads import Upload, receive_upload

T = TypeVar("T")


async def take_table_file(request: Request, directory: Path, max_bytes: int, apply: Callable[[Upload, FileFormat], T],
                          keep_rejected: RejectionKeeper | None) -> T:
    """Receive the body into `directory`/incoming and apply it; a refused file is kept and recorded, and the refusal
    answered (errors.FileRefused, mapped like every domain error)."""
    upload = await receive_upload(request, directory / "incoming", max_bytes)
    try:
        return await run_in_threadpool(_apply, apply, upload)
    except FileRefused as refused:
        kept = keep_file(upload, directory / "rejected")
        if keep_rejected is not None:
            description = {"file": str(kept), "bytes": upload.size, "sha256": upload.sha256,
                           "contentType": upload.content_type, "query": str(request.url.query)}
            await keep_rejected(request, json.dumps(description).encode(), refused.errors)
        raise
    finally:
        upload.path.unlink(missing_ok=True)


def _apply(apply: Callable[[Upload, FileFormat], T], upload: Upload) -> T:
    return apply(upload, file_format(upload.content_type))


def keep_file(upload: Upload, directory: Path) -> Path:
    """Move a received file out of the way for inspection; returns where it now is."""
    directory.mkdir(parents=True, exist_ok=True)
    kept = directory / f"{utcnow():%Y%m%dT%H%M%S%f}-{upload.sha256[:12]}{_suffix(upload.content_type)}"
    upload.path.replace(kept)
    return kept


def _suffix(content_type: str) -> str:
    try:
        return f".{file_format(content_type)}"
    except FileRefused:
        return ".bin"
