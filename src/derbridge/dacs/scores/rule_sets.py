"""Named score rule sets as program managers save them, and the program each one scores.

Every save is checked whole by `compile_rules` (a refusal names each field and the position in its formula,
422) and raises the version by one when something changed; the person saving it is recorded. A program has at
most one rule set; attaching another replaces it, and a program without one is scored by the default rule set
(default_rules.py), shown here under the reserved name DEFAULT and never stored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from derbridge.clock import iso_utc, utcnow
from derbridge.dacs import ids
from derbridge.dacs.schema import program_score_rule_sets, programs, score_rule_sets
from derbridge.dacs.scores import default_rules
from derbridge.dacs.scores.formula import Condition, Rule, RuleSet, compile_rules
from derbridge.dacs.scores.inputs import EXTRA_INPUTS
from derbridge.errors import Conflict, InvalidInput, NotFound
from derbridge.store.db import reading

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,59}$"
RULE_SET_ID_DIGITS = 12


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=100)
    formula: str = Field(max_length=10_000)


class ConditionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    formula: str = Field(max_length=10_000)
    reason: str = Field(max_length=100)


class RuleSetBody(BaseModel):
    """A rule set's content; `compile_rules` checks the formulas, names, reasons and factors."""

    model_config = ConfigDict(extra="forbid")
    description: str | None = Field(default=None, max_length=254)
    rules: list[RuleIn] = Field(max_length=1000)
    eligibility: list[ConditionIn] = Field(default_factory=list, max_length=1000)
    factors: dict[str, list[float]] = Field(default_factory=dict, max_length=100)


class RuleSetCreate(RuleSetBody):
    name: str = Field(pattern=NAME_PATTERN, description="Letters, digits, '_', '.' and '-', at most 60")


@dataclass(frozen=True)
class Scoring:
    """The rule set a program is scored by: its name, version and the checked rules."""

    name: str
    version: int
    rule_set: RuleSet


def default_scoring() -> Scoring:
    return Scoring(default_rules.NAME, 1, compile_rules(default_rules.RULES, default_rules.ELIGIBILITY,
                                                        factors=default_rules.FACTORS, extra_inputs=EXTRA_INPUTS))


def create(engine: Engine, body: RuleSetCreate, who: str) -> dict[str, Any]:
    if body.name.upper() == default_rules.NAME:
        raise InvalidInput({"name": f"{default_rules.NAME} is the name of the default rule set"})
    _checked(body)
    now = utcnow()
    try:
        with engine.begin() as connection:
            connection.execute(sa.insert(score_rule_sets).values(
                rule_set_id=ids.new_id(RULE_SET_ID_DIGITS), name=body.name, version=1, created_by=who,
                created_at=now, updated_by=who, updated_at=now, **_content(body)))
    except IntegrityError as exc:
        raise Conflict(f"a score rule set named {body.name!r} exists already") from exc
    return get(engine, body.name)


def update(engine: Engine, name: str, body: RuleSetBody, who: str) -> dict[str, Any]:
    """Replace a rule set's content; its version goes up by one unless nothing changed."""
    _checked(body)
    content = _content(body)
    with engine.begin() as connection:
        row = _stored(connection, name)
        if any(getattr(row, column) != value for column, value in content.items()):
            connection.execute(sa.update(score_rule_sets).where(score_rule_sets.c.rule_set_id == row.rule_set_id)
                               .values(version=score_rule_sets.c.version + 1, updated_by=who,
                                       updated_at=utcnow(), **content))
        return _shown(connection, _stored(connection, name))


def delete(engine: Engine, name: str) -> None:
    """Remove a rule set no program uses (detach it first: those programs would fall back to the default)."""
    with engine.begin() as connection:
        row = _stored(connection, name)
        used_by = _programs_of(connection, row.rule_set_id)
        if used_by:
            raise Conflict(f"score rule set {name} is attached to {', '.join(used_by)}; detach it first")
        connection.execute(sa.delete(score_rule_sets).where(score_rule_sets.c.rule_set_id == row.rule_set_id))


def get(engine: Engine, name: str) -> dict[str, Any]:
    if name == default_rules.NAME:
        with reading(engine) as connection:
            return _default_shown(connection)
    with reading(engine) as connection:
        return _shown(connection, _stored(connection, name))


def list_all(engine: Engine) -> list[dict[str, Any]]:
    """The default rule set, then the stored ones by name."""
    with reading(engine) as connection:
        rows = connection.execute(sa.select(score_rule_sets).order_by(score_rule_sets.c.name)).all()
        return [_default_shown(connection), *(_shown(connection, row) for row in rows)]


def attach(engine: Engine, name: str, program_code: str, who: str) -> dict[str, Any]:
    """Make `name` the program's rule set, replacing the one it had."""
    if name == default_rules.NAME:
        raise InvalidInput({"name": "the default rule set scores every program without one: detach the "
                                    "program's rule set instead"})
    with engine.begin() as connection:
        row = _stored(connection, name)
        program_id = _program_id(connection, program_code)
        replaced = _attached_name(connection, program_id)
        connection.execute(sa.delete(program_score_rule_sets).where(
            program_score_rule_sets.c.program_id == program_id))
        connection.execute(sa.insert(program_score_rule_sets).values(
            program_id=program_id, rule_set_id=row.rule_set_id, attached_by=who, attached_at=utcnow()))
    return {"name": name, "programCode": program_code, "replaced": replaced}


