"""A reference system's live resources, filled in at start-up and emptied at shutdown (nothing at import):
its migrated database and its outbox senders to the hub (messages, and files when it sends any)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import Engine

from derbridge.config import Settings
from derbridge.store.db import make_engine
from derbridge.store.migrations import upgrade
from derbridge.store.outbox import FileOutboxSender, OutboxSender
from derbridge.web.auth import outbound_credential


@dataclass
class Runtime:
    system: str
    outbox: sa.Table
    outbox_key: Callable[[Any], str]
    files: sa.Table | None = None
    """The outbound files table, keyed by `message_key` like the outbox."""
    _db: Engine | None = None
    senders: list[OutboxSender] = field(default_factory=list)

    @property
    def db(self) -> Engine:
        if self._db is None:
            raise RuntimeError(f"{self.system} is not started")
        return self._db

    def open(self, settings: Settings) -> None:
        """Migrate the system's database and start delivering its outbox to the hub."""
        self._db = make_engine(settings.database_url(self.system))
        upgrade(self.system, self._db)
        credential = outbound_credential(settings, self.system, "hub")
        common: dict[str, Any] = {
            "poll_s": settings.sender_poll_s, "retry_initial_s": settings.retry_initial_s,
            "retry_max_interval_s": settings.retry_max_interval_s, "timeout_s": settings.http_timeout_s}
        self.senders = [OutboxSender(self._db, self.outbox, settings.url("hub"), credential, key_of=self.outbox_key,
                                     per_request=settings.batch_size, max_request_bytes=settings.max_body_bytes // 2,
                                     **common)]
        if self.files is not None:
            self.senders.append(FileOutboxSender(self._db, self.files, settings.url("hub"), credential,
                                                 key_of=lambda row: row.message_key, workers=2, **common))
        for sender in self.senders:
            sender.start()

    def close(self) -> None:
        for sender in self.senders:
            sender.stop()
        if self._db is not None:
            self._db.dispose()
        self._db = None
        self.senders = []

    def wake_senders(self) -> None:
        for sender in self.senders:
            sender.wake()

    def lifespan(self, settings: Settings) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
        @asynccontextmanager
        async def run(_app: FastAPI) -> AsyncIterator[None]:
            await run_in_threadpool(self.open, settings)
            try:
                yield
            finally:
                await run_in_threadpool(self.close)

        return run
