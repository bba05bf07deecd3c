"""DERMS's device registry: program subscriptions and their controllable devices, as enrollment syncs (F5) and
bulk initial syncs bring them. Both apply their rows here, set-based, with the same rules.

The caller stages rows in the temporary tables below (one enrollment sync, a batch of them, or a chunk of a
bulk file) and runs the steps in one transaction: each step is one SQL statement over every staged row, so a
batch costs the same handful of statements whether it holds one device or a hundred thousand.

1. `take_refused`: a subscription's person, contact (of that person) and service point must be known from
   the CIS; the subscriptions that are not leave the stage, each with the keys that are unknown.
2. `upsert_subscriptions`, `upsert_devices`: insert or update, unless the registry already holds a newer
   state (the ordering rule, below).
3. `replace_groups`: a subscription's device groups become those of the sync that last updated it.
4. Each device carries whether it should be registered with its head end (active, not removed,
   subscription active) and whether the head end has yet to agree: `upsert_devices` sets both for the
   devices it writes, `refresh_registrations` for the other devices of a subscription whose status changed.
   The registration worker (derms/registry/registration.py) takes it from there.

Ordering: an enrollment sync carries no version, and the hub may deliver an older one after a newer one. The
registry keeps the newer state by the dates the syncs carry. A subscription's state is ranked by its start
(a re-enrollment starts later), then ACTIVE before INACTIVE (an unenrollment ends the period it started);
a device's by its installation time (a reinstallation is later; none counts as earliest), then in service
before removed (inactive, or a removal time). A sync whose state ranks below the stored one leaves it as it
is; one that ranks the same is applied (later arrival wins).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from derbridge.clock import iso_z
from derbridge.derms.schema import (
    customer_contacts,
    customers,
    device_groups,
    devices,
    service_locations,
    subscriptions,
)

REGISTERED, DEREGISTERED, NOT_REGISTERED = "REGISTERED", "DEREGISTERED", "NOT_REGISTERED"
HEAD_END_CODES = {REGISTERED: "D1RE", DEREGISTERED: "D1DR", NOT_REGISTERED: "D1NR"}
"""The program system's head-end registration codes for each registration status."""

SUBSCRIPTION_FIELDS = ("subscription_type", "status", "program_id", "program_code", "cis_person_id", "contact_id",
                       "cis_account_id", "division", "service_point_id", "cis_premise_id", "cis_service_point_id",
                       "start_at", "end_at")
DEVICE_FIELDS = ("device_id", "subscription_id", "specification", "device_type", "active", "installed_at",
                 "removed_at", "nameplate_kw", "nameplate_kwh", "network_address")

# ---- staging tables: temporary, one set per transaction -------------------------------------------------------

staging = sa.MetaData()


def _like(column: str, table: sa.Table, *, nullable: bool | None = None) -> sa.Column[Any]:
    source = table.c[column]
    return sa.Column(column, source.type, nullable=source.nullable if nullable is None else nullable)


staged_subscriptions = sa.Table(
    "staged_subscriptions", staging,
    sa.Column("message_id", sa.String(14), nullable=False),
    _like("subscription_id", subscriptions),
    *(_like(name, subscriptions, nullable=True) for name in SUBSCRIPTION_FIELDS),
    sa.Column("status_changed", sa.Boolean, nullable=True),
    prefixes=["TEMPORARY"],
)

staged_devices = sa.Table(
    "staged_devices", staging,
    sa.Column("message_id", sa.String(14), nullable=False),
    _like("head_end_system", devices),
    _like("nic_id", devices),
    *(_like(name, devices, nullable=True) for name in DEVICE_FIELDS),
    prefixes=["TEMPORARY"],
)

staged_groups = sa.Table(
    "staged_groups", staging,
    sa.Column("message_id", sa.String(14), nullable=False),
    *(_like(column.name, device_groups, nullable=True) for column in device_groups.c
      if column.name != "last_message_id"),
    prefixes=["TEMPORARY"],
)


