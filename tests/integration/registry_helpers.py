"""What the registry tests share: DERMS alone on loopback (the hub is not needed: acks are read from DERMS's
outbox), CIS customers written straight into its tables, enrollment syncs as the hub sends them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from derbridge.bootstrap import BackgroundSystems, local_settings
from derbridge.derms.headend.simulator import FleetDevice, SimulatedCloud
from derbridge.derms.schema import (
    customer_accounts,
    customer_contacts,
    customers,
    outbound_files,
    outbound_messages,
    service_locations,
)
from derbridge.store.db import make_engine
from derbridge.store.testing import drop_postgres_database, fresh_postgres_database
from derbridge.web.auth import outbound_credential
from derbridge.web.client import make_client
from derbridge.web.operator import wait_for
from tests.conftest import FAST_RETRIES, postgres_or_skip

NOW = datetime(2026, 1, 1, tzinfo=UTC)


class Derms:
    """A running DERMS, its database, the hub's client to it and its simulated clouds."""

    def __init__(self, stack: BackgroundSystems) -> None:
        self.stack = stack
        self.settings = stack.settings
        self.db: Engine = make_engine(self.settings.database_url("derms"))
        self.hub = make_client(self.settings.url("derms"), outbound_credential(self.settings, "hub", "derms"), 60)
        self.operator = make_client(self.settings.url("derms"),
                                    outbound_credential(self.settings, "operator", "derms"), 60)

    def cloud(self, name: str) -> SimulatedCloud:
        app = self.stack.running[0].config.app
        return app.state.services.gateway.head_ends[name]  # type: ignore[no-any-return]

    def close(self) -> None:
        self.hub.close()
        self.operator.close()
        self.db.dispose()


def derms_alone(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Derms]:
    """Module fixture body: DERMS on the back end of `request.param`."""
    settings = local_settings(Path(tmp_path_factory.mktemp("derms")), **FAST_RETRIES)
    url = ""
    if request.param == "postgresql":
        url = fresh_postgres_database(postgres_or_skip(), "derbridge_derms")
        settings = settings.with_overrides(derms_database_url=url)
    stack = BackgroundSystems(("derms",), settings).start()
    derms = Derms(stack)
    yield derms
    derms.close()
    stack.stop()
    if url:
        drop_postgres_database(url)


def add_customer(db: Engine, person: str, contact: str, account: str, service_point: str) -> None:
    with db.begin() as connection:
        connection.execute(sa.insert(customers).values(cis_person_id=person, name=f"Customer {person}",
                                                       imported_at=NOW))
        connection.execute(sa.insert(customer_contacts).values(contact_id=contact, cis_person_id=person,
                                                               kind="EMAIL", value=f"{person}@example.org",
                                                               imported_at=NOW))
        connection.execute(sa.insert(customer_accounts).values(cis_account_id=account, cis_person_id=person,
                                                               division="NORTH", imported_at=NOW))
        connection.execute(sa.insert(service_locations).values(
            cis_service_point_id=service_point, cis_premise_id=f"PR{service_point}", cis_account_id=account,
            location_id=f"L{service_point}", address1="1 Main St", city="Springfield", state="IL",
            postal="62701", country="USA", time_zone="America/Chicago", imported_at=NOW))


def fleet_device(nic_id: str) -> FleetDevice:
    return FleetDevice(nic_id, f"S{nic_id}", "ECOTHERM", "ET300", "5.4.2", True, NOW)


def device(device_id: str, nic_id: str, head_end: str = "ECOCLOUD", *, active: bool = True,
           installed: str = "2025-06-01T00:00:00Z", removed: str | None = None) -> dict[str, Any]:
    return {"deviceId": device_id, "nicId": nic_id, "headEndSystem": head_end, "specification": "TSTAT-ECO-ET300",
            "deviceType": "SMART-THERMOSTAT", "installDateTimeISO": installed, "removalDateTimeISO": removed,
            "isActive": active, "nameplateKw": 3.5}


def enroll_sync(message_id: str, subscription: str, customer: tuple[str, str, str, str], devices: list[dict[str, Any]],
                *, status: str = "ACTIVE", start: str = "2026-01-01T00:00:00Z",
                groups: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    person, contact, account, service_point = customer
    return {
        "dacsMessageId": message_id,
        "contactInfo": {"contactId": contact, "cisPersonId": person},
        "subscriptionInfo": {"subscriptionId": subscription, "cisAccountId": account, "subscriptionType": "DR",
                             "status": status, "programId": "PRG1", "programCode": "SMARTSTAT",
                             "startDateTimeISO": start, "endDateTimeISO": None,
                             **({"unenrollReason": "CUSTOMEROPTOUT"} if status == "INACTIVE" else {})},
        "locationInfo": {"division": "NORTH", "servicePointId": f"X{service_point}", "cisPremiseId": "PR1",
                         "cisServicePointId": service_point, "controllableDevices": devices,
                         "deviceGroups": groups or []},
    }


def ack_of(db: Engine, message_id: str, timeout_s: float = 30) -> dict[str, Any]:
    """The enrollment ack DERMS queued for the hub."""
    def queued() -> dict[str, Any] | None:
        with db.connect() as connection:
            payload = connection.execute(sa.select(outbound_messages.c.payload).where(
                outbound_messages.c.message_key == f"enroll-ack:{message_id}")).scalar()
        return json.loads(payload) if payload else None

    return wait_for(queued, timeout_s, f"the ack of enrollment sync {message_id}")


def statuses(ack: dict[str, Any]) -> dict[str, str]:
    return {line["deviceId"]: line["headEndRegistration"] for line in ack["deviceHeadendStatus"]}


def ack_file_row(db: Engine, bulk_sync_id: str, timeout_s: float = 60) -> Any:
    def queued() -> Any:
        with db.connect() as connection:
            return connection.execute(sa.select(outbound_files).where(
                outbound_files.c.message_key == f"enroll-sync-ack:{bulk_sync_id}")).first()

    return wait_for(queued, timeout_s, f"the ack file of bulk sync {bulk_sync_id}")


def checked(response: httpx2.Response, *expected: int) -> Any:
    assert response.status_code in (expected or (200,)), response.text
    return response.json()
