"""The durable engine: the only module that imports DBOS.

What the hub gets from it: durable workflows and steps, a workflow started once per key, durable sleep (for
retry backoff) and cron schedules. DBOS keeps its state in its own system database (SQLite by default,
PostgreSQL by URL); the executor id and application version are pinned so a restart recovers pending work.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dbos import DBOS, SetWorkflowID

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


def workflow_id() -> str:
    """Inside a workflow: its id."""
    return str(DBOS.workflow_id)


def sleep(seconds: float) -> None:
    """Durable sleep inside a workflow: a restart resumes the remaining time."""
    DBOS.sleep(seconds)


def schedule(name: str, cron: str, function: Callable[..., Any]) -> None:
    """Run `function(scheduled_time, actual_time)` on a 5- or 6-field cron; after launch."""
    DBOS.apply_schedules([{"schedule_name": name, "schedule": cron, "workflow_fn": function}])
