"""Small, named test data written straight into a system's tables: customers as the CIS would give them, and
programs as the program system's administrators would set them up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from derbridge.dacs import schema as dacs
from derbridge.derms import schema as derms

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SPECIFICATION = "TSTAT-ECO-ET300"


@dataclass(frozen=True)
class Customer:
    """One CIS customer with an account, a premise, a service point, an agreement and a contact."""

    number: int
    rate_code: str = "E-RES"
    division: str = "ELEC-N"

    @property
    def person(self) -> str:
        return f"P{self.number:09d}"

    @property
    def account(self) -> str:
        return f"A{self.number:09d}"

    @property
    def premise(self) -> str:
        return f"R{self.number:09d}"

    @property
    def service_point(self) -> str:
        return f"S{self.number:09d}"

    @property
    def agreement(self) -> str:
        return f"G{self.number:09d}"

    @property
    def contact(self) -> str:
        return f"C{self.number:09d}"

    def enroll_request(self, transaction_id: str | None, program: str = "SMARTSTAT",
                       devices: tuple[tuple[str, str], ...] = (("ECOCLOUD", "ECO-1"),),
                       **changes: Any) -> dict[str, Any]:
        """An F4-shaped bring-your-own, customer-owned enrollment request for this customer."""
        request: dict[str, Any] = {
            "transactionId": transaction_id, "enrollmentSource": "X1BY",
            "customerInfo": {"cisPersonId": self.person, "cisAccountId": self.account, "name": "Doe,Jane"},
            "programInfo": {"programCode": program, "cisServiceAgreementId": self.agreement,
                            "startDate": "2026-11-23"},
            "locationInfo": {"division": self.division, "cisPremiseId": self.premise,
                             "cisServicePointId": self.service_point, "timeZone": "America/Chicago"},
            "assetInfo": {"installationMethod": "X1SI", "assetOwnership": "W1CO", "assetList": [
                {"sequence": n, "specification": SPECIFICATION, "assetType": "SMART-THERMOSTAT",
                 "serialNo": f"E3{n:09d}", "nicId": nic, "headEndSystem": head_end}
                for n, (head_end, nic) in enumerate(devices, start=1)]},
        }
        for path, value in changes.items():
            section, _, name = path.partition("__")
            if name:
                request[section][name] = value
            else:
                request[section] = value
        return request


def add_customers(connection: Connection, *customers: Customer) -> None:
    """The CIS rows of each customer, in the program system's tables."""
    for c in customers:
        connection.execute(sa.insert(dacs.persons).values(cis_person_id=c.person, name="Doe,Jane",
                                                          home_phone="(402) 555-0100", imported_at=NOW))
        connection.execute(sa.insert(dacs.accounts).values(cis_account_id=c.account, cis_person_id=c.person,
                                                           division=c.division, rate_code=c.rate_code,
                                                           imported_at=NOW))
        connection.execute(sa.insert(dacs.premises).values(
            cis_premise_id=c.premise, address1="1 Oak St", city="Ashgrove", county="Lancer County", state="NE",
            postal="68101", country="USA", time_zone="America/Chicago", imported_at=NOW))
        connection.execute(sa.insert(dacs.service_points).values(
            cis_service_point_id=c.service_point, cis_premise_id=c.premise, cis_account_id=c.account,
            location_id=f"LOC{c.number:09d}", imported_at=NOW))
        connection.execute(sa.insert(dacs.service_agreements).values(
            cis_service_agreement_id=c.agreement, cis_account_id=c.account, cis_service_point_id=c.service_point,
            rate_code=c.rate_code, start_date=date(2020, 1, 1), imported_at=NOW))
        connection.execute(sa.insert(dacs.contacts).values(contact_id=c.contact, cis_person_id=c.person,
                                                           kind="HOME_PHONE", value="(402) 555-0100",
                                                           imported_at=NOW))


def add_program(connection: Connection, code: str = "SMARTSTAT", status: str = "ACTIVE",
                specifications: tuple[str, ...] = (SPECIFICATION,), rates: tuple[str, ...] = ("E-RES",),
                program_id: str = "100000000001") -> str:
    connection.execute(sa.insert(dacs.programs).values(
        program_id=program_id, program_code=code, name=f"{code} program", program_type_code="DR-TSTAT",
        status=status, start_date=date(2026, 1, 1), version=1, created_at=NOW, updated_at=NOW))
    if specifications:
        connection.execute(sa.insert(dacs.program_specifications), [
            {"program_id": program_id, "specification": spec} for spec in specifications])
    if rates:
        connection.execute(sa.insert(dacs.program_rates), [{"program_id": program_id, "rate_code": rate}
                                                           for rate in rates])
    return program_id


def add_derms_customers(connection: Connection, *customers: Customer) -> None:
    """The CIS rows DERMS keeps of each customer: contact and location."""
    for c in customers:
        connection.execute(sa.insert(derms.customers).values(cis_person_id=c.person, name="Doe,Jane",
                                                             imported_at=NOW))
        connection.execute(sa.insert(derms.customer_contacts).values(
            contact_id=c.contact, cis_person_id=c.person, kind="HOME_PHONE", value="(402) 555-0100", imported_at=NOW))
        connection.execute(sa.insert(derms.customer_accounts).values(cis_account_id=c.account,
                                                                     cis_person_id=c.person, division=c.division,
                                                                     imported_at=NOW))
        connection.execute(sa.insert(derms.service_locations).values(
            cis_service_point_id=c.service_point, cis_premise_id=c.premise, cis_account_id=c.account,
            location_id=f"LOC{c.number:09d}", address1="1 Oak St", city="Ashgrove", state="NE", postal="68101",
            country="USA", time_zone="America/Chicago", imported_at=NOW))


def add_enrolled_devices(connection: Connection, program: str, devices: list[tuple[str, str]],
                         prefix: str = "T") -> None:
    """Active devices of `program` in the program system, each on a subscription of its own (as enrollment
    activation leaves them), known by (head end, NIC id)."""
    for number, (head_end, nic) in enumerate(devices, start=1):
        device_id, subscription_id = f"{prefix}D{number:010d}", f"{prefix}S{number:012d}"
        connection.execute(sa.insert(dacs.program_subscriptions).values(
            subscription_id=subscription_id, enrollment_id=f"{prefix}E{number:010d}", program_code=program,
            subscription_type="DR", status="ACTIVE", cis_person_id="P1", cis_account_id="A1",
            cis_service_point_id=f"SP-{nic}", start_at=NOW, updated_at=NOW))
        connection.execute(sa.insert(dacs.controllable_devices).values(
            device_id=device_id, enrollment_id=f"{prefix}E{number:010d}", subscription_id=subscription_id,
            status="ACTIVE", head_end_system=head_end, nic_id=nic, cis_service_point_id=f"SP-{nic}",
            installed_at=NOW, updated_at=NOW))
        connection.execute(sa.insert(dacs.active_device_keys).values(head_end_system=head_end, nic_id=nic,
                                                                     device_id=device_id))
