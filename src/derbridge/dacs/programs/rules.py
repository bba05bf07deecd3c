"""Program rules (F2): constraints on events, defined on their own and then associated with programs.

Sync follows the documented trigger: a sync request is written in the same transaction when a rule is
associated with or disassociated from an ACTIVE program, or when a rule associated with ACTIVE programs is
changed (one request per such program; a save that changes nothing sends nothing). Programs in any other
status write none; activating a program sends its whole set (programs.py). Each request carries the
program's whole rule set with a version (rules_sync.py).

A program with several rules is bound by all of them: DERMS combines them into the most restrictive set,
intersecting their event days and daily windows. A rule that would leave a program no common event day or
no common time of day is refused here (409, naming the rules), whatever the program's status.
"""

from __future__ import annotations

from datetime import time
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from derbridge.clock import utcnow
from derbridge.dacs.ids import new_id
from derbridge.dacs.programs.programs import ACTIVE, CODE
from derbridge.dacs.programs.rules_sync import DAY_CODES, associated_rules, rule_fields, write_rules_sync
from derbridge.dacs.schema import program_rule_associations, program_rules, programs
from derbridge.errors import Conflict, InvalidInput, NotFound
from derbridge.store.db import reading

RULE_ID_DIGITS = 12
DayCode = Literal["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]
CycleFrequency = Literal["WEEKLY", "MONTHLY", "SEASONAL"]
COUNT = Field(default=None, ge=0, le=100_000)


class EventWindowIn(BaseModel):
    """The local time of day within which events must lie, e.g. 12:00–19:00."""

    model_config = ConfigDict(extra="forbid")
    start: time
    end: time

    @field_validator("start", "end")
    @classmethod
    def local_time(cls, value: time) -> time:
        if value.tzinfo is not None:
            raise ValueError("must be a local time of day, without an offset")
        return value

    @field_validator("end")
    @classmethod
    def after_start(cls, value: time, info: ValidationInfo) -> time:
        start = info.data.get("start")
        if start is not None and value <= start:
            raise ValueError(f"end {value.isoformat()} must be after start {start.isoformat()} on the same day")
        return value


class RuleIn(BaseModel):
    """What an agent enters for a rule. Caps left out (null) mean "no cap"."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    ruleCode: str = CODE
    description: str = Field(min_length=1, max_length=254)
    availableForEvents: bool
    allowedOverrides: int = Field(ge=0, le=100_000)
    maxEventDurationMinutes: int = Field(ge=1, le=7 * 24 * 60)
    allowEventDays: list[DayCode] = Field(min_length=1, max_length=7)
    cycleFrequency: CycleFrequency
    maxEventsPerSeason: int | None = COUNT
    maxEventsPerMonth: int | None = COUNT
    maxEventsPerWeek: int | None = COUNT
    maxEventHoursPerYear: float | None = Field(default=None, ge=0, le=8784, allow_inf_nan=False)
    eventWindow: EventWindowIn
    minNoticeMinutes: int = Field(ge=0, le=90 * 24 * 60)
    maxConsecutiveDays: int | None = Field(default=None, ge=1, le=366)
    excludeLifeSupport: bool = True

    @field_validator("allowEventDays")
    @classmethod
    def distinct_days(cls, days: list[str]) -> list[str]:
        if len(set(days)) != len(days):
            raise ValueError("days must not repeat")
        return sorted(days, key=DAY_CODES.index)


def create(engine: Engine, data: RuleIn) -> dict[str, Any]:
    """A new rule stands alone: nothing is synced until it is associated with an ACTIVE program."""
    rule_id = new_id(RULE_ID_DIGITS)
    now = utcnow()
    try:
        with engine.begin() as connection:
            connection.execute(sa.insert(program_rules).values(
                rule_id=rule_id, version=1, created_at=now, updated_at=now, **_columns(data)))
    except IntegrityError as exc:
        raise Conflict(f"rule code {data.ruleCode!r} is taken") from exc
    return get(engine, rule_id)


def update(engine: Engine, rule_id: str, data: RuleIn) -> dict[str, Any]:
    """Change a rule; every ACTIVE program it is associated with gets its new rule set (one sync each)."""
    columns = _columns(data)
    try:
        with engine.begin() as connection:
            rule = _require_rule(connection, rule_id)
            if all(getattr(rule, name) == value for name, value in columns.items()):
                return {**get_with(connection, rule_id), "syncRequestIds": []}
            used_by = _programs_of(connection, rule_id)
            for program in used_by:
                others = [r._mapping for r in associated_rules(connection, program.program_id)
                          if r.rule_id != rule_id]
                _check_combination(program.program_code, [*others, {**rule._mapping, **columns}])
            connection.execute(sa.update(program_rules).where(program_rules.c.rule_id == rule_id)
                               .values(version=program_rules.c.version + 1, updated_at=utcnow(), **columns))
            sync_request_ids = [write_rules_sync(connection, program.program_id)
                                for program in used_by if program.status == ACTIVE]
            return {**get_with(connection, rule_id), "syncRequestIds": sync_request_ids}
    except IntegrityError as exc:
        raise Conflict(f"rule code {data.ruleCode!r} is taken") from exc


def delete(engine: Engine, rule_id: str) -> None:
    """Remove a rule that no program uses (disassociate it first: that is what DERMS must learn)."""
    with engine.begin() as connection:
        _require_rule(connection, rule_id)
        used_by = [program.program_code for program in _programs_of(connection, rule_id)]
        if used_by:
            raise Conflict(f"rule {rule_id} is associated with {', '.join(used_by)}; disassociate it first")
        connection.execute(sa.delete(program_rules).where(program_rules.c.rule_id == rule_id))


def associate(engine: Engine, rule_id: str, program_code: str) -> dict[str, Any]:
    with engine.begin() as connection:
        rule = _require_rule(connection, rule_id)
        program = connection.execute(sa.select(programs).where(programs.c.program_code == program_code)).first()
        if program is None:
            raise InvalidInput({"programCode": f"no program {program_code!r}"})
        current = associated_rules(connection, program.program_id)
        if any(r.rule_id == rule_id for r in current):
            raise Conflict(f"rule {rule_id} is already associated with program {program_code}")
        _check_combination(program_code, [*(r._mapping for r in current), rule._mapping])
        connection.execute(sa.insert(program_rule_associations).values(
            program_id=program.program_id, rule_id=rule_id, associated_at=utcnow()))
        sync_request_id = write_rules_sync(connection, program.program_id) if program.status == ACTIVE else None
    return {"ruleId": rule_id, "programCode": program_code, "syncRequestId": sync_request_id}


def disassociate(engine: Engine, rule_id: str, program_code: str) -> dict[str, Any]:
    with engine.begin() as connection:
        _require_rule(connection, rule_id)
        program = connection.execute(sa.select(programs).where(programs.c.program_code == program_code)).first()
        if program is None:
            raise NotFound("program", program_code)
        removed = connection.execute(sa.delete(program_rule_associations).where(
            program_rule_associations.c.program_id == program.program_id,
            program_rule_associations.c.rule_id == rule_id)).rowcount
        if not removed:
            raise Conflict(f"rule {rule_id} is not associated with program {program_code}")
        sync_request_id = write_rules_sync(connection, program.program_id) if program.status == ACTIVE else None
    return {"ruleId": rule_id, "programCode": program_code, "syncRequestId": sync_request_id}


def get(engine: Engine, rule_id: str) -> dict[str, Any]:
    with reading(engine) as connection:
        return get_with(connection, rule_id)


def get_with(connection: Connection, rule_id: str) -> dict[str, Any]:
    rule = _require_rule(connection, rule_id)
    return describe(rule, [program.program_code for program in _programs_of(connection, rule_id)])


def list_all(engine: Engine) -> list[dict[str, Any]]:
    with reading(engine) as connection:
        rules = connection.execute(sa.select(program_rules).order_by(program_rules.c.rule_code)).all()
        links = connection.execute(
            sa.select(program_rule_associations.c.rule_id, programs.c.program_code)
            .join(programs, programs.c.program_id == program_rule_associations.c.program_id)
            .order_by(programs.c.program_code)).all()
    codes: dict[str, list[str]] = {}
    for link in links:
        codes.setdefault(link.rule_id, []).append(link.program_code)
    return [describe(rule, codes.get(rule.rule_id, [])) for rule in rules]


def _require_rule(connection: Connection, rule_id: str) -> Any:
    rule = connection.execute(sa.select(program_rules).where(program_rules.c.rule_id == rule_id)).first()
    if rule is None:
        raise NotFound("rule", rule_id)
    return rule


def _programs_of(connection: Connection, rule_id: str) -> list[Any]:
    return list(connection.execute(
        sa.select(programs).join(program_rule_associations,
                                 program_rule_associations.c.program_id == programs.c.program_id)
        .where(program_rule_associations.c.rule_id == rule_id).order_by(programs.c.program_code)).all())


def _check_combination(program_code: str, rules: list[Any]) -> None:
    """The rules of one program must share at least one event day and some time of day."""
    names = ", ".join(sorted(rule["rule_code"] for rule in rules))
    common_days = set(DAY_CODES).intersection(*(rule["allow_event_days"].split(",") for rule in rules))
    if not common_days:
        raise Conflict(f"program {program_code} would have no event day: rules {names} share none")
    latest_start = max(rule["event_window_start"] for rule in rules)
    earliest_end = min(rule["event_window_end"] for rule in rules)
    if earliest_end <= latest_start:
        raise Conflict(f"program {program_code} would have no time of day for events: "
                       f"the windows of rules {names} do not overlap")


def _columns(data: RuleIn) -> dict[str, Any]:
    return {
        "rule_code": data.ruleCode, "description": data.description,
        "available_for_events": data.availableForEvents, "allowed_overrides": data.allowedOverrides,
        "max_event_duration_minutes": data.maxEventDurationMinutes,
        "allow_event_days": ",".join(data.allowEventDays), "cycle_frequency": data.cycleFrequency,
        "max_events_per_season": data.maxEventsPerSeason, "max_events_per_month": data.maxEventsPerMonth,
        "max_events_per_week": data.maxEventsPerWeek, "max_event_hours_per_year": data.maxEventHoursPerYear,
        "event_window_start": data.eventWindow.start, "event_window_end": data.eventWindow.end,
        "min_notice_minutes": data.minNoticeMinutes, "max_consecutive_days": data.maxConsecutiveDays,
        "exclude_life_support": data.excludeLifeSupport,
    }


def describe(rule: Any, program_codes: list[str]) -> dict[str, Any]:
    return {"ruleId": rule.rule_id, **rule_fields(rule), "programCodes": program_codes, "version": rule.version}