@contextmanager
def temporary(connection: Connection, *tables: sa.Table) -> Iterator[None]:
    """Empty temporary tables for the caller's transaction, dropped when it is done with them."""
    for table in tables:
        connection.execute(sa.text(f'DROP TABLE IF EXISTS "{table.name}"'))
        table.create(connection)
    yield
    for table in tables:
        table.drop(connection)


# ---- 1. customers known from the CIS -------------------------------------------------------------------------

@dataclass(frozen=True)
class Refusal:
    """A staged subscription whose customer the CIS does not know: which keys, with the values given."""

    message_id: str
    subscription_id: str
    unknown: dict[str, str | None]
    """Field name (cisPersonId, contactId, cisServicePointId) → the value given (None: none given)."""

    def reason(self) -> str:
        return "; ".join(unknown_key_text(name, value) for name, value in self.unknown.items())


def unknown_key_text(name: str, value: str | None) -> str:
    if value is None:
        return f"{name} is missing"
    if name == "contactId":
        return f"{name} {value} is not a CIS contact of the person"
    return f"{name} {value} is not known from the CIS"


def take_refused(connection: Connection) -> list[Refusal]:
    """The staged subscriptions whose person, contact (of that person) or service point the CIS does not know,
    removed from the stage (the caller drops the rest of them). The contact is checked only when one is given
    (a customer may have no contact on record) and only for a known person: an unknown person's contact cannot
    be theirs."""
    s = staged_subscriptions
    person_known = sa.exists().where(customers.c.cis_person_id == s.c.cis_person_id)
    contact_known = sa.exists().where(customer_contacts.c.contact_id == s.c.contact_id,
                                      customer_contacts.c.cis_person_id == s.c.cis_person_id)
    point_known = sa.exists().where(service_locations.c.cis_service_point_id == s.c.cis_service_point_id)
    unknown_person = sa.or_(s.c.cis_person_id.is_(None), ~person_known)
    unknown_contact = sa.and_(person_known, s.c.contact_id.is_not(None), ~contact_known)
    unknown_point = sa.or_(s.c.cis_service_point_id.is_(None), ~point_known)
    rows = connection.execute(
        sa.select(s.c.message_id, s.c.subscription_id, s.c.cis_person_id, s.c.contact_id, s.c.cis_service_point_id,
                  unknown_person.label("person"), unknown_contact.label("contact"), unknown_point.label("point"))
        .where(sa.or_(unknown_person, unknown_contact, unknown_point))).all()
    refusals = []
    for row in rows:
        unknown: dict[str, str | None] = {}
        if row.person:
            unknown["cisPersonId"] = row.cis_person_id
        if row.contact:
            unknown["contactId"] = row.contact_id
        if row.point:
            unknown["cisServicePointId"] = row.cis_service_point_id
        refusals.append(Refusal(row.message_id, row.subscription_id, unknown))
    pairs = [(refusal.message_id, refusal.subscription_id) for refusal in refusals]
    for start in range(0, len(pairs), 400):
        connection.execute(sa.delete(s).where(sa.tuple_(s.c.message_id, s.c.subscription_id)
                                              .in_(pairs[start:start + 400])))
    return refusals


# ---- 2. upserts under the ordering rule ------------------------------------------------------------------------

def _insert(connection: Connection, table: sa.Table) -> Any:
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def subscription_not_older(stored: Any, incoming: Any) -> sa.ColumnElement[bool]:
    """The incoming subscription state ranks at least as high as the stored one (see the module's docstring)."""
    return sa.or_(incoming.start_at > stored.start_at,
                  sa.and_(incoming.start_at == stored.start_at,
                          sa.or_(incoming.status == "INACTIVE", stored.status == "ACTIVE")))


def _removed(device: Any) -> sa.ColumnElement[bool]:
    return sa.or_(device.active == sa.false(), device.removed_at.is_not(None))


