"""Customer contact and location from the CIS in DERMS: the extract files it imports, and the check an
enrollment sync makes against them.

DERMS takes the same extract files as the program system (`PUT /api/cis/{table}`, in the order of TABLES) and
keeps what it needs to reach a customer and place a device: name, phones and e-mail, contacts, the account's
division, and each service point with its premise's address and time zone. A service location copies its
premise's address when the service point is imported, and again whenever a premise import changes it.
Rows missing from a later extract are kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from derbridge.derms.schema import customer_accounts, customer_contacts, customers, premises, service_locations
from derbridge.tables.cis import (
    ACCOUNT_DIVISION,
    ACCOUNT_ID,
    ACCOUNT_PERSON,
    CONTACTS,
    PERSONS,
    PREMISES,
    SERVICE_POINTS,
)
from derbridge.tables.spec import Reference, TableSpec

ADDRESS = ("address1", "city", "county", "state", "postal", "country", "time_zone")
"""What a service location copies from its premise."""
PERSON = Reference("cisPersonId", customers, "person", "persons")


def with_premise_address(staging: sa.Table) -> sa.Select[tuple[object, ...]]:
    """Service points as service locations: each joined to its premise for the address and time zone."""
    return (sa.select(staging.c.cis_service_point_id, staging.c.cis_premise_id, staging.c.cis_account_id,
                      staging.c.location_id, *(premises.c[name] for name in ADDRESS))
            .join_from(staging, premises, premises.c.cis_premise_id == staging.c.cis_premise_id))


def refresh_locations(connection: Connection, staging: sa.Table, now: datetime) -> None:
    """Copy the address of the premises just imported onto their service locations, where it differs."""
    of_location = premises.c.cis_premise_id == service_locations.c.cis_premise_id
    differs = sa.exists().where(of_location, sa.or_(*(premises.c[name].is_distinct_from(service_locations.c[name])
                                                      for name in ADDRESS)))
    connection.execute(
        sa.update(service_locations)
        .where(service_locations.c.cis_premise_id.in_(sa.select(staging.c.cis_premise_id)), differs)
        .values(imported_at=now,
                **{name: sa.select(premises.c[name]).where(of_location).scalar_subquery() for name in ADDRESS}))


TABLES: dict[str, TableSpec] = {spec.name: spec for spec in (
    TableSpec("persons", customers, PERSONS),
    TableSpec("accounts", customer_accounts, (ACCOUNT_ID, ACCOUNT_PERSON, ACCOUNT_DIVISION), references=(PERSON,)),
    TableSpec("premises", premises, PREMISES, after_chunk=refresh_locations),
    TableSpec("service_points", service_locations, SERVICE_POINTS,
              references=(Reference("cisPremiseId", premises, "premise", "premises"),
                          Reference("cisAccountId", customer_accounts, "account", "accounts")),
              rows_from=with_premise_address),
    TableSpec("contacts", customer_contacts, CONTACTS, references=(PERSON,)),
)}
"""Every table DERMS imports, parents before the tables that refer to them."""


@dataclass(frozen=True)
class ServiceLocation:
    """Where a customer's devices are: the service point, its premise's address and time zone."""

    cis_service_point_id: str
    cis_premise_id: str
    cis_account_id: str
    location_id: str
    division: str | None
    """The account's division."""
    address1: str
    city: str
    county: str | None
    state: str
    postal: str
    country: str
    time_zone: str


@dataclass(frozen=True)
class KnownCustomer:
    """Which of an enrollment sync's customer ids DERMS does not know, by their wire names."""

    unknown: tuple[str, ...]
    """Some of cisPersonId, contactId (a contact of that person), cisServicePointId."""
    location: ServiceLocation | None

    @property
    def known(self) -> bool:
        return not self.unknown


def known_customer(connection: Connection, cis_person_id: str, contact_id: str | None,
                   cis_service_point_id: str) -> KnownCustomer:
    """Look the ids up (primary-key reads); a contact id of None is not asked about."""
    unknown = []
    if connection.execute(sa.select(customers.c.cis_person_id)
                          .where(customers.c.cis_person_id == cis_person_id)).first() is None:
        unknown.append("cisPersonId")
    if contact_id is not None and connection.execute(
            sa.select(customer_contacts.c.contact_id).where(customer_contacts.c.contact_id == contact_id,
                                                            customer_contacts.c.cis_person_id == cis_person_id)
    ).first() is None:
        unknown.append("contactId")
    row = connection.execute(
        sa.select(service_locations, customer_accounts.c.division)
        .join_from(service_locations, customer_accounts,
                   customer_accounts.c.cis_account_id == service_locations.c.cis_account_id, isouter=True)
        .where(service_locations.c.cis_service_point_id == cis_service_point_id)).first()
    if row is None:
        unknown.append("cisServicePointId")
    location = None if row is None else ServiceLocation(
        row.cis_service_point_id, row.cis_premise_id, row.cis_account_id, row.location_id, row.division,
        *(getattr(row, name) for name in ADDRESS))
    return KnownCustomer(tuple(unknown), location)
