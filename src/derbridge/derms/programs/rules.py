"""DERMS's copy of each program's rules (F2 receiver), their combination, and the rules an operator lets
planners override.

A message carries a program's whole rule set and its version. It is applied once (keyed by its dacsMessageId)
and only if its version is newer than the one held, so a repeat or a late older message never undoes a newer
set; every message is acknowledged through the outbox, an older one too (its sync is simply superseded). A set
whose rules share no event day or no time of day is refused: an ERROR ack with DERMS's message 90200/204.

A program with several rules is bound by all of them at once: `combined` takes the most restrictive value of
each attribute (event days and daily windows intersect, caps take their minimum, notice its maximum). Overrides
are counted over the longest of the rules' cycles against the smallest allowance, which is never more lenient
than any one rule. A set whose rules share no event day or no time of day is refused with an ERROR ack.

Overridable rules: an operator may mark, per program, the rules (by the reason code they produce) that a
planner may override. Availability then still reports such a violation, as overridable, but does not count it
against the device. Life support, a customer's declared unavailability and a program closed to events can
never be overridden.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, time, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from derbridge.clock import as_utc, utcnow
from derbridge.derms.acks import RULES_CONFLICT, refusal, sync_ack
from derbridge.derms.availability.engine import Reason
from derbridge.derms.availability.rule_set import DailyWindow, InvalidProgramRules, ProgramRules, validate_rules
from derbridge.derms.schema import outbound_messages, overridable_rules, programs, received_messages
from derbridge.errors import Conflict, InvalidInput, NotFound
from derbridge.store.db import reading
from derbridge.store.outbox import new_outbox_values

ACK_PATH = "/hub/from-derms/programAck"
WEEKDAY_NAMES = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
CYCLES_SHORTEST_FIRST = ("WEEK", "MONTH", "SEASON")
NEVER_OVERRIDABLE = frozenset({Reason.PROGRAM_NOT_AVAILABLE, Reason.LIFE_SUPPORT, Reason.UNAVAILABLE_DECLARED,
                               Reason.NOT_ELIGIBLE})
OVERRIDABLE = tuple(reason for reason in Reason if reason not in NEVER_OVERRIDABLE)
# The engine's field → the message field that carries it, to name a bad field the way the sender wrote it.
WIRE_FIELDS = {
    "available_for_events": "availableForEvents", "allowed_overrides": "allowedOverrides",
    "max_event_duration": "maxEventDurationMinutes", "allowed_event_days": "allowedEventDays",
    "cycle_frequency": "cycleFrequency", "event_window": "eventWindowEnd", "min_notice": "minNoticeMinutes",
    "max_events_per_season": "maxEventsPerSeason", "max_events_per_month": "maxEventsPerMonth",
    "max_events_per_week": "maxEventsPerWeek", "max_event_hours_per_year": "maxEventHoursPerYear",
    "max_consecutive_days": "maxConsecutiveDays", "exclude_life_support": "excludeLifeSupport",
}


class RuleMessage(BaseModel):
    """One rule as DERMS receives it; the numbers are checked by the availability engine's own validation."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    ruleId: str = Field(min_length=1, max_length=12)
    ruleCode: str = Field(min_length=1, max_length=30)
    description: str = Field(default="", max_length=254)
    availableForEvents: bool
    allowedOverrides: int
    maxEventDurationMinutes: int
    allowedEventDays: list[Literal["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]]
    cycleFrequency: Literal["WEEK", "MONTH", "SEASON"]
    maxEventsPerSeason: int | None = None
    maxEventsPerMonth: int | None = None
    maxEventsPerWeek: int | None = None
    maxEventHoursPerYear: float | None = None
    eventWindowStart: time
    eventWindowEnd: time
    minNoticeMinutes: int
    maxConsecutiveDays: int | None = None
    excludeLifeSupport: bool = True

    def as_program_rules(self) -> ProgramRules:
        return ProgramRules(
            available_for_events=self.availableForEvents, allowed_overrides=self.allowedOverrides,
            max_event_duration=timedelta(minutes=self.maxEventDurationMinutes),
            allowed_event_days=frozenset(WEEKDAY_NAMES.index(day) for day in self.allowedEventDays),
            cycle_frequency=self.cycleFrequency,
            event_window=DailyWindow(self.eventWindowStart, self.eventWindowEnd),
            min_notice=timedelta(minutes=self.minNoticeMinutes),
            max_events_per_season=self.maxEventsPerSeason, max_events_per_month=self.maxEventsPerMonth,
            max_events_per_week=self.maxEventsPerWeek, max_event_hours_per_year=self.maxEventHoursPerYear,
            max_consecutive_days=self.maxConsecutiveDays, exclude_life_support=self.excludeLifeSupport,
        )


class ProgramMessage(BaseModel):
    """The program message DERMS accepts at /program: a program's whole rule set, versioned."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    dacsMessageId: str = Field(min_length=1, max_length=14)
    programId: str = Field(min_length=1, max_length=12)
    programCode: str = Field(min_length=1, max_length=30)
    rulesVersion: int = Field(ge=1)
    rules: list[RuleMessage] = Field(max_length=100)


def check_rules(message: ProgramMessage) -> list[ProgramRules]:
    """Each rule as the engine takes it, or InvalidInput naming every bad field as `rules.N.field`."""
    problems: dict[str, str] = {}
    checked = []
    for index, rule in enumerate(message.rules):
        try:
            checked.append(validate_rules(rule.as_program_rules()))
        except InvalidProgramRules as exc:
            problems.update({f"rules.{index}.{WIRE_FIELDS[name]}": problem for name, problem in exc.problems.items()})
    if problems:
        raise InvalidInput(problems)
    return checked


def combined(rule_set: Sequence[ProgramRules]) -> ProgramRules:
    """One program's rules as one: the most restrictive value of each attribute. Raises Conflict when the rules
    leave no event day or no time of day, or when there are none."""
    if not rule_set:
        raise Conflict("the program has no rules")
    days = frozenset.intersection(*(rules.allowed_event_days for rules in rule_set))
    window = DailyWindow(max(rules.event_window.start for rules in rule_set),
                         min(rules.event_window.end for rules in rule_set))
    if not days:
        raise Conflict("the program's rules share no event day")
    if window.end <= window.start:
        raise Conflict("the program's rules share no time of day for events")
    return ProgramRules(
        available_for_events=all(rules.available_for_events for rules in rule_set),
        allowed_overrides=min(rules.allowed_overrides for rules in rule_set),
        max_event_duration=min(rules.max_event_duration for rules in rule_set),
        allowed_event_days=days,
        cycle_frequency=max((rules.cycle_frequency for rules in rule_set), key=CYCLES_SHORTEST_FIRST.index),
        event_window=window,
        min_notice=max(rules.min_notice for rules in rule_set),
        max_events_per_season=_smallest(rules.max_events_per_season for rules in rule_set),
        max_events_per_month=_smallest(rules.max_events_per_month for rules in rule_set),
        max_events_per_week=_smallest(rules.max_events_per_week for rules in rule_set),
        max_event_hours_per_year=_smallest(rules.max_event_hours_per_year for rules in rule_set),
        max_consecutive_days=_smallest(rules.max_consecutive_days for rules in rule_set),
        exclude_life_support=any(rules.exclude_life_support for rules in rule_set),
    )


def _smallest(caps: Any) -> Any:
    """The tightest cap; None ("no cap") only when no rule has one."""
    present = [cap for cap in caps if cap is not None]
    return min(present) if present else None


def apply(engine: Engine, message: ProgramMessage, rule_set: list[ProgramRules]) -> str:
    """Store the set if it is newer and queue the ack, atomically. Returns 'applied', 'stale' (an older or
    equal version: acknowledged, not applied), 'refused' (ERROR ack) or 'duplicate' (seen before)."""
    now = utcnow()
    try:
        with engine.begin() as connection:
            connection.execute(sa.insert(received_messages).values(
                message_id=message.dacsMessageId, kind="program-rules", received_at=now))
            outcome, errors = _store(connection, message, rule_set, now)
            connection.execute(sa.insert(outbound_messages).values(
                message_key=f"program-ack:{message.dacsMessageId}", kind="program-rules-ack",
                **new_outbox_values(ACK_PATH, sync_ack(message.dacsMessageId, now, errors))))
    except IntegrityError:
        return "duplicate"
    return outcome


def _store(connection: Connection, message: ProgramMessage, rule_set: list[ProgramRules],
           now: datetime) -> tuple[str, list[dict[str, Any]]]:
    if rule_set:
        try:
            combined(rule_set)
        except Conflict as exc:
            return "refused", [refusal(RULES_CONFLICT, f"program {message.programCode}: {exc}")]
    held = connection.execute(sa.select(programs.c.rules_version)
                              .where(programs.c.program_code == message.programCode)).scalar()
    if held is not None and held >= message.rulesVersion:
        return "stale", []
    values = {"program_id": message.programId, "rules_version": message.rulesVersion,
              "rules": json.dumps([rule.model_dump(mode="json") for rule in message.rules]),
              "last_message_id": message.dacsMessageId, "updated_at": now}
    if held is None:
        connection.execute(sa.insert(programs).values(program_code=message.programCode, **values))
    else:
        connection.execute(sa.update(programs).where(programs.c.program_code == message.programCode).values(**values))
    return "applied", []


# ---- reading what is held ---------------------------------------------------------------------------------

def rules_of(connection: Connection, program_code: str) -> list[ProgramRules] | None:
    """The program's rules as the engine takes them; None if DERMS has never received the program."""
    stored = connection.execute(sa.select(programs.c.rules)
                                .where(programs.c.program_code == program_code)).scalar()
    if stored is None:
        return None
    return [RuleMessage.model_validate(rule).as_program_rules() for rule in json.loads(stored)]


def overridable_of(connection: Connection, program_code: str) -> frozenset[str]:
    return frozenset(connection.execute(sa.select(overridable_rules.c.reason_code)
                                        .where(overridable_rules.c.program_code == program_code)).scalars())


def set_overridable(engine: Engine, program_code: str, reasons: list[str]) -> dict[str, Any]:
    """Replace the program's overridable rules with `reasons` (reason codes); an empty list clears them."""
    problems = {f"reasons.{index}": problem for index, reason in enumerate(reasons)
                if (problem := _overridable_problem(reason))}
    if problems:
        raise InvalidInput(problems)
    with engine.begin() as connection:
        if connection.execute(sa.select(programs.c.program_code)
                              .where(programs.c.program_code == program_code)).first() is None:
            raise NotFound("program", program_code)
        connection.execute(sa.delete(overridable_rules).where(overridable_rules.c.program_code == program_code))
        if reasons:
            connection.execute(sa.insert(overridable_rules), [
                {"program_code": program_code, "reason_code": reason, "marked_at": utcnow()}
                for reason in sorted(set(reasons))])
    return get(engine, program_code)


def _overridable_problem(reason: str) -> str | None:
    if reason in OVERRIDABLE:
        return None
    if reason in Reason.__members__:
        return f"{reason} can never be overridden"
    return f"unknown rule {reason!r}; overridable ones: {', '.join(OVERRIDABLE)}"


def get(engine: Engine, program_code: str) -> dict[str, Any]:
    with reading(engine) as connection:
        row = connection.execute(sa.select(programs).where(programs.c.program_code == program_code)).first()
        if row is None:
            raise NotFound("program", program_code)
        return describe(row, overridable_of(connection, program_code))


def list_all(engine: Engine) -> list[dict[str, Any]]:
    with reading(engine) as connection:
        rows = connection.execute(sa.select(programs).order_by(programs.c.program_code)).all()
        return [describe(row, overridable_of(connection, row.program_code)) for row in rows]


def describe(row: Any, overridable: frozenset[str]) -> dict[str, Any]:
    return {"programCode": row.program_code, "programId": row.program_id, "rulesVersion": row.rules_version,
            "rules": json.loads(row.rules), "overridable": sorted(overridable),
            "lastMessageId": row.last_message_id, "updatedAt": as_utc(row.updated_at).isoformat()}