def device_not_older(stored: Any, incoming: Any) -> sa.ColumnElement[bool]:
    """The incoming device state ranks at least as high as the stored one (see the module's docstring)."""
    same_installation = sa.or_(sa.and_(incoming.installed_at.is_(None), stored.installed_at.is_(None)),
                               incoming.installed_at == stored.installed_at)
    return sa.or_(sa.and_(stored.installed_at.is_(None), incoming.installed_at.is_not(None)),
                  incoming.installed_at > stored.installed_at,
                  sa.and_(same_installation, sa.or_(_removed(incoming), ~_removed(stored))))


def upsert_subscriptions(connection: Connection, now: datetime) -> None:
    """Every staged subscription, inserted or updated unless the registry holds a newer state. Those whose
    status differs from the stored one are noted first: their other devices may have to follow."""
    s = staged_subscriptions
    connection.execute(sa.update(s).where(sa.exists().where(
        subscriptions.c.subscription_id == s.c.subscription_id, subscriptions.c.status != s.c.status))
        .values(status_changed=True))
    columns = ["subscription_id", *SUBSCRIPTION_FIELDS]
    source = sa.select(*(s.c[name] for name in columns), s.c.message_id.label("last_message_id"),
                       sa.literal(now, subscriptions.c.updated_at.type).label("updated_at")
                       ).where(s.c.subscription_id.is_not(None))
    insert = _insert(connection, subscriptions).from_select([*columns, "last_message_id", "updated_at"], source)
    changed = [*SUBSCRIPTION_FIELDS, "last_message_id", "updated_at"]
    connection.execute(insert.on_conflict_do_update(
        index_elements=[subscriptions.c.subscription_id],
        set_={name: insert.excluded[name] for name in changed},
        where=subscription_not_older(subscriptions.c, insert.excluded)))


def upsert_devices(connection: Connection, source: sa.Select[Any], now: datetime) -> None:
    """Devices from `source` (columns head_end_system, nic_id, the DEVICE_FIELDS and message_id), inserted or
    updated unless the registry holds a newer state of the device; with whether each should be registered and
    whether its head end has yet to agree (as refresh_registrations would say, saving it a write per device).
    A new device is not yet registered."""
    rows = source.subquery("incoming")
    status = (sa.select(subscriptions.c.status).where(subscriptions.c.subscription_id == rows.c.subscription_id)
              .scalar_subquery())
    wanted = sa.case((sa.and_(rows.c.active == sa.true(), rows.c.removed_at.is_(None), status == "ACTIVE"),
                      sa.true()), else_=sa.false())
    select = sa.select(rows.c.head_end_system, rows.c.nic_id, *(rows.c[name] for name in DEVICE_FIELDS),
                       rows.c.message_id.label("last_message_id"),
                       sa.literal(now, devices.c.updated_at.type).label("updated_at"),
                       sa.literal(NOT_REGISTERED).label("registration_status"),
                       wanted.label("registration_wanted"), wanted.label("registration_due"),
                       ).where(rows.c.nic_id.is_not(None))
    columns = ["head_end_system", "nic_id", *DEVICE_FIELDS, "last_message_id", "updated_at", "registration_status",
               "registration_wanted", "registration_due"]
    insert = _insert(connection, devices).from_select(columns, select)
    changed = {name: insert.excluded[name] for name in [*DEVICE_FIELDS, "last_message_id", "updated_at",
                                                          "registration_wanted"]}
    changed["registration_due"] = _due(insert.excluded.registration_wanted)
    connection.execute(insert.on_conflict_do_update(
        index_elements=[devices.c.head_end_system, devices.c.nic_id], set_=changed,
        where=device_not_older(devices.c, insert.excluded)))


