"""Program types and programs: what customers enroll in, and the approval a program needs to become ACTIVE.

A program's status moves only along TRANSITIONS: DRAFT → PENDING_APPROVAL (submitted) → ACTIVE (approved by
a named approver) → INACTIVE; PENDING_APPROVAL → DRAFT (sent back); INACTIVE → PENDING_APPROVAL (resubmitted).
Anything else is refused with a 409 that names the moves allowed from the current status.

Only ACTIVE programs take enrollments, and only for their eligible device specifications and rates
(`program_by_code` gives enrollment validation what it needs). Becoming ACTIVE sends the program's rule set
to DERMS (F2) even if it is empty, because rules may have been associated, changed or removed while the
program was not active, when nothing is synced. Becoming INACTIVE sends nothing: DERMS keeps the last set.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from derbridge.clock import as_utc, utcnow
from derbridge.dacs.ids import new_id
from derbridge.dacs.programs.rules_sync import write_rules_sync
from derbridge.dacs.schema import (
    program_rates,
    program_rule_associations,
    program_rules,
    program_specifications,
    program_types,
    programs,
)
from derbridge.errors import Conflict, InvalidInput, NotFound
from derbridge.store.db import reading

PROGRAM_ID_DIGITS = 12
DRAFT, PENDING_APPROVAL, ACTIVE, INACTIVE = "DRAFT", "PENDING_APPROVAL", "ACTIVE", "INACTIVE"
Status = Literal["DRAFT", "PENDING_APPROVAL", "ACTIVE", "INACTIVE"]
TRANSITIONS: dict[tuple[str, str], str] = {
    (DRAFT, PENDING_APPROVAL): "submit for approval",
    (PENDING_APPROVAL, ACTIVE): "approve (names the approver)",
    (PENDING_APPROVAL, DRAFT): "send back for changes",
    (ACTIVE, INACTIVE): "deactivate",
    (INACTIVE, PENDING_APPROVAL): "resubmit for approval",
}
CODE = Field(min_length=1, max_length=30, pattern=r"^[A-Z0-9][A-Z0-9_-]*$")


# ---- program types ----------------------------------------------------------------------------------------

class ProgramTypeIn(BaseModel):
    """What an agent enters for a program type; the code is the key."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    description: str = Field(min_length=1, max_length=254)
    category: str = CODE
    deviceRequired: bool
    preemptiveOptOutAllowed: bool
    optOutCutoffMinutes: int | None = Field(default=None, ge=0, le=7 * 24 * 60)
    unavailabilityAllowed: bool

    @field_validator("optOutCutoffMinutes")
    @classmethod
    def cutoff_only_with_opt_out(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is not None and info.data.get("preemptiveOptOutAllowed") is False:
            raise ValueError("a cut-off needs preemptiveOptOutAllowed to be true")
        return value


class ProgramTypeCreate(ProgramTypeIn):
    programTypeCode: str = CODE


def create_type(engine: Engine, data: ProgramTypeCreate) -> dict[str, Any]:
    now = utcnow()
    try:
        with engine.begin() as connection:
            connection.execute(sa.insert(program_types).values(
                program_type_code=data.programTypeCode, created_at=now, updated_at=now, **_type_columns(data)))
    except IntegrityError as exc:
        raise Conflict(f"program type {data.programTypeCode!r} already exists") from exc
    return get_type(engine, data.programTypeCode)


def update_type(engine: Engine, code: str, data: ProgramTypeIn) -> dict[str, Any]:
    with engine.begin() as connection:
        changed = connection.execute(sa.update(program_types).where(program_types.c.program_type_code == code)
                                     .values(updated_at=utcnow(), **_type_columns(data))).rowcount
    if not changed:
        raise NotFound("program type", code)
    return get_type(engine, code)


def get_type(engine: Engine, code: str) -> dict[str, Any]:
    with reading(engine) as connection:
        row = connection.execute(sa.select(program_types).where(program_types.c.program_type_code == code)).first()
    if row is None:
        raise NotFound("program type", code)
    return describe_type(row)


def list_types(engine: Engine) -> list[dict[str, Any]]:
    with reading(engine) as connection:
        rows = connection.execute(sa.select(program_types).order_by(program_types.c.program_type_code)).all()
    return [describe_type(row) for row in rows]


def _type_columns(data: ProgramTypeIn) -> dict[str, Any]:
    return {"description": data.description, "category": data.category, "device_required": data.deviceRequired,
            "preemptive_optout_allowed": data.preemptiveOptOutAllowed,
            "optout_cutoff_minutes": data.optOutCutoffMinutes, "unavailability_allowed": data.unavailabilityAllowed}


def describe_type(row: Any) -> dict[str, Any]:
    return {"programTypeCode": row.program_type_code, "description": row.description, "category": row.category,
            "deviceRequired": row.device_required, "preemptiveOptOutAllowed": row.preemptive_optout_allowed,
            "optOutCutoffMinutes": row.optout_cutoff_minutes, "unavailabilityAllowed": row.unavailability_allowed}


# ---- programs ---------------------------------------------------------------------------------------------

class ProgramIn(BaseModel):
    """What an agent enters for a program; the code is the key, the status moves through `change_status`."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=100)
    programTypeCode: str = CODE
    startDate: date
    endDate: date | None = None
    eligibleSpecifications: list[str] = Field(default_factory=list, max_length=500)
    eligibleRates: list[str] = Field(default_factory=list, max_length=500)

    @field_validator("endDate")
    @classmethod
    def end_not_before_start(cls, value: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("startDate")
        if value is not None and start is not None and value < start:
            raise ValueError(f"endDate {value} is before startDate {start}")
        return value

    @field_validator("eligibleSpecifications", "eligibleRates")
    @classmethod
    def distinct_codes(cls, values: list[str], info: ValidationInfo) -> list[str]:
        longest = 60 if info.field_name == "eligibleSpecifications" else 30
        cleaned = [value.strip() for value in values]
        if any(not 1 <= len(value) <= longest for value in cleaned):
            raise ValueError(f"each entry must be 1 to {longest} characters")
        if len(set(cleaned)) != len(cleaned):
            raise ValueError("entries must not repeat")
        return cleaned


class ProgramCreate(ProgramIn):
    programCode: str = CODE


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    status: Status
    approvedBy: str | None = Field(default=None, min_length=1, max_length=100)


@dataclass(frozen=True)
class Program:
    """A program as enrollment validation needs it: only ACTIVE programs enroll, only eligible specs and rates."""

    program_id: str
    program_code: str
    name: str
    program_type_code: str
    status: str
    start_date: date
    end_date: date | None
    eligible_specifications: frozenset[str]
    eligible_rates: frozenset[str]

    @property
    def is_active(self) -> bool:
        return self.status == ACTIVE


@dataclass(frozen=True)
class ProgramType:
    program_type_code: str
    category: str
    device_required: bool
    preemptive_optout_allowed: bool
    optout_cutoff_minutes: int | None
    unavailability_allowed: bool


def program_by_code(connection: Connection, code: str) -> Program | None:
    row = connection.execute(sa.select(programs).where(programs.c.program_code == code)).first()
    if row is None:
        return None
    specifications = connection.execute(sa.select(program_specifications.c.specification)
                                        .where(program_specifications.c.program_id == row.program_id)).scalars()
    rates = connection.execute(sa.select(program_rates.c.rate_code)
                               .where(program_rates.c.program_id == row.program_id)).scalars()
    return Program(program_id=row.program_id, program_code=row.program_code, name=row.name,
                   program_type_code=row.program_type_code, status=row.status, start_date=row.start_date,
                   end_date=row.end_date, eligible_specifications=frozenset(specifications),
                   eligible_rates=frozenset(rates))


def program_type_by_code(connection: Connection, code: str) -> ProgramType | None:
    row = connection.execute(sa.select(program_types).where(program_types.c.program_type_code == code)).first()
    if row is None:
        return None
    return ProgramType(program_type_code=row.program_type_code, category=row.category,
                       device_required=row.device_required, preemptive_optout_allowed=row.preemptive_optout_allowed,
                       optout_cutoff_minutes=row.optout_cutoff_minutes,
                       unavailability_allowed=row.unavailability_allowed)


def create(engine: Engine, data: ProgramCreate) -> dict[str, Any]:
    """A new program starts as a DRAFT."""
    now = utcnow()
    program_id = new_id(PROGRAM_ID_DIGITS)
    try:
        with engine.begin() as connection:
            _require_type(connection, data.programTypeCode)
            connection.execute(sa.insert(programs).values(
                program_id=program_id, program_code=data.programCode, status=DRAFT, version=1, rules_version=0,
                created_at=now, updated_at=now, **_program_columns(data)))
            _replace_eligibility(connection, program_id, data)
    except IntegrityError as exc:
        raise Conflict(f"program {data.programCode!r} already exists") from exc
    return get(engine, data.programCode)


def update(engine: Engine, code: str, data: ProgramIn) -> dict[str, Any]:
    """Replace a program's details and eligibility, in any status (no sync: F2 carries rules only)."""
    with engine.begin() as connection:
        program = _require_program(connection, code)
        _require_type(connection, data.programTypeCode)
        connection.execute(sa.update(programs).where(programs.c.program_id == program.program_id)
                           .values(version=programs.c.version + 1, updated_at=utcnow(), **_program_columns(data)))
        _replace_eligibility(connection, program.program_id, data)
    return get(engine, code)


def change_status(engine: Engine, code: str, change: StatusChange) -> dict[str, Any]:
    """Move a program along one of TRANSITIONS; becoming ACTIVE syncs its rule set to DERMS."""
    with engine.begin() as connection:
        program = _require_program(connection, code)
        if (program.status, change.status) not in TRANSITIONS:
            allowed = [f"{to} ({what})" for (frm, to), what in TRANSITIONS.items() if frm == program.status]
            raise Conflict(f"program {code} is {program.status} and cannot become {change.status}; "
                           f"from {program.status} it can become: {', '.join(allowed) or 'nothing'}")
        if change.status == ACTIVE and not change.approvedBy:
            raise InvalidInput({"approvedBy": "approving a program needs the approver's name"})
        approval = {"approved_by": change.approvedBy, "approved_at": utcnow()} if change.status == ACTIVE else {}
        moved = connection.execute(
            sa.update(programs).where(programs.c.program_id == program.program_id, programs.c.status == program.status)
            .values(status=change.status, version=programs.c.version + 1, updated_at=utcnow(), **approval)).rowcount
        if not moved:
            raise Conflict(f"program {code} changed status at the same time; read it again")
        sync_request_id = write_rules_sync(connection, program.program_id) if change.status == ACTIVE else None
    return {**get(engine, code), "syncRequestId": sync_request_id}


def get(engine: Engine, code: str) -> dict[str, Any]:
    with reading(engine) as connection:
        program = program_by_code(connection, code)
        if program is None:
            raise NotFound("program", code)
        row = connection.execute(sa.select(programs).where(programs.c.program_id == program.program_id)).one()
        rules = connection.execute(
            sa.select(program_rules.c.rule_id, program_rules.c.rule_code)
            .join(program_rule_associations, program_rule_associations.c.rule_id == program_rules.c.rule_id)
            .where(program_rule_associations.c.program_id == program.program_id)
            .order_by(program_rules.c.rule_code)).all()
    return describe(program, row, [{"ruleId": r.rule_id, "ruleCode": r.rule_code} for r in rules])


def list_all(engine: Engine, status: str | None = None) -> list[dict[str, Any]]:
    query = sa.select(programs.c.program_code).order_by(programs.c.program_code)
    if status:
        query = query.where(programs.c.status == status)
    with reading(engine) as connection:
        codes = connection.execute(query).scalars().all()
    return [get(engine, code) for code in codes]


def _require_program(connection: Connection, code: str) -> Program:
    program = program_by_code(connection, code)
    if program is None:
        raise NotFound("program", code)
    return program


def _require_type(connection: Connection, code: str) -> None:
    if program_type_by_code(connection, code) is None:
        raise InvalidInput({"programTypeCode": f"no program type {code!r}"})


def _program_columns(data: ProgramIn) -> dict[str, Any]:
    return {"name": data.name, "program_type_code": data.programTypeCode, "start_date": data.startDate,
            "end_date": data.endDate}


def _replace_eligibility(connection: Connection, program_id: str, data: ProgramIn) -> None:
    connection.execute(sa.delete(program_specifications).where(program_specifications.c.program_id == program_id))
    connection.execute(sa.delete(program_rates).where(program_rates.c.program_id == program_id))
    if data.eligibleSpecifications:
        connection.execute(sa.insert(program_specifications), [
            {"program_id": program_id, "specification": spec} for spec in data.eligibleSpecifications])
    if data.eligibleRates:
        connection.execute(sa.insert(program_rates), [
            {"program_id": program_id, "rate_code": rate} for rate in data.eligibleRates])


def describe(program: Program, row: Any, rules: list[dict[str, str]]) -> dict[str, Any]:
    approved_at = as_utc(row.approved_at)
    return {
        "programId": program.program_id, "programCode": program.program_code, "name": program.name,
        "programTypeCode": program.program_type_code, "status": program.status,
        "approvedBy": row.approved_by, "approvedAt": approved_at.isoformat() if approved_at else None,
        "startDate": program.start_date.isoformat(),
        "endDate": program.end_date.isoformat() if program.end_date else None,
        "eligibleSpecifications": sorted(program.eligible_specifications),
        "eligibleRates": sorted(program.eligible_rates),
        "rules": rules, "rulesVersion": row.rules_version, "version": row.version,
    }
