"""Delivery of recorded messages to their target, in durable batches, with retry and dead letter.

Inbound endpoints record a message and hand its id to the Dispatcher, which starts one durable workflow
per batch of ids: one workflow per message would cost more than the HTTP round trips themselves. The
Dispatcher starts a batch at once while few are on their first attempt, and gathers ids while they are,
so a quiet hub answers in milliseconds and a busy one sends big batches.

Each attempt is one step that posts every due message of the batch (several requests in flight; where the
target takes batches, many messages per request) and records each outcome in the message log; transient
faults are retried with exponential backoff (durable sleep), permanent ones and exhausted retries are
dead-lettered. Parts whose leg keeps their order (F4's records) go one after another, each once the one
before it is delivered or declined; a part that must be retried holds the rest back until it passes. A
re-run step skips what is already delivered, and every receiver is idempotent, so a crash anywhere delivers
each message at least once and applies it once. When the last part of a message made of parts settles, its
flow composes the message's own payload, and it is delivered in turn (or, when the payload is the answer to
the sender's request, the message is complete). Endpoints waiting on an outcome are told as messages settle.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from itertools import groupby
from typing import Any

import structlog

from derbridge.clock import utcnow
from derbridge.config import Settings
from derbridge.hub import correlations, engine, messagelog, metrics
from derbridge.hub.context import current
from derbridge.hub.flows.registry import LEGS
from derbridge.hub.flows.relay import Leg
from derbridge.hub.lookups import LookupMissing
from derbridge.runtime.retry import RetryPolicy
from derbridge.web.client import Outcome, post_batch, post_json

log = structlog.get_logger()
_pool = ThreadPoolExecutor(16, thread_name_prefix="hub-deliver")


@engine.step()
def attempt_delivery(ids: list[int]) -> list[int]:
    """Post every undelivered message among `ids` once; returns the ids still to deliver: those that hit a
    transient fault, and parts held back behind one."""
    context = current()
    settings = context.settings
    rows = messagelog.deliverable(context.db, ids)
    outcomes = send_all(rows, settings.batch_size, batch_targets(settings), not settings.enroll_concurrently)
    messagelog.apply_outcomes(context.db, outcomes)
    context.settlements.notify(o.id for o in outcomes)
    parts = {row.id for row in rows if row.parent_id is not None}
    settled = [o.id for o in outcomes if o.status in messagelog.SETTLED and o.id in parts]
    if settled:  # parts only: a message without a parent settles nothing else
        context.dispatcher.submit(settle_parents(messagelog.waiting_parents(context.db, settled)))
    tried = {o.id for o in outcomes}
    return [o.id for o in outcomes if o.status == messagelog.RETRYING] + [r.id for r in rows if r.id not in tried]


def batch_targets(settings: Settings) -> frozenset[str]:
    """The peers that have said they take `<path>/batch` (a vendor system has no such endpoint)."""
    return frozenset(target for target in ("dacs", "derms") if getattr(settings, f"{target}_batch"))


def send_all(rows: list[Any], batch_size: int, batching: frozenset[str], in_order: bool) -> list[messagelog.Outcome]:
    """Post the rows, several requests in flight; one outcome per row tried. With `in_order`, the parts of
    each message whose leg keeps their order go one after another, and those behind a part that was neither
    delivered nor declined are not tried (no outcome)."""
    chains = chains_of(rows) if in_order else []
    chained = {row.id for chain in chains for row in chain}
    sends = plan_requests([row for row in rows if row.id not in chained], batch_size, batching)
    futures = ([_pool.submit(_send, leg, chunk) for leg, chunk in sends]
               + [_pool.submit(_send_chain, chain) for chain in chains])
    return [outcome for future in futures for outcome in future.result()]


def chains_of(rows: list[Any]) -> list[list[Any]]:
    """The rows that are parts of a leg keeping their order: one chain per parent, in the parts' order."""
    chains: dict[int, list[Any]] = {}
    for row in rows:
        if row.parent_id is not None and LEGS[row.kind].ordered_parts:
            chains.setdefault(row.parent_id, []).append(row)
    return [sorted(chain, key=lambda row: row.id) for chain in chains.values()]


def _send(leg: Leg, chunk: list[Any]) -> list[messagelog.Outcome]:
    return [_outcome(leg, row, answer) for row, answer in zip(chunk, _post(leg, chunk), strict=True)]


def _send_chain(chain: list[Any]) -> list[messagelog.Outcome]:
    """One part after another; the first neither delivered nor declined stops the chain for this attempt."""
    outcomes: list[messagelog.Outcome] = []
    for row in chain:
        [outcome] = _send(LEGS[row.kind], [row])
        outcomes.append(outcome)
        if outcome.status not in (messagelog.DELIVERED, messagelog.DECLINED):
            break
    return outcomes


