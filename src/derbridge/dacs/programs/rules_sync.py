"""The F2 sync: a program's whole rule set, as it leaves for DERMS.

Every message carries all the rules associated with one program and the program's rules version, raised by
one for each message. DERMS keeps the newest version it has seen, so a repeated or late message can never
undo a newer one, and a disassociation is simply a set without that rule. Written in the caller's
transaction, only for ACTIVE programs (the callers decide when: see rules.py and programs.py).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from derbridge.dacs.schema import program_rule_associations, program_rules, programs
from derbridge.dacs.sync.sync_requests import write_sync_request

SYNC_PATH = "/hub/from-dacs/programRulesSync"
SYNC_KIND = "PROGRAM_RULES"
DAY_CODES = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


def write_rules_sync(connection: Connection, program_id: str) -> str:
    """Raise the program's rules version and write a sync request carrying its whole rule set."""
    connection.execute(sa.update(programs).where(programs.c.program_id == program_id)
                       .values(rules_version=programs.c.rules_version + 1))
    program = connection.execute(sa.select(programs).where(programs.c.program_id == program_id)).one()
    rules = associated_rules(connection, program_id)
    return write_sync_request(connection, SYNC_KIND, program_id, SYNC_PATH,
                              lambda sync_request_id: sync_payload(sync_request_id, program, rules))


def associated_rules(connection: Connection, program_id: str) -> list[Any]:
    """The program's rule rows, by rule code."""
    return list(connection.execute(
        sa.select(program_rules).join(program_rule_associations,
                                      program_rule_associations.c.rule_id == program_rules.c.rule_id)
        .where(program_rule_associations.c.program_id == program_id).order_by(program_rules.c.rule_code)).all())


def sync_payload(sync_request_id: str, program: Any, rules: list[Any]) -> dict[str, Any]:
    """The program system's rules sync message, as it leaves for the hub."""
    return {
        "syncRequestId": sync_request_id,
        "programId": program.program_id,
        "programCode": program.program_code,
        "programStatus": program.status,
        "rulesVersion": program.rules_version,
        "rules": [{"ruleId": rule.rule_id, **rule_fields(rule)} for rule in rules],
    }


def rule_fields(rule: Any) -> dict[str, Any]:
    """A rule row in the program system's own field names (its API and its sync message share them)."""
    return {
        "ruleCode": rule.rule_code,
        "description": rule.description,
        "availableForEvents": rule.available_for_events,
        "allowedOverrides": rule.allowed_overrides,
        "maxEventDurationMinutes": rule.max_event_duration_minutes,
        "allowEventDays": rule.allow_event_days.split(","),
        "cycleFrequency": rule.cycle_frequency,
        "maxEventsPerSeason": rule.max_events_per_season,
        "maxEventsPerMonth": rule.max_events_per_month,
        "maxEventsPerWeek": rule.max_events_per_week,
        "maxEventHoursPerYear": rule.max_event_hours_per_year,
        "eventWindow": {"start": rule.event_window_start.isoformat(), "end": rule.event_window_end.isoformat()},
        "minNoticeMinutes": rule.min_notice_minutes,
        "maxConsecutiveDays": rule.max_consecutive_days,
        "excludeLifeSupport": rule.exclude_life_support,
    }
