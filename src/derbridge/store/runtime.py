"""A system's live resources, filled in at start-up and emptied at shutdown (nothing at import)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from derbridge.store.outbox import OutboxSender


@dataclass
class Runtime:
    system: str
    _db: Engine | None = None
    senders: list[OutboxSender] = field(default_factory=list)

    @property
    def db(self) -> Engine:
        if self._db is None:
            raise RuntimeError(f"{self.system} is not started")
        return self._db

    def open(self, db: Engine, senders: list[OutboxSender]) -> None:
        self._db = db
        self.senders = senders
        for sender in senders:
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