def plan_requests(rows: list[Any], batch_size: int, batching: frozenset[str]) -> list[tuple[Leg, list[Any]]]:
    """Group rows into requests: up to `batch_size` rows for the same target and path where the leg takes
    batches and the target is among `batching`, one row per request otherwise."""
    sends: list[tuple[Leg, list[Any]]] = []
    by_destination = sorted(rows, key=lambda r: (r.kind, r.target, r.outbound_path, r.id))
    for (kind, target, _path), same in groupby(by_destination, key=lambda r: (r.kind, r.target, r.outbound_path)):
        leg = LEGS[kind]
        group = list(same)
        size = batch_size if leg.batchable and leg.send is None and target in batching and batch_size > 1 else 1
        sends += [(leg, group[start:start + size]) for start in range(0, len(group), size)]
    return sends


def _post(leg: Leg, chunk: list[Any]) -> list[Outcome]:
    first = chunk[0]
    if leg.send is not None:
        return [leg.send(first)]
    client = current().clients[first.target]
    if len(chunk) == 1:
        return [post_json(client, first.outbound_path, json.loads(first.outbound_payload), first.business_key)]
    return post_batch(client, first.outbound_path, [json.loads(row.outbound_payload) for row in chunk])


def _outcome(leg: Leg, row: Any, answer: Outcome) -> messagelog.Outcome:
    status = leg.status_after(answer)
    metrics.delivered.labels(row.kind, status).inc()
    if status == messagelog.DEAD:
        log.warning("hub.dead_letter", message_id=row.id, kind=row.kind, error=answer.error)
    body = answer.body if status != messagelog.RETRYING else None
    error = answer.error if status != messagelog.DELIVERED else ""
    return messagelog.Outcome(row.id, status, error, body, completes=leg.completes and status == messagelog.DELIVERED)


def settle_parents(parent_ids: Iterable[int]) -> list[int]:
    """Stop runs that lost a part, compose the payload of parents whose parts are all settled; returns the
    parents now ready to deliver (a parent without an outbound path is complete instead: its payload answers
    the sender's request)."""
    context = current()
    db = context.db
    ready, composed = [], []
    for parent_id in parent_ids:
        parent = messagelog.message_row(db, parent_id)
        leg = LEGS[parent.kind]
        parts = messagelog.parts_of(db, parent_id)
        stop = leg.stop_when_a_part_dies and any(part.status == messagelog.DEAD and part.attempts for part in parts)
        if stop and messagelog.hold_unsent_parts(db, parent_id, "not sent: the run stopped at a dead-lettered part"):
            parts = messagelog.parts_of(db, parent_id)
        if leg.compose is None or any(part.status not in messagelog.SETTLED for part in parts):
            continue
        deliver = bool(parent.outbound_path)
        if messagelog.release_parent(db, parent_id, leg.compose(parent, parts), deliver):
            composed.append(parent_id)
            if deliver:
                ready.append(parent_id)
    context.settlements.notify(composed)
    return ready


@engine.step()
def give_up(ids: list[int], attempts: int) -> None:
    """Dead-letter the messages still failing; parts never tried (held back behind one) are left to their
    run's stop, which holds them as not sent."""
    context = current()
    messagelog.dead_letter(context.db, ids, f"still failing after {attempts} attempts", (messagelog.RETRYING,))
    context.settlements.notify(ids)
    context.dispatcher.submit(settle_parents(messagelog.waiting_parents(context.db, ids)))


@engine.workflow()
def deliver_batch(ids: list[int]) -> int:
    """Deliver a batch, retrying transient failures with backoff until done or out of attempts."""
    context = current()
    settings = context.settings
    pending = attempt_delivery(ids)
    context.dispatcher.first_attempt_done(engine.workflow_id())
    retry = RetryPolicy(settings.retry_initial_s, settings.retry_max_interval_s, settings.retry_max_attempts)
    attempts = 1
    while pending:
        if retry.exhausted(attempts):
            give_up(pending, attempts)
            break
        engine.sleep(retry.delay_s(attempts))
        pending = attempt_delivery(pending)
        attempts += 1
    return len(ids) - len(pending)


def start_batch(ids: list[int]) -> str:
    """Tie the ids to a new workflow id in the log first, then start it: recovery can always find it."""
    return engine.start(assign_batch(ids), deliver_batch, ids)


def assign_batch(ids: list[int]) -> str:
    """A new delivery workflow id, tied to the ids in the log."""
    workflow_id = f"deliver-{uuid.uuid4().hex}"
    messagelog.assign_workflow(current().db, ids, workflow_id)
    return workflow_id


def recover_undelivered() -> int:
    """At start-up: restart delivery of every message left RECEIVED or RETRYING by a stop or a crash, and
    compose parents whose last part settled just before it."""
    db = current().db
    by_workflow: dict[str | None, list[int]] = {}
    for message_id, workflow_id in messagelog.undelivered(db):
        by_workflow.setdefault(workflow_id, []).append(message_id)
    for workflow_id, ids in by_workflow.items():
        if workflow_id is None:
            start_batch(ids)
        else:
            engine.start(workflow_id, deliver_batch, ids)  # no-op when DBOS already recovered it
    released = settle_parents(messagelog.settled_waiting_parents(db))
    if released:
        start_batch(released)
    return sum(len(ids) for ids in by_workflow.values()) + len(released)


