"""Program events and participations written straight into the program system's tables, and what DERMS holds
of the same events, for the tests of outcomes, opt-outs and unavailability."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from derbridge.dacs import schema as dacs
from derbridge.derms import schema as derms
from tests.seed import NOW

HEAD_END = "ECOCLOUD"


def add_program_type(connection: Connection, code: str = "DR-TSTAT", *, opt_out: bool = True,
                     cutoff_minutes: int | None = 60, unavailability: bool = True) -> None:
    connection.execute(sa.insert(dacs.program_types).values(
        program_type_code=code, description=code, category="DEMAND_RESPONSE", device_required=True,
        preemptive_optout_allowed=opt_out, optout_cutoff_minutes=cutoff_minutes if opt_out else None,
        unavailability_allowed=unavailability, created_at=NOW, updated_at=NOW))


def add_event(connection: Connection, event_id: str, start: datetime, program_code: str = "SMARTSTAT",
              hours: int = 2, status: str = "SCHEDULED", stages: int = 1) -> None:
    """A DERMS event as the program system keeps it: one program event per stage, back to back."""
    length = timedelta(hours=hours) / stages
    connection.execute(sa.insert(dacs.program_events), [{
        "program_event_id": f"{abs(hash((event_id, n))) % 10**14:014d}", "event_external_id": event_id,
        "stage_external_id": f"{event_id}-S{n}", "program_code": program_code, "category": "X1EC",
        "start_at": start + n * length, "end_at": start + (n + 1) * length, "status": status, "status_rank": 1,
        "created_at": NOW, "updated_at": NOW} for n in range(stages)])


def add_device(connection: Connection, device_id: str, nic_id: str, subscription_id: str = "SUB00000000001",
               program_code: str = "SMARTSTAT", head_end: str = HEAD_END) -> None:
    """An active controllable device on an active subscription of `program_code`."""
    if connection.execute(sa.select(dacs.program_subscriptions.c.subscription_id).where(
            dacs.program_subscriptions.c.subscription_id == subscription_id)).first() is None:
        connection.execute(sa.insert(dacs.program_subscriptions).values(
            subscription_id=subscription_id, enrollment_id="E00000000001", program_code=program_code,
            subscription_type="DR", status="ACTIVE", cis_person_id="P1", cis_account_id="A1",
            cis_service_point_id="S1", start_at=NOW - timedelta(days=30), updated_at=NOW))
    connection.execute(sa.insert(dacs.controllable_devices).values(
        device_id=device_id, enrollment_id="E00000000001", subscription_id=subscription_id, status="ACTIVE",
        head_end_system=head_end, nic_id=nic_id, cis_service_point_id="S1", installed_at=NOW - timedelta(days=30),
        updated_at=NOW))
    connection.execute(sa.insert(dacs.active_device_keys).values(head_end_system=head_end, nic_id=nic_id,
                                                                 device_id=device_id))


def reserve(connection: Connection, event_id: str, nic_id: str, device_id: str | None = None,
            program_code: str = "SMARTSTAT", head_end: str = HEAD_END, reserved: bool = True) -> None:
    connection.execute(sa.insert(dacs.event_participations).values(
        event_external_id=event_id, head_end_system=head_end, nic_id=nic_id, device_id=device_id,
        program_code=program_code, reserved=reserved, reserved_at=NOW, opted_out=False, updated_at=NOW))


def reserve_in_derms(connection: Connection, event_id: str, nic_id: str, start: datetime, hours: int = 2,
                     head_end: str = HEAD_END) -> None:
    """DERMS's own participation record of a device it reserved for an event."""
    connection.execute(sa.insert(derms.event_participations).values(
        event_id=event_id, head_end_system=head_end, nic_id=nic_id, start_at=start,
        end_at=start + timedelta(hours=hours), customer_override=False, recorded_at=NOW))
