"""Files sent as a request body (CIS extracts, network exports, bulk syncs): streamed to disk, never held
in memory, refused past a size limit, checked against the sender's SHA-256 when it gives one."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request

from derbridge.web.client import CHECKSUM_HEADER
from derbridge.web.problems import Problem


@dataclass(frozen=True)
class Upload:
    path: Path
    size: int
    sha256: str
    content_type: str


async def receive_upload(request: Request, directory: Path, max_bytes: int) -> Upload:
    """Write the body to a new file in `directory`; 413 past `max_bytes`, 422 if the checksum differs."""
    upload = await receive_file(request, directory, max_bytes)
    mismatch = checksum_problem(request, upload.sha256)
    if mismatch is not None:
        upload.path.unlink(missing_ok=True)
        raise mismatch
    return upload


async def receive_file(request: Request, directory: Path, max_bytes: int) -> Upload:
    """Write the body to a new file in `directory`; 413 past `max_bytes`, and nothing is left on disk.

    The checksum is the caller's to judge (checksum_problem), e.g. to keep a mismatched file for inspection.
    """
    directory.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=directory, prefix="upload-", suffix=".part")
    path = Path(name)
    digest = hashlib.sha256()
    size = 0
    try:
        with os.fdopen(handle, "wb") as file:
            async for chunk in request.stream():
                size += len(chunk)
                if size > max_bytes:
                    raise Problem(413, "File too large", f"the limit is {max_bytes} bytes")
                digest.update(chunk)
                file.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Upload(path, size, digest.hexdigest(), request.headers.get("content-type", ""))


def checksum_problem(request: Request, actual: str) -> Problem | None:
    """A 422 naming the header when the sender's X-Content-SHA256 differs from the body's; None otherwise."""
    expected = request.headers.get(CHECKSUM_HEADER)
    if expected is None or expected.strip().lower() == actual:
        return None
    return Problem(422, "Checksum mismatch", f"the body's SHA-256 is {actual}",
                   [{"field": f"header.{CHECKSUM_HEADER}", "message": f"expected {expected}, got {actual}",
                     "type": "checksum_mismatch"}])
