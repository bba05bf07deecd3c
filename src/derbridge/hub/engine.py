"""The durable engine: the only module that imports DBOS.

What flows get from it: durable workflows and steps, start by a business idempotency key, durable sleep
(for retry backoff), correlated replies (`wait_reply` / `deliver_reply`), cron schedules, queues with
concurrency limits, and resubmit. DBOS keeps its state in its own system database (SQLite by default,
PostgreSQL by URL); the executor id and application version are pinned so a restart recovers pending work.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from dbos import DBOS, SetEnqueueOptions, SetWorkflowID
from dbos._queue import QueueRateLimit

import derbridge
from derbridge.store.db import normalise_url

APP_NAME = "derbridge-hub"

workflow = DBOS.workflow
step = DBOS.step


def launch(system_database_url: str, executor_id: str = "local", polling_interval_s: float = 0.02) -> None:
    """Start the engine; pending workflows of this executor and version resume here."""
    url = system_database_url
    if url.startswith("postgresql+psycopg://"):
        url = "postgresql://" + url.split("://", 1)[1]
    DBOS(config={
        "name": APP_NAME,
        "system_database_url": normalise_url(url) if url.startswith("sqlite") else url,
        "executor_id": executor_id,
        "application_version": derbridge.__version__,
        "notification_listener_polling_interval_sec": polling_interval_s,
        "log_level": "WARNING",
    })
    DBOS.launch()


def shutdown() -> None:
    DBOS.destroy(destroy_registry=False)


def start(key: str, function: Callable[..., Any], *args: Any) -> str:
    """Start `function(*args)` durably under the id `key`; a second start with the same key is a no-op."""
    with SetWorkflowID(key):
        DBOS.start_workflow(function, *args)
    return key


def run(key: str, function: Callable[..., Any], *args: Any) -> Any:
    """Run a workflow to completion under `key` (once per key: a repeat returns the first result)."""
    with SetWorkflowID(key):
        return function(*args)


def result(key: str, timeout_s: float | None = None) -> Any:
    handle: Any = DBOS.retrieve_workflow(key)
    return handle.get_result(polling_interval_sec=0.05) if timeout_s is None else _wait(handle, timeout_s)


def _wait(handle: Any, timeout_s: float) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = handle.get_status().status
        if status not in ("PENDING", "ENQUEUED"):
            return handle.get_result(polling_interval_sec=0.05)
        time.sleep(0.05)
    raise TimeoutError(f"workflow {handle.get_workflow_id()} still running after {timeout_s} s")


def status(key: str) -> str | None:
    found = DBOS.get_workflow_status(key)
    return None if found is None else str(found.status)


def workflow_id() -> str:
    """Inside a workflow: its id."""
    return str(DBOS.workflow_id)


def sleep(seconds: float) -> None:
    """Durable sleep inside a workflow: a restart resumes the remaining time."""
    DBOS.sleep(seconds)


def wait_reply(topic: str, timeout_s: float) -> Any:
    """Inside a workflow: wait for a correlated reply on `topic`; None after the timeout."""
    return DBOS.recv(topic, timeout_seconds=timeout_s)


def deliver_reply(workflow_key: str, topic: str, message: Any) -> None:
    """Hand a reply to the workflow waiting under `workflow_key`."""
    DBOS.send(workflow_key, message, topic)


def register_queue(name: str, concurrency: int | None = None, per_worker: int | None = None,
                   limit_per_period: tuple[int, float] | None = None) -> None:
    """Queues are registered after launch; enqueueing to an unregistered one would wait forever."""
    limiter: QueueRateLimit | None = None
    if limit_per_period:
        limiter = {"limit": limit_per_period[0], "period": limit_per_period[1]}
    DBOS.register_queue(name, global_concurrency=concurrency, worker_concurrency=per_worker, limiter=limiter)


def enqueue(queue: str, key: str, function: Callable[..., Any], *args: Any) -> str:
    with SetWorkflowID(key), SetEnqueueOptions(deduplication_id=key):
        DBOS.enqueue_workflow(queue, function, *args)
    return key


def schedule(name: str, cron: str, function: Callable[..., Any]) -> None:
    """Run `function(scheduled_time, actual_time)` on a 5- or 6-field cron; after launch."""
    DBOS.apply_schedules([{"schedule_name": name, "schedule": cron, "workflow_fn": function}])


def resubmit(key: str, from_step: int | None = None) -> str:
    """Run a failed or cancelled workflow again: resume it, or fork it from a step under a new id."""
    if from_step is None:
        DBOS.resume_workflow(key)
        return key
    return str(DBOS.fork_workflow(key, from_step).get_workflow_id())
