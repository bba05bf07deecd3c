"""The operator's API for device scores (F7), under /api: score rule sets and the programs they score, a rule
set tried on one device, score runs on demand and the runs so far, and a device's latest score. Trials and runs
load polars, so their modules are imported when first asked for (the program system starts without it)."""

from __future__ import annotations

import threading
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from derbridge.dacs.programs.programs import CODE
from derbridge.dacs.scores import rule_sets
from derbridge.dacs.scores.schedule import Destination
from derbridge.runtime.system import Runtime

ACTOR_HEADER = "X-Derbridge-Actor"


class Attachment(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    programCode: str = CODE


class Trial(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    deviceId: str = Field(min_length=1, max_length=12)


def scores_router(runtime: Runtime, destination: Destination) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["device scores"])

    @router.post("/score-rule-sets", status_code=201, summary="Save a score rule set (checked: 422 names each "
                 "field and the position in its formula)")
    def create(body: rule_sets.RuleSetCreate, request: Request) -> dict[str, Any]:
        return rule_sets.create(runtime.db, body, who(request))

    @router.get("/score-rule-sets", summary="The default rule set, then the saved ones, with their programs")
    def list_all() -> list[dict[str, Any]]:
        return rule_sets.list_all(runtime.db)

    @router.get("/score-rule-sets/{name}", summary="One rule set (DEFAULT: the built-in one)")
    def get(name: str) -> dict[str, Any]:
        return rule_sets.get(runtime.db, name)

    @router.put("/score-rule-sets/{name}", summary="Replace a rule set's content (its version goes up)")
    def update(name: str, body: rule_sets.RuleSetBody, request: Request) -> dict[str, Any]:
        return rule_sets.update(runtime.db, name, body, who(request))

    @router.delete("/score-rule-sets/{name}", status_code=204, summary="Delete a rule set no program uses")
    def delete(name: str) -> Response:
        rule_sets.delete(runtime.db, name)
        return Response(status_code=204)

    @router.post("/score-rule-sets/{name}/programs", summary="Score a program by this rule set (replacing its own)")
    def attach(name: str, body: Attachment, request: Request) -> dict[str, Any]:
        return rule_sets.attach(runtime.db, name, body.programCode, who(request))

    @router.delete("/score-rule-sets/{name}/programs/{program_code}",
                   summary="Score a program by the default rule set again")
    def detach(name: str, program_code: str) -> dict[str, Any]:
        return rule_sets.detach(runtime.db, name, program_code)

    @router.post("/score-rule-sets/{name}/test", summary="What one device would score now by this rule set, and "
                 "why: every variable, every step, the score, eligibility and reason")
    def test(name: str, body: Trial) -> dict[str, Any]:
        from derbridge.dacs.scores import explain

        return explain.trial(runtime.db, body.deviceId, name)

    @router.post("/score-runs", status_code=202, summary="Score every device now: the run goes on in the "
                 "background (409 while another runs)")
    def run_now(request: Request) -> dict[str, Any]:
        from derbridge.dacs.scores import runs

        run_id = runs.start(runtime.db, runs.DEMAND, who(request))
        threading.Thread(target=_execute, args=(runtime, run_id, destination), name=f"score-run-{run_id}",
                         daemon=True).start()
        return runs.get(runtime.db, run_id)

    @router.get("/score-runs", summary="Score runs, newest first")
    def list_runs(limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> list[dict[str, Any]]:
        from derbridge.dacs.scores import runs

        return runs.runs(runtime.db, limit)

    @router.get("/score-runs/{run_id}", summary="One score run: status, counts by reason, timings, file")
    def get_run(run_id: str) -> dict[str, Any]:
        from derbridge.dacs.scores import runs

        return runs.get(runtime.db, run_id)

    @router.get("/devices/{device_id}/score", summary="A device's score from the latest run, with its components")
    def device_score(device_id: str) -> dict[str, Any]:
        from derbridge.dacs.scores import explain

        return explain.latest(runtime.db, device_id)

    @router.get("/device-scores", summary="The latest run's scores by device id, a page at a time (after: the "
                                          "last device id of the page before)")
    def device_scores(after: str = "", limit: int = 1000) -> list[dict[str, Any]]:
        from derbridge.dacs.scores import explain

        return explain.latest_scores(runtime.db, after, min(max(limit, 1), 100_000))

    return router


def who(request: Request) -> str:
    """The caller, and the person they name, for the record."""
    principal = str(getattr(request.state, "principal", "operator"))
    actor = request.headers.get(ACTOR_HEADER)
    return f"{principal} ({actor.strip()[:100]})" if actor and actor.strip() else principal


def _execute(runtime: Runtime, run_id: str, destination: Destination) -> None:
    """A run in the background: its fault is recorded on the run (FAILED) and logged, never raised here."""
    from derbridge.dacs.scores import runs

    try:
        runs.execute(runtime.db, run_id, destination)
    except Exception:  # noqa: BLE001 - recorded on the run by runs.execute
        return
    runtime.wake_senders()
