"""DERMS's HTTP API: the composition of its capabilities' routers, each behind the callers it serves.

The documented paths the hub calls (/aggregator, /program, /enroll, /status_check, /enroll-to-dacs/results),
the acks of reservation device lists (/reserveDeviceAck) and the files it PUTs (/files/…) take the hub's
credential; aggregators enroll devices under /api/aggregator; operators have the rest under /api. A scheduler
moves events on the shared clock, releasing the devices of an event it cancels; the dispatch worker (in
DermsServices) dispatches each stage as it starts and sends the outcomes after the event.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import Engine

from derbridge.clock import utcnow
from derbridge.config import Settings
from derbridge.derms.aggregators import api as aggregators
from derbridge.derms.availability import api as availability
from derbridge.derms.customers.api import CIS_PREFIX, cis_uploads
from derbridge.derms.dispatch import api as dispatch
from derbridge.derms.dispatch.stages import stop as stop_dispatch
from derbridge.derms.enrollment import api as enrollment
from derbridge.derms.events import api as events
from derbridge.derms.events.events import advance
from derbridge.derms.headend import api as headend
from derbridge.derms.network.api import IMPORT_PREFIX, network_router
from derbridge.derms.optouts import api as optouts
from derbridge.derms.optouts.drops import DROPS_TASK
from derbridge.derms.programs import api as programs
from derbridge.derms.registry import api as registry
from derbridge.derms.reservations import api as reservations
from derbridge.derms.reservations import backfills
from derbridge.derms.reservations.reserve import release
from derbridge.derms.schema import outbound_files, outbound_messages, rejected_requests
from derbridge.derms.scores import api as scores
from derbridge.derms.services import DermsServices
from derbridge.derms.status_checks import api as status_checks
from derbridge.derms.unavailability import api as unavailability
from derbridge.runtime.system import Outbox, Runtime, Task
from derbridge.tables.uploads import table_upload_router
from derbridge.web.apps import health_and_metrics, new_app
from derbridge.web.auth import require
from derbridge.web.rejections import rejection_keeper

FILE_PATHS = (registry.FILES_PREFIX, f"{CIS_PREFIX}/", IMPORT_PREFIX)


def create_app(settings: Settings) -> FastAPI:
    instance = settings.derms_instance_id
    runtime = Runtime("derms", [Outbox(outbound_messages, lambda row: row.message_key)], files=outbound_files,
                      tasks=[Task("advance-events", 1.0, lambda db: advance(db, utcnow(), instance, release))])
    models = reservations.load_models(settings)
    files = settings.data_dir / "derms-files"

    def drop_and_backfill(db: Engine) -> None:
        """Devices customers opted out or declared unavailable, dropped from their reservations and backfilled;
        a task woken by each drop recorded (and run every few polls for those a restart left)."""
        if backfills.take_pending(db, models, files, instance, utcnow()):
            runtime.wake_senders()

    runtime.tasks.append(Task(DROPS_TASK, settings.sender_poll_s * 4, drop_and_backfill))
    services = DermsServices(runtime)
    keep_rejected = rejection_keeper(rejected_requests, lambda: runtime.db)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        """The runtime (database, outbox senders), then the head ends and the workers."""
        async with runtime.lifespan(settings)(app):
            await run_in_threadpool(services.open, settings)
            try:
                yield
            finally:
                await run_in_threadpool(services.close)

    app, authenticator = new_app("derms", settings, lifespan, keep_rejected, "Reference DERMS (Edge DERMS role).",
                                 file_paths=FILE_PATHS)
    app.state.services = services
    hub = [Depends(require(authenticator, {"hub", "operator"}))]
    aggregator = [Depends(require(authenticator, {"aggregator", "operator"}))]
    operator = [Depends(require(authenticator, {"operator"}))]

    app.include_router(aggregators.integration_router(runtime, keep_rejected), dependencies=hub)
    app.include_router(programs.program_integration_router(runtime, keep_rejected), dependencies=hub)
    app.include_router(registry.integration_router(services, settings, keep_rejected), dependencies=hub)
    app.include_router(status_checks.integration_router(services, keep_rejected), dependencies=hub)
    app.include_router(enrollment.integration_router(services, keep_rejected), dependencies=hub)
    app.include_router(optouts.optout_integration_router(runtime, keep_rejected), dependencies=hub)
    app.include_router(unavailability.unavailability_integration_router(runtime, keep_rejected), dependencies=hub)
    app.include_router(reservations.integration_router(runtime, keep_rejected), dependencies=hub)
    app.include_router(scores.integration_router(services, settings, keep_rejected), dependencies=hub)

    app.include_router(enrollment.aggregator_router(services, settings, keep_rejected), dependencies=aggregator)

    app.include_router(aggregators.operator_router(runtime), dependencies=operator)
    app.include_router(programs.program_operator_router(runtime), dependencies=operator)
    app.include_router(availability.operator_router(runtime), dependencies=operator)
    app.include_router(optouts.optout_operator_router(runtime), dependencies=operator)
    app.include_router(unavailability.unavailability_operator_router(runtime), dependencies=operator)
    app.include_router(events.operator_router(runtime, settings, release, stop_dispatch), dependencies=operator)
    app.include_router(reservations.operator_router(runtime, settings, models), dependencies=operator)
    app.include_router(dispatch.operator_router(services), dependencies=operator)
    app.include_router(scores.operator_router(services), dependencies=operator)
    app.include_router(registry.operator_router(services), dependencies=operator)
    app.include_router(status_checks.operator_router(services), dependencies=operator)
    app.include_router(headend.operator_router(services), dependencies=operator)
    app.include_router(table_upload_router(cis_uploads(runtime, settings), CIS_PREFIX), dependencies=operator)
    app.include_router(network_router(runtime, settings, keep_rejected), dependencies=operator)
    app.include_router(health_and_metrics(authenticator, "derms", None))
    return app
