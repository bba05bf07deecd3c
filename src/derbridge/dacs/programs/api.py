"""The agent API for program types, programs and their rules (operator credentials, under /api)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict

from derbridge.dacs.programs import programs, rules
from derbridge.runtime.system import Runtime


class Association(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    programCode: str = programs.CODE


def programs_router(runtime: Runtime) -> APIRouter:
    router = APIRouter(prefix="/api")

    def synced(result: dict[str, Any]) -> dict[str, Any]:
        """Sync requests leave now rather than at the sender's next poll."""
        if result.get("syncRequestId") or result.get("syncRequestIds"):
            runtime.wake_senders()
        return result

    @router.post("/program-types", status_code=201, tags=["programs"], summary="Create a program type")
    def create_program_type(body: programs.ProgramTypeCreate) -> dict[str, Any]:
        return programs.create_type(runtime.db, body)

    @router.get("/program-types", tags=["programs"], summary="List program types")
    def list_program_types() -> list[dict[str, Any]]:
        return programs.list_types(runtime.db)

    @router.get("/program-types/{code}", tags=["programs"], summary="One program type")
    def get_program_type(code: str) -> dict[str, Any]:
        return programs.get_type(runtime.db, code)

    @router.put("/program-types/{code}", tags=["programs"], summary="Replace a program type's details")
    def update_program_type(code: str, body: programs.ProgramTypeIn) -> dict[str, Any]:
        return programs.update_type(runtime.db, code, body)

    @router.post("/programs", status_code=201, tags=["programs"], summary="Create a program (as a DRAFT)")
    def create_program(body: programs.ProgramCreate) -> dict[str, Any]:
        return programs.create(runtime.db, body)

    @router.get("/programs", tags=["programs"], summary="List programs, optionally by status")
    def list_programs(status: programs.Status | None = None) -> list[dict[str, Any]]:
        return programs.list_all(runtime.db, status)

    @router.get("/programs/{code}", tags=["programs"], summary="One program with its rules and eligibility")
    def get_program(code: str) -> dict[str, Any]:
        return programs.get(runtime.db, code)

    @router.put("/programs/{code}", tags=["programs"], summary="Replace a program's details and eligibility")
    def update_program(code: str, body: programs.ProgramIn) -> dict[str, Any]:
        return programs.update(runtime.db, code, body)

    @router.post("/programs/{code}/status", tags=["programs"],
                 summary="Move a program to another status (becoming ACTIVE syncs its rules to DERMS)")
    def change_program_status(code: str, body: programs.StatusChange) -> dict[str, Any]:
        return synced(programs.change_status(runtime.db, code, body))

    @router.post("/rules", status_code=201, tags=["rules"], summary="Create a rule (no sync until associated)")
    def create_rule(body: rules.RuleIn) -> dict[str, Any]:
        return rules.create(runtime.db, body)

    @router.get("/rules", tags=["rules"], summary="List rules with the programs they are associated with")
    def list_rules() -> list[dict[str, Any]]:
        return rules.list_all(runtime.db)

    @router.get("/rules/{rule_id}", tags=["rules"], summary="One rule")
    def get_rule(rule_id: str) -> dict[str, Any]:
        return rules.get(runtime.db, rule_id)

    @router.put("/rules/{rule_id}", tags=["rules"],
                summary="Change a rule (syncs every ACTIVE program it is associated with)")
    def update_rule(rule_id: str, body: rules.RuleIn) -> dict[str, Any]:
        return synced(rules.update(runtime.db, rule_id, body))

    @router.delete("/rules/{rule_id}", status_code=204, tags=["rules"], summary="Delete an unassociated rule")
    def delete_rule(rule_id: str) -> Response:
        rules.delete(runtime.db, rule_id)
        return Response(status_code=204)

    @router.post("/rules/{rule_id}/programs", tags=["rules"],
                 summary="Associate a rule with a program (syncs if the program is ACTIVE)")
    def associate_rule(rule_id: str, body: Association) -> dict[str, Any]:
        return synced(rules.associate(runtime.db, rule_id, body.programCode))

    @router.delete("/rules/{rule_id}/programs/{program_code}", tags=["rules"],
                   summary="Disassociate a rule from a program (syncs if the program is ACTIVE)")
    def disassociate_rule(rule_id: str, program_code: str) -> dict[str, Any]:
        return synced(rules.disassociate(runtime.db, rule_id, program_code))

    return router
