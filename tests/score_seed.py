"""Scored devices and their history written straight into the program system's tables: programs with rules,
subscriptions with their devices, event participations with outcomes, and status checks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from derbridge.dacs import schema as dacs
from tests.seed import NOW, Customer, add_customers, add_program

HEAD_END = "ECOCLOUD"


@dataclass(frozen=True)
class Device:
    """A customer's thermostat enrolled in a program: its device id D<n>, NIC N<n>, subscription U<n>."""

    number: int
    program: str = "SMARTSTAT"

    @property
    def device_id(self) -> str:
        return f"D{self.number:011d}"

    @property
    def nic(self) -> str:
        return f"N{self.number:05d}"

    @property
    def subscription(self) -> str:
        return f"U{self.number:013d}"


def add_rule(connection: Connection, program_id: str, code: str, frequency: str = "MONTHLY",
             **caps: int | None) -> None:
    """A rule with the given cycle frequency and caps (max_events_per_week / _month / _season), associated."""
    rule_id = code[:12]
    connection.execute(sa.insert(dacs.program_rules).values(
        rule_id=rule_id, rule_code=code, description=code, available_for_events=True, allowed_overrides=2,
        max_event_duration_minutes=240, allow_event_days="MON,TUE,WED,THU,FRI", cycle_frequency=frequency,
        event_window_start=time(12), event_window_end=time(19), min_notice_minutes=60,
        exclude_life_support=True, version=1, created_at=NOW, updated_at=NOW, **caps))
    connection.execute(sa.insert(dacs.program_rule_associations).values(
        program_id=program_id, rule_id=rule_id, associated_at=NOW))


def add_device(connection: Connection, device: Device, *, registration: str | None = "D1RE",
               device_status: str = "ACTIVE", subscription_status: str = "ACTIVE",
               start_at: datetime = NOW - timedelta(days=200), end_at: datetime | None = None) -> None:
    """The device's customer (CIS rows, premise in America/Chicago), subscription and device."""
    customer = Customer(device.number)
    add_customers(connection, customer)
    enrollment = f"E{device.number:011d}"
    connection.execute(sa.insert(dacs.program_subscriptions).values(
        subscription_id=device.subscription, enrollment_id=enrollment, program_code=device.program,
        subscription_type="DR-TSTAT", status=subscription_status, cis_person_id=customer.person,
        cis_account_id=customer.account, cis_service_point_id=customer.service_point, start_at=start_at,
        end_at=end_at, updated_at=NOW))
    connection.execute(sa.insert(dacs.controllable_devices).values(
        device_id=device.device_id, enrollment_id=enrollment, subscription_id=device.subscription,
        status=device_status, head_end_system=HEAD_END, nic_id=device.nic,
        cis_service_point_id=customer.service_point, installed_at=start_at, head_end_registration=registration,
        updated_at=NOW))


def add_participation(connection: Connection, device: Device, event: str, start: datetime | None,
                      outcome: str | None = "D1SP", *, opted_out_at: datetime | None = None,
                      hours: int = 2) -> None:
    """One event of the device: its outcome over [start, start + hours), or an opt-out when it was recorded."""
    connection.execute(sa.insert(dacs.event_participations).values(
        event_external_id=event, head_end_system=HEAD_END, nic_id=device.nic, device_id=device.device_id,
        subscription_id=device.subscription, program_code=device.program, reserved=True,
        reservation_start=start, reservation_end=start and start + timedelta(hours=hours),
        opted_out=opted_out_at is not None, opted_out_at=opted_out_at, outcome=outcome,
        participation_start=None if outcome is None else start,
        participation_end=None if outcome is None or start is None else start + timedelta(hours=hours),
        updated_at=NOW))


def add_status_check(connection: Connection, device: Device, status: str, answered_at: datetime) -> None:
    connection.execute(sa.insert(dacs.status_checks).values(
        communication_id=f"{device.number:05d}{answered_at:%Y%m%d%H%M%S}"[:30], purpose="AGENT",
        device_id=device.device_id, head_end_system=HEAD_END, nic_id=device.nic, status=status,
        requested_at=answered_at - timedelta(minutes=1), deadline=answered_at + timedelta(minutes=5),
        answered_at=answered_at))


def add_programs(connection: Connection) -> dict[str, str]:
    """SMARTSTAT (monthly, at most 4 events a month) and PEAKWEEK (weekly, at most 2 a week), ACTIVE, and
    DORMANT, INACTIVE; their ids by code."""
    ids = {"SMARTSTAT": add_program(connection, "SMARTSTAT", program_id="100000000001"),
           "PEAKWEEK": add_program(connection, "PEAKWEEK", program_id="100000000002"),
           "DORMANT": add_program(connection, "DORMANT", status="INACTIVE", program_id="100000000003")}
    add_rule(connection, ids["SMARTSTAT"], "MONTHLY4", "MONTHLY", max_events_per_month=4, max_events_per_week=2)
    add_rule(connection, ids["PEAKWEEK"], "WEEKLY2", "WEEKLY", max_events_per_week=2)
    return ids


def utc(*parts: Any) -> datetime:
    return datetime(*parts, tzinfo=UTC)
