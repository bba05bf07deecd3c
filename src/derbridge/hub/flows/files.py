"""File relays: bulk files between the systems (network exports, bulk syncs, score files), one transfer each.

A sender PUTs a file (Parquet or CSV) to `/hub/files/from-<source>/<name>` with its SHA-256, an
Idempotency-Key (its own id for the file) and the relay's parameters in the query string. The hub streams it
to its data directory, checks that it holds the relay's columns with readable types (the schema, not every
row: the target checks every value), and copies those columns, renamed to the target's names, into a
second file, once (Parquet, whatever came in). The message log keeps a claim check: the two files' paths and
checksums, never their rows. Delivery PUTs the second file to the target, streamed, with its checksum and the
file's business key (e.g. F1's exportId) as the Idempotency-Key; answers are read like any delivery's (2xx
delivered, 408/425/429/5xx retried, other 4xx dead).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from pydantic import BaseModel

from derbridge.hub import messagelog
from derbridge.hub.context import current
from derbridge.hub.flows.relay import Leg
from derbridge.tables.spec import PARQUET_TYPE, FileColumn, FileFormat, FileSpec
from derbridge.web.client import Outcome, put_file

FILES_PREFIX = "/hub/files/"
DELIVERED_TYPE = PARQUET_TYPE
"""What the hub delivers, whatever it received: Parquet keeps the types the check established."""


@dataclass(frozen=True)
class StoredFile:
    """A file in the hub's data directory, as a message references it."""

    path: Path
    sha256: str
    bytes: int
    content_type: str
    rows: int | None = None

    def describe(self) -> dict[str, Any]:
        return {"file": str(self.path), "sha256": self.sha256, "bytes": self.bytes, "contentType": self.content_type,
                "rows": self.rows}


@dataclass(frozen=True)
class FileRelay:
    """One kind of file the hub takes from `source` and delivers to `target`."""

    flow: str
    kind: str
    source: str
    target: str
    name: str
    """The file's name in the inbound path."""
    target_path: str
    """Where the target takes it (PUT); the parameters go along as the query string."""
    columns: tuple[FileColumn, ...]
    """What the inbound file must hold; the delivered file holds these columns, in this order (others are left)."""
    to_target: dict[str, str]
    """Each inbound column → the target's name for it."""
    parameters: type[BaseModel]
    """The query string the sender gives, checked; passed on to the target."""
    business_key: Callable[[Any], str]
    keys: Callable[[Any], dict[str, str]]
    """Business keys of a file, from its parameters; the hub adds its sha256 and rows."""
    summary: str = ""

    def __post_init__(self) -> None:
        unmapped = [column.name for column in self.columns if column.name not in self.to_target]
        if unmapped:
            raise ValueError(f"{self.kind}: no target name for {unmapped}")

    @property
    def file(self) -> FileSpec:
        return FileSpec(self.kind, self.columns)

    @property
    def inbound_path(self) -> str:
        return f"{FILES_PREFIX}from-{self.source}/{self.name}"

    def idempotency_key(self, sender_key: str) -> str:
        return f"{self.flow}:{self.kind}:{sender_key}"

    @property
    def leg(self) -> Leg:
        return Leg(self.kind, batchable=False, send=send_file, completes=True)

    @property
    def legs(self) -> list[Leg]:
        """Every kind of message this relay records (a relay that splits a file into parts has two)."""
        return [self.leg]

    def prepare(self, mapped: Path, rows: int) -> None:
        """Check the mapped file beyond its columns and put it in the order it is delivered (FileRefused when it
        cannot be taken); nothing for most relays, which leave every value to the target."""

    def new_message(self, parameters: BaseModel, sender_key: str, received: StoredFile,
                    mapped: StoredFile) -> messagelog.NewMessage:
        """What the message log records for a file taken: references to both files, never their rows."""
        query = parameters.model_dump(mode="json", exclude_none=True)
        inbound = {**received.describe(), "parameters": query, "idempotencyKey": sender_key}
        return messagelog.NewMessage(
            flow=self.flow, kind=self.kind, source=self.source, target=self.target,
            business_key=self.business_key(parameters), idempotency_key=self.idempotency_key(sender_key),
            inbound_payload=json.dumps(inbound), outbound_path=f"{self.target_path}?{urlencode(query)}",
            outbound_payload=mapped.describe(),
            keys={**self.keys(parameters), "sha256": received.sha256, "rows": str(mapped.rows)})


def map_file(relay: FileRelay, path: Path, fmt: FileFormat, out: Path) -> int:
    """Check the received file's columns and write the target's file; its row count. Raises FileRefused."""
    from derbridge.tables.load import copy_columns  # polars loads only when a file arrives

    return copy_columns(relay.file, path, fmt, relay.to_target, out)


def send_file(row: Any) -> Outcome:
    """Deliver one recorded file message: PUT its file, streamed, with checksum and its business key as the
    Idempotency-Key."""
    described = json.loads(row.outbound_payload)
    client = current().clients[row.target]
    return put_file(client, row.outbound_path, described["file"], described["sha256"], described["contentType"],
                    row.business_key)
