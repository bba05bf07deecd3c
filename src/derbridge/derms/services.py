"""What DERMS runs beside its database between start-up and shutdown: its head ends (the gateway, and the
clouds it simulates in its own process), the status-check worker, the registration worker, the bulk-sync
runner, the score-set loader and the dispatch worker. All share one gateway, so a device registers with, and
is dispatched through, the same cloud its status is asked of. Nothing is built at import."""

from __future__ import annotations

from pathlib import Path

from derbridge.config import Settings
from derbridge.derms.dispatch.worker import DispatchWorker
from derbridge.derms.headend.gateway import Gateway
from derbridge.derms.headend.setup import HeadEnds
from derbridge.derms.registry.bulk_sync import BulkSyncRunner
from derbridge.derms.registry.registration import RegistrationWorker
from derbridge.derms.scores.runner import ScoreSetLoader
from derbridge.derms.status_checks.checks import StatusCheckWorker
from derbridge.runtime.system import Runtime


class DermsServices:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.files_dir = Path()
        self._head_ends: HeadEnds | None = None
        self._status_checks: StatusCheckWorker | None = None
        self._registrations: RegistrationWorker | None = None
        self._bulk_syncs: BulkSyncRunner | None = None
        self._dispatch: DispatchWorker | None = None
        self._score_sets: ScoreSetLoader | None = None

    @property
    def head_ends(self) -> HeadEnds:
        if self._head_ends is None:
            raise RuntimeError("DERMS is not started")
        return self._head_ends

    @property
    def gateway(self) -> Gateway:
        return self.head_ends.gateway

    def open(self, settings: Settings) -> None:
        """After the runtime: the database is migrated and the outbox sender runs."""
        db, wake_senders = self.runtime.db, self.runtime.wake_senders
        self.files_dir = settings.data_dir / "derms-files"
        self._head_ends = HeadEnds.from_settings(settings)
        self._status_checks = StatusCheckWorker(db, self.gateway, wake_senders, poll_s=settings.sender_poll_s)
        self._registrations = RegistrationWorker(db, self.gateway, self.files_dir, wake_senders,
                                                 poll_s=settings.sender_poll_s * 2)
        self._bulk_syncs = BulkSyncRunner(db, self._registrations.wake, poll_s=settings.sender_poll_s * 2)
        self._score_sets = ScoreSetLoader(db, poll_s=settings.sender_poll_s * 2)
        self._dispatch = DispatchWorker(db, self.gateway, self.files_dir, wake_senders, poll_s=settings.sender_poll_s)
        for worker in (self._status_checks, self._registrations, self._bulk_syncs, self._score_sets, self._dispatch):
            worker.start()

    def close(self) -> None:
        for worker in (self._dispatch, self._score_sets, self._bulk_syncs, self._registrations, self._status_checks):
            if worker is not None:
                worker.stop()
        if self._head_ends is not None:
            self._head_ends.close()
        self._status_checks = self._registrations = self._bulk_syncs = self._dispatch = None
        self._score_sets = None
        self._head_ends = None

    def wake_status_checks(self) -> None:
        if self._status_checks is not None:
            self._status_checks.wake()

    def wake_registrations(self) -> None:
        if self._registrations is not None:
            self._registrations.wake()

    def wake_dispatch(self) -> None:
        if self._dispatch is not None:
            self._dispatch.wake()

    def wake_bulk_syncs(self) -> None:
        if self._bulk_syncs is not None:
            self._bulk_syncs.wake()

    def wake_score_sets(self) -> None:
        if self._score_sets is not None:
            self._score_sets.wake()
