"""Seeding DERMS's device registry and customer locations for tests (the enrollment sync fills them in
production), and a reference rule in DERMS's wire form."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from derbridge.clock import utcnow
from derbridge.derms.schema import devices, event_participations, service_locations, subscriptions

WEEKDAYS = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"]
DERMS_RULE: dict[str, Any] = {
    "ruleId": "111122223333", "ruleCode": "SUMMER", "description": "Summer peak", "availableForEvents": True,
    "allowedOverrides": 2, "maxEventDurationMinutes": 240, "allowedEventDays": WEEKDAYS, "cycleFrequency": "MONTH",
    "maxEventsPerSeason": 20, "maxEventsPerMonth": 8, "maxEventsPerWeek": 3, "maxEventHoursPerYear": 40.0,
    "eventWindowStart": "12:00:00", "eventWindowEnd": "19:00:00", "minNoticeMinutes": 120,
    "maxConsecutiveDays": 3, "excludeLifeSupport": True,
}


def program_message(program_code: str, version: int, message_id: str, *rules: dict[str, Any]) -> dict[str, Any]:
    return {"dacsMessageId": message_id, "programId": "998877665544", "programCode": program_code,
            "rulesVersion": version, "rules": list(rules) if rules else [DERMS_RULE]}


def enroll(engine: Engine, program_code: str, subscription_id: str, nic_ids: list[str], *,
           time_zone: str | None = "America/Chicago", head_end_system: str = "ECOCLOUD", active: bool = True,
           premise_id: str | None = None) -> None:
    """A subscription of `program_code` at its own service point (with a location in `time_zone`, or none),
    and its devices."""
    now = utcnow()
    service_point = f"SP-{subscription_id}"
    premise = premise_id or f"PR-{subscription_id}"
    with engine.begin() as connection:
        if time_zone is not None:
            connection.execute(sa.insert(service_locations).values(
                cis_service_point_id=service_point, cis_premise_id=premise, cis_account_id=f"A-{subscription_id}",
                location_id="L1", address1="1 Main St", city="Springfield", state="IL", postal="62701",
                country="USA", time_zone=time_zone, imported_at=now))
        connection.execute(sa.insert(subscriptions).values(
            subscription_id=subscription_id, status="ACTIVE", program_code=program_code,
            cis_person_id=f"P-{subscription_id}", cis_account_id=f"A-{subscription_id}",
            cis_premise_id=premise if time_zone is None else None, cis_service_point_id=service_point,
            start_at=now, last_message_id="seed", updated_at=now))
        connection.execute(sa.insert(devices), [
            {"head_end_system": head_end_system, "nic_id": nic_id, "device_id": nic_id[-12:],
             "subscription_id": subscription_id, "active": active, "registration_status": "REGISTERED",
             "last_message_id": "seed", "updated_at": now}
            for nic_id in nic_ids])


def participate(engine: Engine, event_id: str, nic_id: str, start: str, end: str, overridden: bool = False,
                head_end_system: str = "ECOCLOUD") -> None:
    """A device's part in a past event, as DERMS records it from a reservation."""
    with engine.begin() as connection:
        connection.execute(sa.insert(event_participations).values(
            event_id=event_id, head_end_system=head_end_system, nic_id=nic_id, start_at=datetime.fromisoformat(start),
            end_at=datetime.fromisoformat(end), customer_override=overridden, recorded_at=utcnow()))
