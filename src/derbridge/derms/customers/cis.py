"""Customer contact and location from the CIS in DERMS: the extract files it imports, and the check an
enrollment sync makes against them.

DERMS takes the same extract files as the program system (`PUT /api/cis/{table}`, in the order of TABLES) and
keeps what it needs to reach a customer and place a device: name, phones and e-mail, contacts, the account's
division, and each service point with its premise's address and time zone. A service location copies its
premise's address when the service point is imported, and again whenever a premise import changes it.
Rows missing from a later extract are kept.
"""

from __future__ import annotations

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
