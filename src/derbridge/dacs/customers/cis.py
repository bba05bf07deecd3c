"""Customers from the CIS in the program system: the extract files it imports, and what enrollment asks of them.

The CIS is master of persons, accounts, premises, service points, service agreements, contacts and rates; the
program system takes its extract one table per file (`PUT /api/cis/{table}`, in the order of TABLES, parents
first) and never edits those rows itself. References are checked on import: an account's person and rate, a
service point's premise and account, an agreement's account, service point and rate, a contact's person.
Rows missing from a later extract are kept, so nothing an enrollment refers to disappears.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from derbridge.clock import utcnow
from derbridge.dacs.schema import accounts, contacts, persons, premises, rates, service_agreements, service_points
from derbridge.tables.cis import (
    ACCOUNT_DIVISION,
    ACCOUNT_ID,
    ACCOUNT_PERSON,
    ACCOUNT_RATE,
    CONTACTS,
    PERSONS,
    PREMISES,
    RATES,
    SERVICE_AGREEMENTS,
    SERVICE_POINTS,
)
from derbridge.tables.spec import Reference, TableSpec

PERSON = Reference("cisPersonId", persons, "person", "persons")
ACCOUNT = Reference("cisAccountId", accounts, "account", "accounts")
RATE = Reference("rateCode", rates, "rate", "rates")

TABLES: dict[str, TableSpec] = {spec.name: spec for spec in (
    TableSpec("rates", rates, RATES),
    TableSpec("persons", persons, PERSONS),
    TableSpec("accounts", accounts, (ACCOUNT_ID, ACCOUNT_PERSON, ACCOUNT_DIVISION, ACCOUNT_RATE),
              references=(PERSON, RATE)),
    TableSpec("premises", premises, PREMISES),
    TableSpec("service_points", service_points, SERVICE_POINTS,
              references=(Reference("cisPremiseId", premises, "premise", "premises"), ACCOUNT)),
    TableSpec("service_agreements", service_agreements, SERVICE_AGREEMENTS,
              references=(ACCOUNT, Reference("cisServicePointId", service_points, "service point", "service_points"),
                          RATE),
              not_before=(("endDate", "startDate"),)),
    TableSpec("contacts", contacts, CONTACTS, references=(PERSON,)),
)}
"""Every table the program system imports, parents before the tables that refer to them."""


@dataclass(frozen=True)
class CustomerContext:
    """What the program system knows of an enrollment's customer ids, and whether they belong together.

    A relation is false when either end is unknown; `problems` reports an unknown id once, as unknown, and
    judges a relation only between known ids.
    """

    person_known: bool
    account_known: bool
    service_point_known: bool
    agreement_known: bool
    account_is_persons: bool
    service_point_on_account: bool
    agreement_matches: bool
    """The agreement is for that account and that service point."""
    agreement_active: bool
    """On the day asked: started, and not yet ended (an agreement's end date is its first day without service)."""
    rate_code: str | None
    """The agreement's rate (program eligibility is by rate)."""
    division: str | None
    """The account's division."""
    cis_premise_id: str | None
    """The service point's premise."""

    @property
    def problems(self) -> tuple[str, ...]:
        found = [code for known, code in ((self.person_known, "unknown_person"),
                                          (self.account_known, "unknown_account"),
                                          (self.service_point_known, "unknown_service_point"),
                                          (self.agreement_known, "unknown_service_agreement")) if not known]
        if self.person_known and self.account_known and not self.account_is_persons:
            found.append("account_not_persons")
        if self.account_known and self.service_point_known and not self.service_point_on_account:
            found.append("service_point_not_on_account")
        if self.agreement_known and self.account_known and self.service_point_known and not self.agreement_matches:
            found.append("agreement_not_for_account_and_service_point")
        if self.agreement_known and not self.agreement_active:
            found.append("agreement_not_active")
        return tuple(found)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class CustomerIds:
    """The CIS ids an enrollment names, and the day it would start."""

    cis_person_id: str
    cis_account_id: str
    cis_service_point_id: str
    cis_service_agreement_id: str
    on: date


def customer_context(connection: Connection, cis_person_id: str, cis_account_id: str, cis_service_point_id: str,
                     cis_service_agreement_id: str, on: date | None = None) -> CustomerContext:
    """Look the four CIS ids up; `on` defaults to today in UTC."""
    ids = CustomerIds(cis_person_id, cis_account_id, cis_service_point_id, cis_service_agreement_id,
                      on or utcnow().date())
    [context] = customer_contexts(connection, [ids])
    return context


def customer_contexts(connection: Connection, many: list[CustomerIds]) -> list[CustomerContext]:
    """Many customers' contexts in four reads, one per CIS table, whatever their number."""
    known_persons = set(connection.execute(sa.select(persons.c.cis_person_id).where(
        persons.c.cis_person_id.in_({ids.cis_person_id for ids in many}))).scalars())
    accounts_by_id = {row.cis_account_id: row for row in connection.execute(
        sa.select(accounts.c.cis_account_id, accounts.c.cis_person_id, accounts.c.division)
        .where(accounts.c.cis_account_id.in_({ids.cis_account_id for ids in many})))}
    points_by_id = {row.cis_service_point_id: row for row in connection.execute(
        sa.select(service_points.c.cis_service_point_id, service_points.c.cis_account_id,
                  service_points.c.cis_premise_id)
        .where(service_points.c.cis_service_point_id.in_({ids.cis_service_point_id for ids in many})))}
    agreements_by_id = {row.cis_service_agreement_id: row for row in connection.execute(
        sa.select(service_agreements.c.cis_service_agreement_id, service_agreements.c.cis_account_id,
                  service_agreements.c.cis_service_point_id, service_agreements.c.rate_code,
                  service_agreements.c.start_date, service_agreements.c.end_date)
        .where(service_agreements.c.cis_service_agreement_id.in_({ids.cis_service_agreement_id for ids in many})))}
    return [_context(ids, ids.cis_person_id in known_persons, accounts_by_id.get(ids.cis_account_id),
                     points_by_id.get(ids.cis_service_point_id), agreements_by_id.get(ids.cis_service_agreement_id))
            for ids in many]


def _context(ids: CustomerIds, person_known: bool, account: Any, point: Any, agreement: Any) -> CustomerContext:
    """Judge one customer's ids from the rows found for them (None where an id is unknown)."""
    return CustomerContext(
        person_known=person_known,
        account_known=account is not None,
        service_point_known=point is not None,
        agreement_known=agreement is not None,
        account_is_persons=person_known and account is not None and account.cis_person_id == ids.cis_person_id,
        service_point_on_account=account is not None and point is not None
        and point.cis_account_id == ids.cis_account_id,
        agreement_matches=account is not None and point is not None and agreement is not None
        and agreement.cis_account_id == ids.cis_account_id
        and agreement.cis_service_point_id == ids.cis_service_point_id,
        agreement_active=agreement is not None and agreement.start_date <= ids.on
        and (agreement.end_date is None or ids.on < agreement.end_date),
        rate_code=agreement.rate_code if agreement is not None else None,
        division=account.division if account is not None else None,
        cis_premise_id=point.cis_premise_id if point is not None else None,
    )
