"""The worker that dispatches stages as they start, tells the head ends to stop those of an event cancelled in
progress, and sends outcomes once events are done (stages.py, collect.py), on the shared clock, from what the
database holds: a restart picks up where it stopped."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import Engine

from derbridge.clock import utcnow
from derbridge.derms.dispatch.collect import collect_due
from derbridge.derms.dispatch.stages import end_stopped, plan_due, send_pending
from derbridge.derms.headend.gateway import Gateway
from derbridge.runtime.worker import Worker


class DispatchWorker(Worker):
    def __init__(self, engine: Engine, gateway: Gateway, files: Path, wake_outbox: Callable[[], None], *,
                 poll_s: float = 1.0) -> None:
        super().__init__("dispatch", poll_s)
        self.engine = engine
        self.gateway = gateway
        self.files = files
        self.wake_outbox = wake_outbox

    def round(self) -> float:
        now = utcnow()
        plan_due(self.engine, now)
        send_pending(self.engine, self.gateway, now)
        end_stopped(self.engine, self.gateway, now)
        if collect_due(self.engine, self.gateway, now, self.files):
            self.wake_outbox()
        return self.poll_s
