"""DERMS's HTTP API for programs: the F2 receiver the hub calls (/program), and the operator's endpoints under
/api (the rule sets held, the rules a planner may override)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from derbridge.derms.acks import msg_ack
from derbridge.derms.programs import rules as program_rules
from derbridge.errors import InvalidInput
from derbridge.runtime.system import Runtime
from derbridge.web.batch import Answer, add_single_and_batch
from derbridge.web.problems import RejectionKeeper, problem_body


class OverridableRules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reasons: list[str] = Field(max_length=20)


def program_integration_router(runtime: Runtime, keep_rejected: RejectionKeeper) -> APIRouter:
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
    router = APIRouter(prefix="/api", tags=["programs"])

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

    return router