def detach(engine: Engine, name: str, program_code: str) -> dict[str, Any]:
    """The program goes back to the default rule set."""
    with engine.begin() as connection:
        program_id = _program_id(connection, program_code)
        if _attached_name(connection, program_id) != name:
            raise NotFound("attachment", f"{name} → {program_code}", f"{program_code} is not scored by {name}")
        connection.execute(sa.delete(program_score_rule_sets).where(
            program_score_rule_sets.c.program_id == program_id))
    return {"name": name, "programCode": program_code, "detached": True}


def scoring_by_program(connection: Connection) -> dict[str, Scoring]:
    """The rule set of every program that has one, by program code (the others use `default_scoring`)."""
    a, r = program_score_rule_sets, score_rule_sets
    rows = connection.execute(sa.select(programs.c.program_code, r).select_from(
        a.join(r, r.c.rule_set_id == a.c.rule_set_id).join(programs, programs.c.program_id == a.c.program_id))).all()
    compiled: dict[str, Scoring] = {}
    for row in rows:
        if row.name not in compiled:
            compiled[row.name] = Scoring(row.name, row.version, _compiled(row))
    return {row.program_code: compiled[row.name] for row in rows}


def scoring_named(connection: Connection, name: str) -> Scoring:
    if name == default_rules.NAME:
        return default_scoring()
    row = _stored(connection, name)
    return Scoring(row.name, row.version, _compiled(row))


def _checked(body: RuleSetBody) -> RuleSet:
    return compile_rules([Rule(rule.name, rule.formula) for rule in body.rules],
                         [Condition(condition.formula, condition.reason) for condition in body.eligibility],
                         factors=body.factors, extra_inputs=EXTRA_INPUTS)


def _compiled(row: Any) -> RuleSet:
    return compile_rules([Rule(**rule) for rule in json.loads(row.rules)],
                         [Condition(**condition) for condition in json.loads(row.eligibility)],
                         factors=json.loads(row.factors), extra_inputs=EXTRA_INPUTS)


def _content(body: RuleSetBody) -> dict[str, Any]:
    return {"description": body.description,
            "rules": json.dumps([rule.model_dump() for rule in body.rules]),
            "eligibility": json.dumps([condition.model_dump() for condition in body.eligibility]),
            "factors": json.dumps(body.factors)}


def _stored(connection: Connection, name: str) -> Any:
    row = connection.execute(sa.select(score_rule_sets).where(score_rule_sets.c.name == name)).first()
    if row is None:
        raise NotFound("score rule set", name)
    return row


def _program_id(connection: Connection, program_code: str) -> str:
    found = connection.execute(sa.select(programs.c.program_id).where(
        programs.c.program_code == program_code)).scalar_one_or_none()
    if found is None:
        raise NotFound("program", program_code)
    return str(found)


def _attached_name(connection: Connection, program_id: str) -> str | None:
    return connection.execute(sa.select(score_rule_sets.c.name).join(
        program_score_rule_sets, program_score_rule_sets.c.rule_set_id == score_rule_sets.c.rule_set_id)
        .where(program_score_rule_sets.c.program_id == program_id)).scalar_one_or_none()


def _programs_of(connection: Connection, rule_set_id: str) -> list[str]:
    return list(connection.execute(sa.select(programs.c.program_code).join(
        program_score_rule_sets, program_score_rule_sets.c.program_id == programs.c.program_id)
        .where(program_score_rule_sets.c.rule_set_id == rule_set_id).order_by(programs.c.program_code)).scalars())


def _shown(connection: Connection, row: Any) -> dict[str, Any]:
    return {"name": row.name, "description": row.description, "builtIn": False, "version": row.version,
            "rules": json.loads(row.rules), "eligibility": json.loads(row.eligibility),
            "factors": json.loads(row.factors), "inputs": list(_compiled(row).inputs),
            "programCodes": _programs_of(connection, row.rule_set_id), "createdBy": row.created_by,
            "createdAt": iso_utc(row.created_at), "updatedBy": row.updated_by, "updatedAt": iso_utc(row.updated_at)}


def _default_shown(connection: Connection) -> dict[str, Any]:
    """The default rule set, and the ACTIVE programs it scores (those without a rule set of their own)."""
    without = (sa.select(programs.c.program_code).where(
        programs.c.status == "ACTIVE", programs.c.program_id.not_in(sa.select(program_score_rule_sets.c.program_id)))
        .order_by(programs.c.program_code))
    return {"name": default_rules.NAME, "description": default_rules.DESCRIPTION, "builtIn": True, "version": 1,
            "rules": [{"name": rule.name, "formula": rule.formula} for rule in default_rules.RULES],
            "eligibility": [{"formula": c.formula, "reason": c.reason} for c in default_rules.ELIGIBILITY],
            "factors": {name: list(values) for name, values in default_rules.FACTORS.items()},
            "inputs": list(default_scoring().rule_set.inputs),
            "programCodes": list(connection.execute(without).scalars()), "createdBy": None, "createdAt": None,
            "updatedBy": None, "updatedAt": None}
