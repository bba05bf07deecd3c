"""The program system's HTTP API: the composition of its capabilities' routers, each behind the callers it serves.

The agents' API lives under /api (operator credential); the vendor's cross-system API under /rest/apis/cross
and the files under /rest/files take the hub's credential.
"""

from __future__ import annotations

from fastapi import Depends, FastAPI

from derbridge.config import Settings
from derbridge.dacs.aggregators.api import aggregator_router
from derbridge.dacs.customers.api import CIS_PREFIX, cis_uploads
from derbridge.dacs.enrollment import api as enrollment
from derbridge.dacs.enrollment.queries import counts_by_status
from derbridge.dacs.enrollment.setup import expire_status_checks
from derbridge.dacs.events import api as events
from derbridge.dacs.legacy.api import LEGACY_PREFIX, ack_file_router, legacy_router
from derbridge.dacs.network.api import FILES_PREFIX, network_file_router, network_location_router
from derbridge.dacs.optouts.api import optout_router
from derbridge.dacs.outcomes.api import outcome_file_router, outcome_router
from derbridge.dacs.programs.api import programs_router
from derbridge.dacs.schema import outbound_files, outbound_messages, rejected_requests, sync_requests
from derbridge.dacs.scores.api import scores_router
from derbridge.dacs.scores.schedule import score_destination, score_tasks
from derbridge.dacs.sync import sync_requests as sync
from derbridge.dacs.sync.api import acknowledgement_router, sync_request_router
from derbridge.dacs.unavailability.api import unavailability_router
from derbridge.runtime.system import Outbox, Runtime, Task
from derbridge.tables.uploads import table_upload_router
from derbridge.web.apps import health_and_metrics, new_app
from derbridge.web.auth import require
from derbridge.web.rejections import rejection_keeper


def create_app(settings: Settings) -> FastAPI:
    runtime = Runtime(
        "dacs",
        [Outbox(sync_requests, lambda row: row.sync_request_id),
         Outbox(outbound_messages, lambda row: row.message_key)],
        files=outbound_files,
        tasks=[Task("expire-status-checks", 1.0, expire_status_checks), *score_tasks(settings)])
    keep_rejected = rejection_keeper(rejected_requests, lambda: runtime.db)
    app, authenticator = new_app("dacs", settings, runtime.lifespan(settings), keep_rejected,
                                 "Reference program system (DACS/CPMCS role).",
                                 file_paths=(f"{CIS_PREFIX}/", FILES_PREFIX, LEGACY_PREFIX))
    operator = [Depends(require(authenticator, {"operator"}))]
    hub = [Depends(require(authenticator, {"hub", "operator"}))]

    app.include_router(aggregator_router(runtime), dependencies=operator)
    app.include_router(sync_request_router(runtime), dependencies=operator)
    app.include_router(programs_router(runtime), dependencies=operator)
    app.include_router(enrollment.agent_router(runtime, settings), dependencies=operator)
    app.include_router(network_location_router(runtime), dependencies=operator)
    app.include_router(events.agent_router(runtime), dependencies=operator)
    app.include_router(legacy_router(runtime, settings, keep_rejected), dependencies=operator)
    app.include_router(scores_router(runtime, score_destination(settings)), dependencies=operator)
    app.include_router(optout_router(runtime), dependencies=operator)
    app.include_router(unavailability_router(runtime), dependencies=operator)
    app.include_router(table_upload_router(cis_uploads(runtime, settings), CIS_PREFIX), dependencies=operator)

    app.include_router(acknowledgement_router(runtime, keep_rejected), dependencies=hub)
    app.include_router(enrollment.cross_router(runtime, settings, keep_rejected), dependencies=hub)
    app.include_router(network_file_router(runtime, settings, keep_rejected), dependencies=hub)
    app.include_router(events.cross_router(runtime, keep_rejected), dependencies=hub)
    app.include_router(ack_file_router(runtime, settings, keep_rejected), dependencies=hub)
    app.include_router(outcome_router(runtime, keep_rejected), dependencies=hub)
    app.include_router(outcome_file_router(runtime, settings, keep_rejected), dependencies=hub)
    app.include_router(health_and_metrics(authenticator, "dacs", None, lambda: {
        "syncRequests": sync.counts_by_status(runtime.db),
        "enrollments": counts_by_status(runtime.db)}))
    return app
