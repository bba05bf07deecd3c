"""DERMS's HTTP API for programs and availability: the F2 receiver the hub calls (/program), and the
operator's endpoints under /api (programs held, overridable rules, availability, participation, premises)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from derbridge.derms.availability import devices as device_availability
from derbridge.derms.availability import participation
from derbridge.derms.programs import rules as program_rules
from derbridge.errors import InvalidInput
from derbridge.runtime.system import Runtime
from derbridge.store.db import utcnow
from derbridge.web.batch import Answer, add_single_and_batch
from derbridge.web.problems import RejectionKeeper, problem_body

MsgAck = Callable[[str, str], dict[str, Any]]


class OverridableRules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reasons: list[str] = Field(max_length=20)


def program_integration_router(runtime: Runtime, msg_ack: MsgAck, keep_rejected: RejectionKeeper) -> APIRouter:
    router = APIRouter(tags=["integration"])

    def receive_program(body: program_rules.ProgramMessage) -> Answer:
        try:
            rule_set = program_rules.check_rules(body)
        except InvalidInput as exc:
            errors = [{"field": field, "message": problem, "type": "invalid_input"}
                      for field, problem in exc.problems.items()]
            return Answer(422, problem_body(422, "Invalid request", f"bad fields: {', '.join(exc.problems)}", errors))
        new = program_rules.apply(runtime.db, body, rule_set) != "duplicate"
        if new:
            runtime.wake_senders()
        return Answer(202 if new else 200, msg_ack(body.dacsMessageId, "ACCEPTED" if new else "DUPLICATE"))

    add_single_and_batch(router, "/program", program_rules.ProgramMessage, receive_program, keep_rejected,
                         summary="A program's whole rule set, versioned (F2)")
    return router


def program_operator_router(runtime: Runtime) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["programs and availability"])

    @router.get("/programs", summary="Programs and their rules as received from the program system")
    def list_programs() -> list[dict[str, Any]]:
        return program_rules.list_all(runtime.db)

    @router.get("/programs/{program_code}", summary="One program's rules and overridable rules")
    def get_program(program_code: str) -> dict[str, Any]:
        return program_rules.get(runtime.db, program_code)

    @router.put("/programs/{program_code}/overridable-rules",
                summary="Replace the rules (reason codes) a planner may override for this program")
    def set_overridable(program_code: str, body: OverridableRules) -> dict[str, Any]:
        return program_rules.set_overridable(runtime.db, program_code, body.reasons)

    @router.post("/availability", summary="Availability of devices, or of a program's fleet, for an event")
    async def availability(body: device_availability.AvailabilityRequest) -> dict[str, Any]:
        now = body.now or utcnow()
        judged = await run_in_threadpool(device_availability.evaluate, runtime.db, body, now)
        return device_availability.answer(body, judged, now)

    @router.put("/events/{event_id}/participations",
                summary="Record every device's part in one event (replaces the event's records)")
    def record_participations(event_id: Annotated[str, Path(min_length=1, max_length=40)],
                              body: participation.EventParticipations) -> dict[str, Any]:
        return {"eventId": event_id, "recorded": participation.record_event(runtime.db, event_id, body)}

    @router.put("/sensitive-premises/{cis_premise_id}",
                summary="Mark a premise as having life-support or sensitive-load equipment")
    def mark_sensitive(cis_premise_id: Annotated[str, Path(min_length=1, max_length=30)],
                       body: participation.SensitivePremise) -> dict[str, str]:
        return participation.mark_sensitive(runtime.db, cis_premise_id, body)

    @router.delete("/sensitive-premises/{cis_premise_id}", status_code=204, summary="Clear a premise's mark")
    def unmark_sensitive(cis_premise_id: str) -> Response:
        participation.unmark_sensitive(runtime.db, cis_premise_id)
        return Response(status_code=204)

    return router
