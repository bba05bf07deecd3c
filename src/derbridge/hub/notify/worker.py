"""The notifier: one thread of the hub that closes due windows into digests and sends due notifications,
several at once, retrying with backoff; message delivery never waits for it."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.engine import Engine

from derbridge.clock import utcnow
from derbridge.hub import metrics
from derbridge.hub.notify import store
from derbridge.hub.notify.channels import TIMEOUT_S, send
from derbridge.hub.notify.config import NotifyConfig, Recipient
from derbridge.runtime.retry import RetryPolicy
from derbridge.runtime.worker import Worker
from derbridge.web.client import Outcome, make_client

log = structlog.get_logger()
BATCH = 50
LEASE_S = 4 * TIMEOUT_S
"""A claimed notification is left alone this long: enough for its send, short enough to recover after a crash."""


class Notifier(Worker):
    def __init__(self, engine: Engine, config: NotifyConfig, retry: RetryPolicy, poll_s: float,
                 clock: Callable[[], datetime] = utcnow) -> None:
        super().__init__("hub-notifier", poll_s)
        self.engine = engine
        self.config = config
        self.retry = retry
        self.clock = clock
        self.client = make_client("", "", TIMEOUT_S)  # webhook URLs are whole
        self.pool = ThreadPoolExecutor(4, thread_name_prefix="hub-notify")

    def stop(self) -> None:
        super().stop()
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.client.close()

    def round(self) -> float:
        """Digests first (their notifications are due at once), then one batch of due sends."""
        store.gather(self.engine, self.config, self.clock())
        rows = store.claim_due(self.engine, self.clock(), LEASE_S, BATCH)
        if rows:
            outcomes = list(self.pool.map(self._send, rows))
            store.record_attempts(self.engine, rows, outcomes, self.retry, self.clock())
        return 0.0 if len(rows) == BATCH else self.poll_s

    def _send(self, row: Any) -> Outcome:
        outcome = send(self.config, self.client, Recipient(row.recipient, row.channel), json.loads(row.payload),
                       row.id)
        verdict = "SENT" if outcome.delivered else "FAILED" if outcome.verdict == "permanent" else "RETRY"
        metrics.notifications.labels(row.channel, verdict).inc()
        if not outcome.delivered:
            log.warning("notify.not_sent", notification=row.id, channel=row.channel, verdict=outcome.verdict,
                        attempts=row.attempts + 1, error=outcome.error)
        return outcome
