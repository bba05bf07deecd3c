"""The client side of `PUT /api/cis/{table}`: a dataset directory in, the tables each system takes sent out.

manifest.json names every file with its size and SHA-256. Every file to be sent is checked against it before
anything is sent, so a damaged extract is caught before a system changes. Each system says which tables it
takes, parents first (`GET /api/cis`); they are sent one by one in that order, each with its checksum in
X-Content-SHA256, and loading stops at the first refusal: later tables may refer to its rows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2

from derbridge.web.client import CHECKSUM_HEADER

CIS_PATH = "/api/cis"
MEDIA_TYPES = {".parquet": "application/vnd.apache.parquet", ".csv": "text/csv"}
CHUNK_BYTES = 1 << 20
IMPORT_TIMEOUT_S = 3600.0
"""An import answers once applied: a few seconds per million rows on the embedded database."""


class LoadError(Exception):
    """Loading cannot go on; `errors` are the refusing system's problem `errors[]`, if it sent any."""

    def __init__(self, message: str, errors: Iterable[dict[str, Any]] = ()) -> None:
        super().__init__(message)
        self.errors = list(errors)


@dataclass(frozen=True)
class ExtractFile:
    table: str
    path: Path
    bytes: int
    sha256: str
    rows: int

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.path.suffix]


@dataclass(frozen=True)
class Step:
    system: str
    file: ExtractFile


def read_manifest(directory: Path) -> dict[str, ExtractFile]:
    """The CIS files manifest.json lists (tables in another format, such as the network's, too)."""
    path = directory / "manifest.json"
    try:
        tables = json.loads(path.read_text())["tables"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise LoadError(f"cannot read {path}: {exc}") from exc
    return {name: ExtractFile(name, directory / entry["file"], int(entry["bytes"]), str(entry["sha256"]),
                              int(entry["rows"]))
            for name, entry in tables.items() if Path(entry["file"]).suffix in MEDIA_TYPES}


def tables_taken(client: httpx2.Client, system: str) -> list[str]:
    """The tables `system` imports, parents first."""
    return [table["table"] for table in _json(client, "GET", CIS_PATH, system)["tables"]]


def plan(files: dict[str, ExtractFile], taken: dict[str, list[str]], wanted: list[str] | None) -> list[Step]:
    """Each system's tables in its own order, limited to `wanted` when given; every one must be in the manifest."""
    if wanted is not None:
        nobody = [table for table in wanted if not any(table in tables for tables in taken.values())]
        if nobody:
            raise LoadError(f"no system here imports {', '.join(nobody)}; "
                            f"they take {', '.join(sorted({t for tables in taken.values() for t in tables}))}")
    steps = []
    for system, tables in taken.items():
        for table in tables:
            if wanted is not None and table not in wanted:
                continue
            if table not in files:
                raise LoadError(f"manifest.json lists no file for table {table} (generate the dataset again?)")
            steps.append(Step(system, files[table]))
    return steps


def verify(file: ExtractFile, read: Callable[[int], None] = lambda _n: None) -> None:
    """Refuse a file whose size or SHA-256 differs from the manifest's; `read` hears of each chunk read."""
    digest = hashlib.sha256()
    size = 0
    try:
        with file.path.open("rb") as stream:
            for chunk in iter(lambda: stream.read(CHUNK_BYTES), b""):
                digest.update(chunk)
                size += len(chunk)
                read(len(chunk))
    except OSError as exc:
        raise LoadError(f"cannot read {file.path}: {exc}") from exc
    if (size, digest.hexdigest()) != (file.bytes, file.sha256):
        raise LoadError(f"{file.path} does not match manifest.json: {size} bytes with SHA-256 {digest.hexdigest()}, "
                        f"expected {file.bytes} bytes with {file.sha256}; nothing was sent")


def upload(client: httpx2.Client, step: Step, sent: Callable[[int], None] = lambda _n: None) -> dict[str, Any]:
    """Send one file; the system's answer (rows, inserted, updated, unchanged, seconds) once it is applied."""
    headers = {"Content-Type": step.file.media_type, CHECKSUM_HEADER: step.file.sha256,
               "Content-Length": str(step.file.bytes)}
    return dict(_json(client, "PUT", f"{CIS_PATH}/{step.file.table}", step.system,
                      content=_chunks(step.file.path, sent), headers=headers))


def status(client: httpx2.Client, system: str) -> dict[str, Any]:
    return dict(_json(client, "GET", CIS_PATH, system))


def _chunks(path: Path, sent: Callable[[int], None]) -> Iterator[bytes]:
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(CHUNK_BYTES), b""):
            yield chunk
            sent(len(chunk))


def _json(client: httpx2.Client, method: str, path: str, system: str, **request: Any) -> Any:
    try:
        response = client.request(method, path, **request)
    except httpx2.TransportError as exc:
        raise LoadError(f"cannot reach {system} at {client.base_url}: {exc}. Is it running (`derbridge up`)?") from exc
    if response.is_success:
        return response.json()
    try:
        problem = response.json()
    except ValueError:
        problem = {"detail": response.text[:1000]}
    title = problem.get("title", f"HTTP {response.status_code}")
    detail = problem.get("detail", "")
    kept = f" (kept as rejected upload {problem['rejectedUploadId']})" if "rejectedUploadId" in problem else ""
    raise LoadError(f"{system} answered {response.status_code} {title}: {detail}{kept}", problem.get("errors", []))
