"""Senders: deliver due outbox rows (store/outbox.py) to the hub, many at a time, with backoff on faults."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Engine

from derbridge.clock import utcnow
from derbridge.runtime.retry import RetryPolicy
from derbridge.runtime.worker import Worker
from derbridge.store.db import reading
from derbridge.store.outbox import FAILED, PENDING, SENT
from derbridge.web.client import Outcome, make_client, post_batch, post_json, put_file

log = structlog.get_logger()
DEFAULT_RETRY = RetryPolicy()


class OutboxSender(Worker):
    """Delivers due outbox rows to one target, a batch at a time: up to `per_request` rows with the same path
    in one request (`<path>/batch`, web/batch.py; 1 sends each on its own), and no more than `max_request_bytes`
    of payload (a big message, such as a 1,000-record enrollment request, goes with fewer others), several
    requests in flight."""

    def __init__(self, engine: Engine, table: sa.Table, base_url: str, credential: str, key_of: Callable[[Any], str],
                 *, poll_s: float = 0.5, retry: RetryPolicy = DEFAULT_RETRY,
                 timeout_s: float = 300.0, batch: int = 1000, per_request: int = 200, workers: int = 8,
                 max_request_bytes: int = 4 * 1024 * 1024) -> None:
        super().__init__(f"sender-{table.name}", poll_s)
        self.engine = engine
        self.table = table
        self.key_of = key_of
        self.retry = retry
        self.batch = batch
        self.per_request = per_request
        self.max_request_bytes = max_request_bytes
        self.client = make_client(base_url, credential, timeout_s)
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix=f"outbox-{table.name}")

    def stop(self) -> None:
        super().stop()
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.client.close()

    def round(self) -> float:
        return 0.0 if self.send_due() else self.poll_s

    def send_due(self, now: datetime | None = None) -> int:
        """Send one batch of due rows, several per request to the same path; returns how many were tried."""
        now = now or utcnow()
        t = self.table
        with reading(self.engine) as connection:
            rows = list(connection.execute(
                sa.select(t).where(t.c.status == PENDING, t.c.next_attempt_at <= now)
                .order_by(t.c.id).limit(self.batch)
            ).all())
        if not rows:
            return 0
        chunks = self._chunks(rows)
        sent: list[Any] = []
        outcomes: list[Outcome] = []
        for chunk, answers in zip(chunks, self.pool.map(self._deliver, chunks), strict=True):
            sent += chunk
            outcomes += answers
        self._record(sent, outcomes)
        return len(rows)

    def _chunks(self, rows: list[Any]) -> list[list[Any]]:
        by_path: dict[str, list[Any]] = {}
        for row in rows:
            by_path.setdefault(row.path, []).append(row)
        most = max(1, self.per_request)
        chunks: list[list[Any]] = []
        for same in by_path.values():
            chunk: list[Any] = []
            size = 0
            for row in same:
                if chunk and (len(chunk) >= most or size + len(row.payload) > self.max_request_bytes):
                    chunks.append(chunk)
                    chunk, size = [], 0
                chunk.append(row)
                size += len(row.payload)
            chunks.append(chunk)
        return chunks

    def _deliver(self, chunk: list[Any]) -> list[Outcome]:
        if len(chunk) == 1:
            row = chunk[0]
            return [post_json(self.client, row.path, json.loads(row.payload), self.key_of(row))]
        return post_batch(self.client, chunk[0].path, [json.loads(row.payload) for row in chunk])

    def _record(self, rows: list[Any], outcomes: list[Outcome]) -> None:
        """One executemany for the whole batch; only rows still PENDING move (an ack may have come first)."""
        t = self.table
        now = utcnow()
        statement = (
            sa.update(t).where(t.c.id == sa.bindparam("row_id"), t.c.status == PENDING)
            .values(status=sa.bindparam("new_status"), attempts=sa.bindparam("new_attempts"),
                    last_error=sa.bindparam("error"), sent_at=sa.bindparam("sent"),
                    next_attempt_at=sa.bindparam("next_attempt"))
        )
        updates = []
        for row, outcome in zip(rows, outcomes, strict=True):
            attempts = row.attempts + 1
            status, next_attempt = PENDING, row.next_attempt_at
            if outcome.delivered:
                status = SENT
            elif outcome.verdict == "permanent":
                status = FAILED
            else:
                delay = self.retry.delay_s(attempts)
                next_attempt = now + timedelta(seconds=delay)
            if not outcome.delivered:
                log.warning("outbox.not_delivered", table=t.name, id=row.id, verdict=outcome.verdict,
                            error=outcome.error, attempts=attempts)
            updates.append({"row_id": row.id, "new_status": status, "new_attempts": attempts,
                            "error": outcome.error or None, "sent": now if outcome.delivered else None,
                            "next_attempt": next_attempt})
        with self.engine.begin() as connection:
            connection.execute(statement, updates)


class FileOutboxSender(OutboxSender):
    """Delivers due outbound files, each streamed in its own PUT request with its SHA-256."""

    def _chunks(self, rows: list[Any]) -> list[list[Any]]:
        return [[row] for row in rows]

    def _deliver(self, chunk: list[Any]) -> list[Outcome]:
        [row] = chunk
        described = json.loads(row.payload)
        return [put_file(self.client, row.path, described["file"], described["sha256"], described["contentType"],
                         self.key_of(row), described["headers"])]