def _due(wanted: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
    """Whether the head end has yet to agree: wanted but not registered, or registered but not wanted."""
    return sa.case((wanted, devices.c.registration_status != REGISTERED),
                   else_=devices.c.registration_status == REGISTERED)


def staged_device_rows() -> sa.Select[Any]:
    d = staged_devices
    return sa.select(d.c.head_end_system, d.c.nic_id, *(d.c[name] for name in DEVICE_FIELDS), d.c.message_id)


# ---- 3. device groups ------------------------------------------------------------------------------------------

def replace_groups(connection: Connection) -> None:
    """A subscription the stage updated takes the staged sync's groups in place of those it had."""
    s, g = staged_subscriptions, staged_groups
    applied = (sa.select(subscriptions.c.subscription_id, subscriptions.c.last_message_id)
               .join(s, sa.and_(s.c.subscription_id == subscriptions.c.subscription_id,
                                s.c.message_id == subscriptions.c.last_message_id)))
    connection.execute(sa.delete(device_groups).where(
        device_groups.c.subscription_id.in_(applied.with_only_columns(subscriptions.c.subscription_id))))
    applied_rows = applied.subquery("applied")
    columns = [column.name for column in device_groups.c if column.name != "last_message_id"]
    groups = (sa.select(*(g.c[name] for name in columns), g.c.message_id)
              .join(applied_rows, sa.and_(applied_rows.c.subscription_id == g.c.subscription_id,
                                          applied_rows.c.last_message_id == g.c.message_id)))
    connection.execute(sa.insert(device_groups).from_select([*columns, "last_message_id"], groups))


# ---- 4. what the head ends should hold --------------------------------------------------------------------------

def wanted_expression() -> sa.ColumnElement[bool]:
    """A device should be registered when it is in service and its subscription is active."""
    subscription_active = sa.exists().where(subscriptions.c.subscription_id == devices.c.subscription_id,
                                            subscriptions.c.status == "ACTIVE")
    return sa.and_(devices.c.active == sa.true(), devices.c.removed_at.is_(None), subscription_active)


def refresh_registrations(connection: Connection) -> None:
    """Recompute, for every device of each staged subscription whose status changed, whether it should be
    registered and whether its head end has yet to agree (an unenrollment deregisters devices the sync does not
    list). The devices the stage lists were settled by upsert_devices. Evaluated against each row as it is now,
    so it cannot race the registration worker."""
    changed = sa.select(staged_subscriptions.c.subscription_id).where(staged_subscriptions.c.status_changed)
    wanted = wanted_expression()
    due = _due(wanted)
    connection.execute(sa.update(devices).where(
        devices.c.subscription_id.in_(changed),
        sa.or_(devices.c.registration_wanted != wanted, devices.c.registration_due != due),
    ).values(registration_wanted=wanted, registration_due=due))


# ---- reading the registry (operator API) -------------------------------------------------------------------------


def describe_device(row: Any) -> dict[str, Any]:
    return {
        "headEndSystem": row.head_end_system, "nicId": row.nic_id, "deviceId": row.device_id,
        "subscriptionId": row.subscription_id, "specification": row.specification, "deviceType": row.device_type,
        "active": row.active, "installedAt": iso_z(row.installed_at), "removedAt": iso_z(row.removed_at),
        "nameplateKw": row.nameplate_kw, "nameplateKwh": row.nameplate_kwh, "networkAddress": row.network_address,
        "registration": row.registration_status, "headEndRegistration": HEAD_END_CODES[row.registration_status],
        "registrationMessage": row.registration_message, "registrationChangedAt": iso_z(row.registration_changed_at),
        "registrationWanted": row.registration_wanted, "registrationPending": row.registration_due,
        "lastMessageId": row.last_message_id, "updatedAt": iso_z(row.updated_at),
    }


def describe_subscription(row: Any) -> dict[str, Any]:
    return {
        "subscriptionId": row.subscription_id, "subscriptionType": row.subscription_type, "status": row.status,
        "programId": row.program_id, "programCode": row.program_code, "cisPersonId": row.cis_person_id,
        "contactId": row.contact_id, "cisAccountId": row.cis_account_id, "division": row.division,
        "servicePointId": row.service_point_id, "cisPremiseId": row.cis_premise_id,
        "cisServicePointId": row.cis_service_point_id, "startDateTime": iso_z(row.start_at),
        "endDateTime": iso_z(row.end_at), "lastMessageId": row.last_message_id, "updatedAt": iso_z(row.updated_at),
    }


def registration_filter(value: str) -> str:
    """A registration status from its name or its program-system code (D1RE, D1DR, D1NR)."""
    by_code = {code: status for status, code in HEAD_END_CODES.items()}
    upper = value.strip().upper()
    if upper in by_code:
        return by_code[upper]
    if upper in HEAD_END_CODES:
        return upper
    raise ValueError(f"unknown registration {value!r}; expected one of {', '.join([*HEAD_END_CODES, *by_code])}")


def list_devices(connection: Connection, *, head_end_system: str | None = None, registration: str | None = None,
                 active: bool | None = None, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    query = sa.select(devices)
    if head_end_system:
        query = query.where(devices.c.head_end_system == head_end_system)
    if registration:
        query = query.where(devices.c.registration_status == registration_filter(registration))
    if active is not None:
        query = query.where(devices.c.active == active)
    query = query.order_by(devices.c.head_end_system, devices.c.nic_id).limit(limit).offset(offset)
    return [describe_device(row) for row in connection.execute(query)]


def one_device(connection: Connection, head_end_system: str, nic_id: str) -> dict[str, Any] | None:
    row = connection.execute(sa.select(devices).where(devices.c.head_end_system == head_end_system,
                                                      devices.c.nic_id == nic_id)).first()
    if row is None:
        return None
    described = describe_device(row)
    described["groups"] = device_groups_of(connection, row.subscription_id) if row.subscription_id else []
    return described


def device_groups_of(connection: Connection, subscription_id: str) -> list[dict[str, Any]]:
    g = device_groups
    rows = connection.execute(sa.select(g).where(g.c.subscription_id == subscription_id)
                              .order_by(g.c.group_category, g.c.group_code, g.c.effective_start))
    return [{"groupCategory": row.group_category, "groupCode": row.group_code,
             "effectiveStartDateTime": iso_z(row.effective_start), "effectiveEndDateTime": iso_z(row.effective_end)}
            for row in rows]


def list_subscriptions(connection: Connection, *, status: str | None = None, limit: int = 100,
                       offset: int = 0) -> list[dict[str, Any]]:
    query = sa.select(subscriptions)
    if status:
        query = query.where(subscriptions.c.status == status.upper())
    query = query.order_by(subscriptions.c.subscription_id).limit(limit).offset(offset)
    return [describe_subscription(row) for row in connection.execute(query)]


def registration_counts(connection: Connection) -> list[dict[str, Any]]:
    """Devices per head end, registration status and whether they are active, with how many are pending."""
    d = devices
    rows = connection.execute(
        sa.select(d.c.head_end_system, d.c.registration_status, d.c.active, sa.func.count().label("devices"),
                  sa.func.sum(sa.case((d.c.registration_due, 1), else_=0)).label("pending"))
        .group_by(d.c.head_end_system, d.c.registration_status, d.c.active)
        .order_by(d.c.head_end_system, d.c.registration_status, d.c.active))
    return [{"headEndSystem": row.head_end_system, "registration": row.registration_status,
             "headEndRegistration": HEAD_END_CODES[row.registration_status], "active": bool(row.active),
             "devices": row.devices, "pending": int(row.pending or 0)} for row in rows]


def device_models(connection: Connection) -> list[dict[str, Any]]:
    """Each specification and device type the registry holds, with how many devices: one GROUP BY, whatever
    the fleet's size (what `derbridge doctor` checks against the hub's lookups)."""
    d = devices
    kinds = (d.c.specification, d.c.device_type)
    rows = connection.execute(sa.select(*kinds, sa.func.count().label("devices")).group_by(*kinds).order_by(*kinds))
    return [{"specification": row.specification, "deviceType": row.device_type, "devices": row.devices} for row in rows]
