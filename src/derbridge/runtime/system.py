"""A reference system's live resources, filled in at start-up and emptied at shutdown (nothing at import):
its migrated database and its outbox senders to the hub (messages, and files when it sends any)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import Engine

from derbridge.clock import clock_for, use_clock
from derbridge.config import Settings
from derbridge.runtime.periodic import Periodic
from derbridge.runtime.retry import RetryPolicy
from derbridge.runtime.senders import FileOutboxSender, OutboxSender
from derbridge.store.db import make_engine
from derbridge.store.migrations import upgrade
from derbridge.web.auth import outbound_credential


@dataclass(frozen=True)
class Outbox:
    """An outbound table and how to name each row's idempotency key."""

    table: sa.Table
    key_of: Callable[[Any], str]


@dataclass(frozen=True)
class Task:
    """Something the system does every `every_s` seconds with its database."""

    name: str
    every_s: float
    run: Callable[[Engine], Any]


@dataclass
class Runtime:
    system: str
    outboxes: list[Outbox]
    files: sa.Table | None = None
    """The outbound files table, keyed by `message_key` like the outboxes."""
    tasks: list[Task] = field(default_factory=list)
    _db: Engine | None = None
    senders: list[OutboxSender] = field(default_factory=list)
    periodic: list[Periodic] = field(default_factory=list)

    @property
    def db(self) -> Engine:
        if self._db is None:
            raise RuntimeError(f"{self.system} is not started")
        return self._db

    def open(self, settings: Settings) -> None:
        """Migrate the system's database, start delivering its outboxes to the hub, start its tasks."""
        use_clock(clock_for(settings.clock_file))
        db = self._db = make_engine(settings.database_url(self.system))
        upgrade(self.system, db)
        credential = outbound_credential(settings, self.system, "hub")
        common: dict[str, Any] = {
            "poll_s": settings.sender_poll_s, "timeout_s": settings.http_timeout_s,
            "retry": RetryPolicy(settings.retry_initial_s, settings.retry_max_interval_s)}
        self.senders = [OutboxSender(db, outbox.table, settings.url("hub"), credential, key_of=outbox.key_of,
                                     per_request=settings.batch_size, max_request_bytes=settings.max_body_bytes // 2,
                                     **common) for outbox in self.outboxes]
        if self.files is not None:
            self.senders.append(FileOutboxSender(db, self.files, settings.url("hub"), credential,
                                                 key_of=lambda row: row.message_key, workers=2, **common))
        self.periodic = [Periodic(task.name, task.every_s, partial(task.run, db)) for task in self.tasks]
        for worker in [*self.senders, *self.periodic]:
            worker.start()

    def close(self) -> None:
        for worker in [*self.periodic, *self.senders]:
            worker.stop()
        if self._db is not None:
            self._db.dispose()
        self._db = None
        self.senders = []
        self.periodic = []

    def wake_senders(self) -> None:
        for sender in self.senders:
            sender.wake()

    def wake_task(self, name: str) -> None:
        """Run the task of that name now rather than at its next period (work has arrived for it)."""
        for task in self.periodic:
            if task.name == f"periodic-{name}":
                task.wake()

    def lifespan(self, settings: Settings) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
        @asynccontextmanager
        async def run(_app: FastAPI) -> AsyncIterator[None]:
            await run_in_threadpool(self.open, settings)
            try:
                yield
            finally:
                await run_in_threadpool(self.close)

        return run