@engine.step()
def claim_orphans() -> dict[str, Any] | None:
    """Messages recorded a minute ago but never handed to a batch (the dispatcher failed), and parents
    whose parts all settled without them being composed, tied to a new batch: its id and theirs."""
    db = current().db
    orphans = messagelog.orphans(db, utcnow() - timedelta(minutes=1))
    orphans += settle_parents(messagelog.settled_waiting_parents(db))
    return {"workflowId": assign_batch(orphans), "ids": orphans} if orphans else None


@engine.step()
def expire_correlations() -> int:
    """Requests whose reply is overdue are marked EXPIRED (a reply may still come: it is then LATE)."""
    return correlations.expire_overdue(current().db)


@engine.workflow()
def sweep(_scheduled: object, _actual: object) -> int:
    """Run every minute by the hub, so nothing recorded waits for the next restart. The orphans' batch is
    started here, in the workflow: a step may not start one, and the batch's id, recorded by the step, makes a
    replay start nothing twice."""
    expire_correlations()
    claimed = claim_orphans()
    if claimed is None:
        return 0
    engine.start(claimed["workflowId"], deliver_batch, claimed["ids"])
    return len(claimed["ids"])


def resubmit(ids: list[int]) -> list[int]:
    """Send dead-lettered or held messages again (for a parent: its dead and held parts), as a new batch;
    returns the ids resubmitted. Messages that could not be mapped when they arrived are mapped now."""
    reopened = messagelog.reopen(current().db, ids)
    mapped = map_again(reopened)
    if mapped:
        start_batch(mapped)
    return reopened


def map_again(ids: list[int]) -> list[int]:
    """Map the messages among `ids` that have no outbound payload yet, with the lookups as they are now; those
    that still cannot be mapped are dead-lettered again. Returns the ids ready to deliver."""
    context = current()
    lookups = context.lookups.snapshot()
    failed = set()
    for row in messagelog.without_payload(context.db, ids):
        leg = LEGS[row.kind]
        try:
            if leg.map_again is None:
                raise ValueError(f"a {row.kind} message cannot be mapped again")
            messagelog.set_outbound_payload(context.db, row.id, leg.map_again(row, lookups, context.settings))
        except (LookupMissing, ValueError) as error:
            messagelog.dead_letter(context.db, [row.id], f"cannot map: {error}")
            failed.add(row.id)
    return [message_id for message_id in ids if message_id not in failed]


class Dispatcher:
    """Starts delivery batches: at once while fewer than `max_in_flight` batches are on their first attempt;
    otherwise gathers ids (up to `max_batch`) until one of them is, or `max_wait_s` has passed. The ids of one
    submission (a message's parts) stay in one batch, however many, so a run that keeps its order is one."""

    def __init__(self, max_in_flight: int = 2, max_batch: int = 500, max_wait_s: float = 0.25,
                 start: Callable[[list[int]], str] = start_batch) -> None:
        self.max_in_flight = max_in_flight
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self._start = start
        self._groups: list[list[int]] = []
        self._in_flight: dict[str, float] = {}
        self._lock = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="hub-dispatcher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, message_ids: tuple[int, ...] | list[int]) -> None:
        if not message_ids:
            return
        with self._lock:
            self._groups.append(list(message_ids))
            self._lock.notify()

    def first_attempt_done(self, workflow_id: str) -> None:
        with self._lock:
            if self._in_flight.pop(workflow_id, None) is not None:
                self._lock.notify()

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            self._lock.notify()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while True:
            with self._lock:
                batch = self._next_batch()
                if batch is None:
                    return
            try:
                workflow_id = self._start(batch)
            except Exception:  # the ids stay RECEIVED in the log; the sweep or the next start takes them
                log.exception("hub.dispatch_failed", count=len(batch))
                continue
            with self._lock:
                self._in_flight[workflow_id] = time.monotonic()

    def _next_batch(self) -> list[int] | None:
        """Under the lock: wait for ids and for room; None when stopping with nothing left. A batch is whole
        submissions, up to `max_batch` ids (one bigger submission alone)."""
        while not self._groups and not self._stopping:
            self._lock.wait()
        if not self._groups:
            return None
        waited_from = time.monotonic()
        while (self._busy() and self._waiting() < self.max_batch and not self._stopping
               and time.monotonic() - waited_from < self.max_wait_s):
            self._lock.wait(self.max_wait_s)
        batch = self._groups.pop(0)
        while self._groups and len(batch) + len(self._groups[0]) <= self.max_batch:
            batch += self._groups.pop(0)
        return batch

    def _waiting(self) -> int:
        return sum(len(group) for group in self._groups)

    def _busy(self) -> bool:
        stale = time.monotonic() - 30.0  # a batch this old on its first attempt no longer holds the others back
        for workflow_id in [w for w, started in self._in_flight.items() if started < stale]:
            del self._in_flight[workflow_id]
        return len(self._in_flight) >= self.max_in_flight
