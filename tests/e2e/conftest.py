"""Real processes on loopback ports: each system started as `derbridge hub|dacs|derms`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from derbridge.config import Settings
from derbridge.scenario.processes import SystemProcess


class Systems:
    """The three systems of one test, each its own process; stopped at the end of the test."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.processes: dict[str, SystemProcess] = {}

    def start(self, *names: str) -> None:
        for name in names:
            self.processes[name] = SystemProcess(name, self.settings).start()

    def kill(self, name: str) -> None:
        self.processes.pop(name).kill()

    def stop(self, name: str) -> None:
        self.processes.pop(name).stop()

    def stop_all(self) -> None:
        for process in self.processes.values():
            process.stop()


@pytest.fixture
def systems(stack_settings: Settings) -> Iterator[Systems]:
    running = Systems(stack_settings)
    yield running
    running.stop_all()
