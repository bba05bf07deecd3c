"""Outbox tables: the rows the reference systems write, in the same transaction as a change, for a message that
must reach another system (the vendor's "sync request"); runtime/senders.py delivers them.

A row is PENDING until the receiver accepts it (SENT), or FAILED when the receiver refuses it for good.
What happens after SENT (an acknowledgement, COMPLETE) belongs to the owning system. Files (bulk exports,
bulk syncs) go the same way through an outbox of their own: the row names the file, the sender streams it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from derbridge.clock import utcnow

PENDING, SENT, FAILED = "PENDING", "SENT", "FAILED"


def outbox_columns(path_length: int = 200) -> list[sa.Column[Any]]:
    """The columns every outbox table carries, beside its own; `path` may carry a query string."""
    return [
        sa.Column("status", sa.String(12), nullable=False, index=True),
        sa.Column("path", sa.String(path_length), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, default=0),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
    ]


def new_outbox_values(path: str, payload: dict[str, Any]) -> dict[str, Any]:
    now = utcnow()
    return {"status": PENDING, "path": path, "payload": json.dumps(payload), "attempts": 0,
            "next_attempt_at": now, "created_at": now}


def new_file_values(path: str, file: Path, sha256: str, content_type: str,
                    headers: dict[str, str] | None = None) -> dict[str, Any]:
    """An outbound file: PUT to `path` (query string allowed) with its checksum and any extra headers."""
    return new_outbox_values(path, {"file": str(file), "sha256": sha256, "contentType": content_type,
                                    "headers": headers or {}})
