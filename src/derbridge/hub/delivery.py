"""Delivery of recorded messages to their target, in durable batches, with retry and dead letter.

Inbound endpoints record a message and hand its id to the Dispatcher, which gathers ids for a few
milliseconds and starts one durable workflow per batch: one workflow per message would cost more than
the HTTP round trips themselves. Each attempt is one step that posts every due message of the batch
(several in flight) and records each outcome in the message log; transient faults are retried with
exponential backoff (durable sleep), permanent ones and exhausted retries are dead-lettered.
A re-run step skips what is already delivered, and every receiver is idempotent, so a crash anywhere
delivers each message at least once and applies it once.
"""

from __future__ import annotations

import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import structlog

from derbridge.hub import engine, messagelog
from derbridge.hub.context import current
from derbridge.store.db import utcnow
from derbridge.store.outbox import backoff_seconds
from derbridge.web.client import post_json

log = structlog.get_logger()
_pool = ThreadPoolExecutor(16, thread_name_prefix="hub-deliver")


@engine.step()
def attempt_delivery(ids: list[int]) -> list[int]:
    """Post every undelivered message among `ids` once; returns the ids that hit a transient fault."""
    context = current()
    rows = messagelog.deliverable(context.db, ids)
    outcomes = list(_pool.map(_deliver_one, rows))
    messagelog.apply_outcomes(context.db, outcomes)
    return [o.id for o in outcomes if o.status == messagelog.RETRYING]


def _deliver_one(row: Any) -> messagelog.Outcome:
    client = current().clients[row.target]
    outcome = post_json(client, row.outbound_path, json.loads(row.outbound_payload), row.idempotency_key)
    if outcome.delivered:
        return messagelog.Outcome(row.id, messagelog.DELIVERED, response=outcome.body)
    if outcome.verdict == "permanent":
        log.warning("hub.dead_letter", message_id=row.id, kind=row.kind, error=outcome.error)
        return messagelog.Outcome(row.id, messagelog.DEAD, outcome.error, outcome.body)
    return messagelog.Outcome(row.id, messagelog.RETRYING, outcome.error)


@engine.step()
def give_up(ids: list[int], attempts: int) -> None:
    messagelog.dead_letter(current().db, ids, f"still failing after {attempts} attempts")


@engine.workflow()
def deliver_batch(ids: list[int]) -> int:
    """Deliver a batch, retrying transient failures with backoff until done or out of attempts."""
    settings = current().settings
    pending = attempt_delivery(ids)
    attempts = 1
    while pending:
        if attempts >= settings.retry_max_attempts:
            give_up(pending, attempts)
            break
        engine.sleep(backoff_seconds(attempts, settings.retry_initial_s, settings.retry_max_interval_s))
        pending = attempt_delivery(pending)
        attempts += 1
    return len(ids) - len(pending)


def start_batch(ids: list[int]) -> str:
    """Tie the ids to a new workflow id in the log first, then start it: recovery can always find it."""
    workflow_id = f"deliver-{uuid.uuid4().hex}"
    messagelog.assign_workflow(current().db, ids, workflow_id)
    return engine.start(workflow_id, deliver_batch, ids)


def recover_undelivered() -> int:
    """At start-up: restart delivery of every message left RECEIVED or RETRYING by a stop or a crash."""
    by_workflow: dict[str | None, list[int]] = {}
    for message_id, workflow_id in messagelog.undelivered(current().db):
        by_workflow.setdefault(workflow_id, []).append(message_id)
    for workflow_id, ids in by_workflow.items():
        if workflow_id is None:
            start_batch(ids)
        else:
            engine.start(workflow_id, deliver_batch, ids)  # no-op when DBOS already recovered it
    return sum(len(ids) for ids in by_workflow.values())


@engine.step()
def start_orphans() -> int:
    """Messages recorded a minute ago but never handed to a batch (the dispatcher failed) get one now."""
    orphans = messagelog.orphans(current().db, utcnow() - timedelta(minutes=1))
    if orphans:
        start_batch(orphans)
    return len(orphans)


@engine.workflow()
def sweep(_scheduled: object, _actual: object) -> int:
    """Run every minute by the hub, so nothing recorded waits for the next restart."""
    return start_orphans()


def resubmit(ids: list[int]) -> list[int]:
    """Send dead-lettered messages again, as a new batch; returns the ids resubmitted."""
    reopened = messagelog.reopen(current().db, ids)
    if reopened:
        start_batch(reopened)
    return reopened


class Dispatcher:
    """Gathers message ids for up to `window_s` (or `max_batch` ids) and starts one batch for them."""

    def __init__(self, window_s: float = 0.1, max_batch: int = 500) -> None:
        self.window_s = window_s
        self.max_batch = max_batch
        self._ids: list[int] = []
        self._lock = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="hub-dispatcher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, message_id: int) -> None:
        with self._lock:
            self._ids.append(message_id)
            self._lock.notify()

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            self._lock.notify()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while True:
            with self._lock:
                while not self._ids and not self._stopping:
                    self._lock.wait()
                if self._stopping and not self._ids:
                    return
                if len(self._ids) < self.max_batch and not self._stopping:
                    self._lock.wait(self.window_s)
                batch, self._ids = self._ids[: self.max_batch], self._ids[self.max_batch:]
            try:
                start_batch(batch)
            except Exception:  # the ids stay RECEIVED in the log; recovery at the next start takes them
                log.exception("hub.dispatch_failed", count=len(batch))
