"""F2 — program rules and constraints, program system → DERMS, and DERMS's acknowledgement back.

The program system writes a sync request when a rule is associated with or disassociated from an ACTIVE
program, when a rule of an ACTIVE program changes, and when a program becomes ACTIVE. Each message carries
the program's whole rule set and its rules version, so DERMS can ignore a repeated or late message instead
of undoing a newer one. The hub maps it to DERMS's program message (the vendor's "Update Program" call);
DERMS answers later with an ack naming the same sync request, which the hub maps to the program system's
acknowledgement (the same shape as F3's). Idempotency key: the sync request id.

The vendor documentation names the flow, its trigger and the lookups (AllowEventDays, CycleFrequency) but
publishes no payload: the field names here are ours (docs/wire.md).
"""

from __future__ import annotations

from datetime import time
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator

from derbridge.hub.flows.relay import Relay
from derbridge.hub.flows.wire import DermsSyncAck, Wire, sync_ack_to_dacs
from derbridge.hub.lookup_catalog import ALLOW_EVENT_DAYS, CYCLE_FREQUENCY, DACS, DERMS
from derbridge.hub.lookups import Lookups

SYNC_REQUEST_ID = Field(min_length=1, max_length=14, pattern=r"^[0-9A-Za-z-]+$")
CAP = Field(default=None, ge=0, le=100_000)



# ---- program system → hub -------------------------------------------------------------------------------

class DacsEventWindow(Wire):
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


class DacsRule(Wire):
    ruleId: str = Field(min_length=1, max_length=12)
    ruleCode: str = Field(min_length=1, max_length=30)
    description: str = Field(default="", max_length=254)
    availableForEvents: bool
    allowedOverrides: int = Field(ge=0, le=100_000)
    maxEventDurationMinutes: int = Field(ge=1, le=7 * 24 * 60)
    allowEventDays: list[str] = Field(min_length=1, max_length=7)
    cycleFrequency: str = Field(min_length=1, max_length=30)
    maxEventsPerSeason: int | None = CAP
    maxEventsPerMonth: int | None = CAP
    maxEventsPerWeek: int | None = CAP
    maxEventHoursPerYear: float | None = Field(default=None, ge=0, le=8784, allow_inf_nan=False)
    eventWindow: DacsEventWindow
    minNoticeMinutes: int = Field(ge=0, le=90 * 24 * 60)
    maxConsecutiveDays: int | None = Field(default=None, ge=1, le=366)
    excludeLifeSupport: bool = True

    @field_validator("allowEventDays")
    @classmethod
    def days_once_each(cls, days: list[str]) -> list[str]:
        if len(set(days)) != len(days):
            raise ValueError("days must not repeat")
        return days


class DacsProgramRulesSync(Wire):
    syncRequestId: str = SYNC_REQUEST_ID
    programId: str = Field(min_length=1, max_length=12)
    programCode: str = Field(min_length=1, max_length=30)
    programStatus: Literal["ACTIVE"]
    rulesVersion: int = Field(ge=1)
    rules: list[DacsRule] = Field(max_length=100)


# ---- DERMS → hub: its ack, shared with F3 (flows/wire.py) --------------------------------------------------

# ---- mapping --------------------------------------------------------------------------------------------

def to_derms(sync: DacsProgramRulesSync, lookups: Lookups) -> dict[str, Any]:
    """The program system's rules sync as DERMS's program message; days and cycle through the lookups."""
    return {
        "dacsMessageId": sync.syncRequestId,
        "programId": sync.programId,
        "programCode": sync.programCode,
        "rulesVersion": sync.rulesVersion,
        "rules": [rule_to_derms(rule, lookups) for rule in sync.rules],
    }


def rule_to_derms(rule: DacsRule, lookups: Lookups) -> dict[str, Any]:
    return {
        "ruleId": rule.ruleId,
        "ruleCode": rule.ruleCode,
        "description": rule.description,
        "availableForEvents": rule.availableForEvents,
        "allowedOverrides": rule.allowedOverrides,
        "maxEventDurationMinutes": rule.maxEventDurationMinutes,
        "allowedEventDays": [lookups.value(ALLOW_EVENT_DAYS, DACS, day, DERMS) for day in rule.allowEventDays],
        "cycleFrequency": lookups.value(CYCLE_FREQUENCY, DACS, rule.cycleFrequency, DERMS),
        "maxEventsPerSeason": rule.maxEventsPerSeason,
        "maxEventsPerMonth": rule.maxEventsPerMonth,
        "maxEventsPerWeek": rule.maxEventsPerWeek,
        "maxEventHoursPerYear": rule.maxEventHoursPerYear,
        "eventWindowStart": rule.eventWindow.start.isoformat(),
        "eventWindowEnd": rule.eventWindow.end.isoformat(),
        "minNoticeMinutes": rule.minNoticeMinutes,
        "maxConsecutiveDays": rule.maxConsecutiveDays,
        "excludeLifeSupport": rule.excludeLifeSupport,
    }


RELAYS = [
    Relay(
        flow="F2", kind="program-rules-sync", source="dacs", target="derms",
        inbound_path="/hub/from-dacs/programRulesSync", model=DacsProgramRulesSync,
        target_path="/program",
        business_key=lambda m: m.syncRequestId,
        keys=lambda m: {"syncRequestId": m.syncRequestId, "programCode": m.programCode, "programId": m.programId},
        to_target=to_derms,
        summary="A program's rule set changed in the program system",
    ),
    Relay(
        flow="F2", kind="program-rules-ack", source="derms", target="dacs",
        inbound_path="/hub/from-derms/programAck", model=DermsSyncAck,
        target_path="/rest/apis/cross/digitalAssets/programRules/postAcknowledgement",
        business_key=lambda m: m.dacsMessageId,
        keys=lambda m: {"syncRequestId": m.dacsMessageId},
        to_target=sync_ack_to_dacs,
        summary="DERMS acknowledges a program rules sync",
    ),
]
