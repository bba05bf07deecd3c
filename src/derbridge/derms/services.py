"""What DERMS runs beside its database between start-up and shutdown: its head ends (the gateway, and the
clouds it simulates in its own process) and the status-check worker. Nothing is built at import."""

from __future__ import annotations

from derbridge.config import Settings
from derbridge.derms.headend.setup import HeadEnds
from derbridge.derms.status_checks import StatusCheckWorker
from derbridge.store.runtime import Runtime


class DermsServices:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._head_ends: HeadEnds | None = None
        self._status_checks: StatusCheckWorker | None = None

    @property
    def head_ends(self) -> HeadEnds:
        if self._head_ends is None:
            raise RuntimeError("DERMS is not started")
        return self._head_ends

    def open(self, settings: Settings) -> None:
        """After the runtime: the database is migrated and the outbox sender runs."""
        self._head_ends = HeadEnds.from_settings(settings)
        self._status_checks = StatusCheckWorker(self.runtime.db, self._head_ends.gateway, self.runtime.wake_senders,
                                                poll_s=settings.sender_poll_s)
        self._status_checks.start()

    def close(self) -> None:
        if self._status_checks is not None:
            self._status_checks.stop()
        if self._head_ends is not None:
            self._head_ends.close()
        self._status_checks = None
        self._head_ends = None

    def wake_status_checks(self) -> None:
        if self._status_checks is not None:
            self._status_checks.wake()
