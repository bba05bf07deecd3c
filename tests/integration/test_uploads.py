"""Uploaded files: streamed to disk whole, refused past their own limit, checked against the sender's SHA-256;
the JSON body limit does not apply to them, and still applies everywhere else."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI, Request

from derbridge.bootstrap import local_settings
from derbridge.derms.schema import outbound_files
from derbridge.runtime.senders import FileOutboxSender
from derbridge.store.db import make_engine
from derbridge.store.migrations import upgrade
from derbridge.store.outbox import new_file_values
from derbridge.web.apps import new_app
from derbridge.web.auth import outbound_credential
from derbridge.web.client import CHECKSUM_HEADER, make_client
from derbridge.web.uploads import receive_upload

UPLOAD_LIMIT = 64 * 1024
JSON_LIMIT = 1024


@asynccontextmanager
async def no_lifespan(_app: FastAPI) -> Any:
    yield


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    data = Path(tmp_path_factory.mktemp("uploads"))
    settings = local_settings(data, max_body_bytes=JSON_LIMIT)
    app, _auth = new_app("derms", settings, no_lifespan, file_paths=("/files/",))

    @app.put("/files/{name}")
    async def take(name: str, request: Request) -> dict[str, Any]:
        upload = await receive_upload(request, data / "incoming", UPLOAD_LIMIT)
        return {"name": name, "size": upload.size, "sha256": upload.sha256, "stored": upload.path.read_bytes().hex()}

    @app.post("/json")
    def echo(body: dict[str, Any]) -> dict[str, Any]:
        return body

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=settings.derms_port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    credential = outbound_credential(settings, "operator", "derms")
    with make_client(settings.url("derms"), credential, 10) as http:
        http.incoming = data / "incoming"  # type: ignore[attr-defined]
        http.credential = credential  # type: ignore[attr-defined]
        yield http
    server.should_exit = True
    thread.join(timeout=10)


def test_a_file_larger_than_the_json_limit_arrives_whole_with_its_checksum(client: Any) -> None:
    body = bytes(range(256)) * 40  # 10 KiB, ten times the JSON limit
    answer = client.put("/files/network.parquet", content=body,
                        headers={CHECKSUM_HEADER: hashlib.sha256(body).hexdigest()})
    assert answer.status_code == 200, answer.text
    assert answer.json()["size"] == len(body)
    assert bytes.fromhex(answer.json()["stored"]) == body


def test_a_file_past_its_limit_is_refused_and_nothing_is_left_on_disk(client: Any) -> None:
    before = set(client.incoming.iterdir())
    answer = client.put("/files/huge.csv", content=b"x" * (UPLOAD_LIMIT + 1))
    assert answer.status_code == 413
    assert str(UPLOAD_LIMIT) in answer.json()["detail"]
    assert set(client.incoming.iterdir()) == before


def test_a_file_whose_checksum_differs_is_refused_naming_the_header(client: Any) -> None:
    before = set(client.incoming.iterdir())
    answer = client.put("/files/persons.csv", content=b"id\n1\n", headers={CHECKSUM_HEADER: "0" * 64})
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == f"header.{CHECKSUM_HEADER}"
    assert set(client.incoming.iterdir()) == before


def test_json_bodies_keep_their_own_limit(client: Any) -> None:
    assert client.post("/json", json={"a": "b"}).status_code == 200
    assert client.post("/json", json={"a": "b" * JSON_LIMIT}).status_code == 413


def test_a_file_outbox_streams_its_file_whole_and_marks_it_sent(client: Any, tmp_path: Path) -> None:
    db = make_engine(f"sqlite:///{tmp_path / 'derms.sqlite'}")
    upgrade("derms", db)
    body = bytes(range(256)) * 100
    file = tmp_path / "export.parquet"
    file.write_bytes(body)
    with db.begin() as connection:
        connection.execute(sa.insert(outbound_files).values(
            message_key="export-1", kind="network-export",
            **new_file_values("/files/export-1", file, hashlib.sha256(body).hexdigest(), "application/octet-stream")))
    sender = FileOutboxSender(db, outbound_files, str(client.base_url), client.credential,
                              key_of=lambda row: row.message_key)
    assert sender.send_due() == 1
    sender.stop()
    with db.connect() as connection:
        row = connection.execute(sa.select(outbound_files)).one()
    assert (row.status, row.attempts) == ("SENT", 1)
    assert any(path.read_bytes() == body for path in client.incoming.iterdir())
    db.dispose()


def test_a_file_refused_for_its_checksum_fails_for_good(client: Any, tmp_path: Path) -> None:
    db = make_engine(f"sqlite:///{tmp_path / 'derms.sqlite'}")
    upgrade("derms", db)
    file = tmp_path / "export.csv"
    file.write_bytes(b"a,b\n1,2\n")
    with db.begin() as connection:
        connection.execute(sa.insert(outbound_files).values(
            message_key="export-2", kind="network-export",
            **new_file_values("/files/export-2", file, "0" * 64, "text/csv")))
    sender = FileOutboxSender(db, outbound_files, str(client.base_url), client.credential,
                              key_of=lambda row: row.message_key)
    sender.send_due()
    sender.stop()
    with db.connect() as connection:
        row = connection.execute(sa.select(outbound_files)).one()
    assert row.status == "FAILED" and "422" in row.last_error
    db.dispose()
