"""DERMS's device registry at work: the head-end gateway, the registration worker and the bulk-sync runner,
started after the database and stopped before it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from derbridge.config import Settings
from derbridge.derms.bulksync import BulkSyncRunner
from derbridge.derms.headend.gateway import Gateway
from derbridge.derms.headend.simulator import CloudProfile, SimulatedCloud
from derbridge.derms.registration import RegistrationWorker
from derbridge.store.runtime import Runtime

HEAD_END_SYSTEMS = ("ECOCLOUD", "NESTLIKE", "HOMEGRID")


def simulated_gateway(_settings: Settings) -> Gateway:
    """The head ends DERMS registers devices with: one in-process simulated cloud per head-end system, each with
    an empty fleet (tests and benchmarks add devices). Replace this to configure real head ends."""
    return Gateway(SimulatedCloud(CloudProfile(name)) for name in HEAD_END_SYSTEMS)


@dataclass
class RegistryServices:
    runtime: Runtime
    make_gateway: Callable[[Settings], Gateway] = simulated_gateway
    gateway: Gateway = field(default_factory=lambda: Gateway(()))
    files_dir: Path = Path()
    worker: RegistrationWorker | None = None
    bulk_runner: BulkSyncRunner | None = None

    def start(self, settings: Settings) -> None:
        self.files_dir = settings.data_dir / "derms-files"
        self.gateway = self.make_gateway(settings)
        self.worker = RegistrationWorker(self.runtime.db, self.gateway, self.files_dir, self.runtime.wake_senders,
                                         poll_s=settings.sender_poll_s * 2)
        self.bulk_runner = BulkSyncRunner(self.runtime.db, self.worker.wake, poll_s=settings.sender_poll_s * 2)
        self.worker.start()
        self.bulk_runner.start()

    def stop(self) -> None:
        for service in (self.bulk_runner, self.worker):
            if service is not None:
                service.stop()
        self.worker = self.bulk_runner = None

    def wake_worker(self) -> None:
        if self.worker is not None:
            self.worker.wake()

    def wake_bulk_runner(self) -> None:
        if self.bulk_runner is not None:
            self.bulk_runner.wake()
