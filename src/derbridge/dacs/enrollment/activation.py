"""Activation: an enrollment whose device setup is done gets its subscription and devices at the service point,
and the enrollment sync to DERMS (F5) is written in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from derbridge.dacs.enrollment import enrollment_sync
from derbridge.dacs.enrollment.states import (
    ACTIVE,
    DEVICE_DIGITS,
    SETUP_ERROR,
    SUBSCRIPTION_DIGITS,
    Enrolled,
    StatusChange,
    set_statuses,
)
from derbridge.dacs.enrollment.validation import enrolled_devices, refusal
from derbridge.dacs.enrollment.wire import Asset
from derbridge.dacs.ids import new_id
from derbridge.dacs.schema import (
    active_device_keys,
    controllable_devices,
    enrollment_assets,
    enrollments,
    program_subscriptions,
    programs,
)


def activate(connection: Connection, enrollment: Any, now: datetime) -> Enrolled:
    [done] = activate_all(connection, [enrollment], now)
    return done


def activate_all(connection: Connection, ready: list[Any], now: datetime) -> list[Enrolled]:
    """Activate enrollments whose device setup is done, a few statements for all of them: a subscription
    each, its devices at the service point and their keys, and the enrollment sync. An enrollment one of
    whose devices was enrolled elsewhere meanwhile goes to SETUP-ERROR instead."""
    ids = [row.enrollment_id for row in ready]
    assets: dict[str, list[NewDevice]] = {}
    for row in connection.execute(sa.select(enrollment_assets).where(enrollment_assets.c.enrollment_id.in_(ids))
                                  .order_by(enrollment_assets.c.enrollment_id, enrollment_assets.c.sequence)):
        assets.setdefault(row.enrollment_id, []).append(NewDevice.requested(row))
    wanted = [(d.head_end_system, d.nic_id) for devices in assets.values() for d in devices]
    taken = enrolled_devices(connection, wanted)
    activated: list[Any] = []
    refused: list[StatusChange] = []
    outcome: dict[str, Enrolled] = {}
    for enrollment in ready:
        clash = next((d for d in assets.get(enrollment.enrollment_id, [])
                      if (d.head_end_system, d.nic_id) in taken), None)
        if clash is not None:
            problem = refusal(90017, headEndSystem=clash.head_end_system, nicId=clash.nic_id,
                              deviceId=taken[(clash.head_end_system, clash.nic_id)])
            refused.append((enrollment.enrollment_id, SETUP_ERROR, problem, None))
            outcome[enrollment.enrollment_id] = Enrolled(enrollment.enrollment_id, SETUP_ERROR, problem)
            continue
        for device in assets.get(enrollment.enrollment_id, []):
            taken[(device.head_end_system, device.nic_id)] = "in this batch"  # two enrollments, one device
        activated.append(enrollment)
        outcome[enrollment.enrollment_id] = Enrolled(enrollment.enrollment_id, ACTIVE)
    set_statuses(connection, refused, now)
    if activated:
        _write_activations(connection, activated, assets, now)
    return [outcome[enrollment_id] for enrollment_id in ids]


def _write_activations(connection: Connection, activated: list[Any], assets: dict[str, list[NewDevice]],
                       now: datetime) -> None:
    types = dict(connection.execute(sa.select(programs.c.program_id, programs.c.program_type_code).where(
        programs.c.program_id.in_({e.program_id for e in activated}))).all())
    subscriptions = [SimpleNamespace(
        subscription_id=new_id(SUBSCRIPTION_DIGITS), enrollment_id=e.enrollment_id, program_id=e.program_id,
        program_code=e.program_code, subscription_type=types.get(e.program_id, "DR"), status=ACTIVE,
        cis_person_id=e.cis_person_id, cis_account_id=e.cis_account_id,
        cis_service_agreement_id=e.cis_service_agreement_id, cis_service_point_id=e.cis_service_point_id,
        start_at=datetime.combine(e.start_date, datetime.min.time(), tzinfo=UTC), end_at=None, updated_at=now)
        for e in activated]
    devices = {s.subscription_id: [device_row(e, s.subscription_id, d, now) for d in assets.get(e.enrollment_id, [])]
               for e, s in zip(activated, subscriptions, strict=True)}
    connection.execute(sa.insert(program_subscriptions), [vars(s) for s in subscriptions])
    every_device = [vars(d) for each in devices.values() for d in each]
    if every_device:
        connection.execute(sa.insert(active_device_keys), [
            {"head_end_system": d["head_end_system"], "nic_id": d["nic_id"], "device_id": d["device_id"]}
            for d in every_device])
        connection.execute(sa.insert(controllable_devices), every_device)
    connection.execute(sa.update(enrollments).where(enrollments.c.enrollment_id == sa.bindparam("enrollment"))
                       .values(subscription_id=sa.bindparam("subscription")), [
        {"enrollment": s.enrollment_id, "subscription": s.subscription_id} for s in subscriptions])
    set_statuses(connection, [(s.enrollment_id, ACTIVE, None, f"subscription {s.subscription_id}")
                               for s in subscriptions], now)
    divisions = {e.enrollment_id: e.division for e in activated}
    premises = {e.enrollment_id: e.cis_premise_id for e in activated}
    enrollment_sync.write_syncs(connection, [
        enrollment_sync.Sync(s, devices[s.subscription_id], premises[s.enrollment_id], divisions[s.enrollment_id])
        for s in subscriptions])


def device_row(enrollment: Any, subscription_id: str, device: NewDevice, now: datetime) -> SimpleNamespace:
    return SimpleNamespace(
        device_id=new_id(DEVICE_DIGITS), enrollment_id=enrollment.enrollment_id, subscription_id=subscription_id,
        status=ACTIVE, head_end_system=device.head_end_system, nic_id=device.nic_id,
        specification=device.specification, device_type=device.asset_type, serial_no=device.serial_no,
        badge_no=device.badge_no, asset_id=device.asset_id, cis_service_point_id=enrollment.cis_service_point_id,
        installed_at=now, removed_at=None, head_end_registration=None, registration_message=None,
        registration_updated_at=None, updated_at=now)


@dataclass(frozen=True)
class NewDevice:
    """A device about to be put on a subscription: a requested asset, a replacement or an addition."""

    head_end_system: str
    nic_id: str
    specification: str | None
    asset_type: str | None
    serial_no: str | None
    badge_no: str | None
    asset_id: str | None

    @classmethod
    def of(cls, asset: Asset) -> NewDevice:
        return cls(asset.headEndSystem or "", asset.nicId or "", asset.specification, asset.assetType,
                   asset.serialNo, asset.badgeNo, asset.assetId)

    @classmethod
    def requested(cls, row: Any) -> NewDevice:
        return cls(row.head_end_system or "", row.nic_id or "", row.specification, row.asset_type, row.serial_no,
                   row.badge_no, row.asset_id)


def add_device_row(connection: Connection, enrollment: Any, subscription_id: str, device: NewDevice,
                now: datetime) -> str:
    row = device_row(enrollment, subscription_id, device, now)
    connection.execute(sa.insert(active_device_keys).values(
        head_end_system=row.head_end_system, nic_id=row.nic_id, device_id=row.device_id))
    connection.execute(sa.insert(controllable_devices).values(**vars(row)))
    return str(row.device_id)
