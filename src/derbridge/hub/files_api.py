"""The hub's file endpoints: `PUT /hub/files/from-<source>/<name>`, one per file relay (hub/flows/files.py).

A file is taken like a message: recorded in the message log before it is acknowledged (202 with a MsgAck;
200 DUPLICATE for an Idempotency-Key already taken, not delivered again), then handed to the dispatcher.
A refused file is answered with problem+json naming each column (and rows, where found) and kept: the
message log records it REJECTED with the reasons and where the file lies.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.requests import ClientDisconnect

from derbridge.config import Settings
from derbridge.errors import FileRefused
from derbridge.hub import delivery, messagelog, metrics
from derbridge.hub.context import current
from derbridge.hub.flows.files import DELIVERED_TYPE, FileRelay, StoredFile, map_file
from derbridge.hub.flows.registry import FILE_RELAYS
from derbridge.hub.flows.wire import msg_ack
from derbridge.tables.endpoint import keep_file
from derbridge.tables.spec import FileFormat, file_format, sha256_of
from derbridge.web.auth import Authenticator, require
from derbridge.web.client import CHECKSUM_HEADER
from derbridge.web.problems import Problem, field_errors
from derbridge.web.uploads import Upload, receive_upload

IDEMPOTENCY_HEADER = "idempotency-key"
MAX_KEY = 200


def file_router(settings: Settings, authenticator: Authenticator) -> APIRouter:
    router = APIRouter()
    directory = settings.data_dir / "files" / "hub"
    for relay in FILE_RELAYS:
        router.put(relay.inbound_path, status_code=202, tags=[relay.flow], summary=relay.summary,
                   dependencies=[Depends(require(authenticator, {relay.source, "operator"}))],
                   responses={200: {"description": "A file already taken (DUPLICATE): not delivered again"},
                              400: {"description": "Unreadable file"}, 413: {"description": "File too large"},
                              415: {"description": "Neither Parquet nor CSV"},
                              422: {"description": "Bad headers, parameters or columns, each named"}},
                   )(file_endpoint(relay, directory, settings.max_upload_bytes))
    return router


def file_endpoint(relay: FileRelay, directory: Path, max_bytes: int) -> Callable[..., Any]:
    async def receive(request: Request) -> JSONResponse:
        try:
            fmt, parameters, sender_key = _request(relay, request)
        except FileRefused as refused:
            await _drain(request)
            raise await _rejected(relay, request, None, refused) from refused
        try:
            upload = await receive_upload(request, directory / "incoming", max_bytes)
        except Problem as problem:
            await _drain(request)
            errors = problem.errors or [{"field": "body", "type": "refused", "message": problem.detail}]
            too_big_or_altered = FileRefused(problem.status, problem.title, problem.detail, errors)
            raise await _rejected(relay, request, None, too_big_or_altered) from problem
        try:
            recorded = await run_in_threadpool(take_file, relay, parameters, sender_key, upload, fmt, directory)
        except FileRefused as refused:
            raise await _rejected(relay, request, upload, refused, directory) from refused
        finally:
            upload.path.unlink(missing_ok=True)
        current().dispatcher.submit(recorded.to_deliver)
        if recorded.is_new and not recorded.to_deliver:  # a file split into parts of which none is to be sent
            current().dispatcher.submit(delivery.settle_parents([recorded.id]))
        metrics.received.labels(relay.flow, relay.kind, "new" if recorded.is_new else "duplicate").inc()
        return JSONResponse(msg_ack(relay.business_key(parameters), recorded.id, not recorded.is_new),
                            status_code=202 if recorded.is_new else 200)

    receive.__name__ = f"receive_{relay.kind.replace('-', '_')}_file"
    return receive


def _request(relay: FileRelay, request: Request) -> tuple[FileFormat, BaseModel, str]:
    """The file's format, its parameters and the sender's key, from the headers and query string."""
    fmt = file_format(request.headers.get("content-type", ""))
    errors = []
    sender_key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
    if not sender_key or len(sender_key) > MAX_KEY:
        errors.append({"field": f"header.{IDEMPOTENCY_HEADER}", "type": "missing" if not sender_key else "too_long",
                       "message": f"the sender's id for this file is required (at most {MAX_KEY} characters)"})
    if not request.headers.get(CHECKSUM_HEADER, "").strip():
        errors.append({"field": f"header.{CHECKSUM_HEADER}", "type": "missing",
                       "message": "the file's SHA-256, in hex, is required"})
    parameters = None
    try:
        parameters = relay.parameters.model_validate(dict(request.query_params))
    except ValidationError as exc:
        errors += [{**error, "field": f"query.{error['field']}"} for error in field_errors(exc)]
    if errors or parameters is None:
        raise FileRefused(422, "Invalid request", "bad " + ", ".join(e["field"] for e in errors), errors)
    return fmt, parameters, sender_key


def take_file(relay: FileRelay, parameters: BaseModel, sender_key: str, upload: Upload, fmt: FileFormat,
          directory: Path) -> messagelog.Recorded:
    """Check and map the file, keep both files, record the message (once per sender key): a file PUT to the
    hub, or one its pickup fetched (hub/pickup/)."""
    stem = f"{relay.kind}-{upload.sha256[:16]}-{uuid.uuid4().hex[:8]}"
    mapped_path = directory / "outbound" / f"{stem}.parquet"
    rows = map_file(relay, upload.path, fmt, mapped_path)
    try:
        relay.prepare(mapped_path, rows)
    except FileRefused:
        mapped_path.unlink(missing_ok=True)
        raise
    received_path = directory / "received" / f"{stem}.{fmt}"
    received_path.parent.mkdir(parents=True, exist_ok=True)
    upload.path.replace(received_path)
    received = StoredFile(received_path, upload.sha256, upload.size, upload.content_type, rows)
    mapped = StoredFile(mapped_path, sha256_of(mapped_path), mapped_path.stat().st_size, DELIVERED_TYPE, rows)
    [recorded] = messagelog.record_many(current().db, [relay.new_message(parameters, sender_key, received, mapped)])
    if not recorded.is_new:  # taken before: this copy is not needed
        received_path.unlink(missing_ok=True)
        mapped_path.unlink(missing_ok=True)
    return recorded


async def _rejected(relay: FileRelay, request: Request, upload: Upload | None, refused: FileRefused,
                    directory: Path | None = None) -> Problem:
    """Record the refusal in the message log (keeping the file, if one arrived) and the problem to answer."""
    description: dict[str, Any] = {
        "path": request.url.path, "query": str(request.url.query),
        "headers": {name: request.headers.get(name) for name in ("content-type", IDEMPOTENCY_HEADER, CHECKSUM_HEADER)}}
    if upload is not None and directory is not None:
        kept = keep_file(upload, directory / "rejected")
        description.update(file=str(kept), bytes=upload.size, sha256=upload.sha256)
    metrics.received.labels(relay.flow, relay.kind, "rejected").inc()
    await run_in_threadpool(messagelog.record_rejected, current().db, relay.flow, relay.kind, relay.source,
                            relay.target, json.dumps(description).encode(), refused.errors)
    return Problem(refused.status, refused.title, refused.detail, refused.errors)


async def _drain(request: Request) -> None:
    """Read what is left of the body, so the sender gets the answer rather than a broken connection."""
    try:
        async for _chunk in request.stream():
            pass
    except (RuntimeError, ClientDisconnect):  # read whole already, or the sender has gone
        pass
