"""Devices across the three systems: an aggregator's enrollments go from DERMS through the hub to the program
system, and their results come back to DERMS; each enrollment's device setup asks DERMS, through the hub,
whether the device communicates, and DERMS asks the device's head end."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from derbridge.bootstrap import BackgroundSystems
from derbridge.store.db import make_engine
from derbridge.web.auth import outbound_credential
from derbridge.web.client import make_client
from derbridge.web.operator import checked, operator_client, wait_for
from tests.seed import Customer, add_customers, add_program

TIMEOUT_S = 60.0
KNOWN = [Customer(801), Customer(802), Customer(803)]
STRANGER = Customer(899)
"""Not in the program system's CIS copy."""


@pytest.fixture(scope="module")
def systems(running_stack: BackgroundSystems) -> Iterator[dict[str, httpx2.Client]]:
    settings = running_stack.settings
    dacs_db = make_engine(settings.database_url("dacs"))
    with dacs_db.begin() as connection:
        add_program(connection)
        add_customers(connection, *KNOWN)
    dacs_db.dispose()
    aggregator = make_client(settings.url("derms"), outbound_credential(settings, "aggregator", "derms"), 30)
    with operator_client(settings, "derms") as derms, operator_client(settings, "dacs") as dacs, aggregator:
        yield {"derms": derms, "dacs": dacs, "aggregator": aggregator}


def record(customer: Customer, nic: str) -> dict[str, Any]:
    return {
        "params": {"messageId": f"RT-{customer.number}"},
        "customerInfo": {"cisPersonId": customer.person, "cisAccountId": customer.account, "name": "Doe,Jane"},
        "programInfo": {"cisServiceAgreementId": customer.agreement, "programCode": "SMARTSTAT",
                        "startDateTimeISO": "2026-11-23T00:00:00Z"},
        "locationInfo": {"division": customer.division, "cisPremiseId": customer.premise,
                         "cisServicePointId": customer.service_point, "timeZone": "America/Chicago"},
        "assetInfo": {"installationMethod": "X1SI", "assetOwnership": "W1CO", "assetList": [
            {"sequence": 1, "specification": "ECOTHERM!ET300", "assetType": "THERMOSTAT", "serialNo": f"S-{nic}",
             "nicId": nic,
             "headEndSystem": "ECOCLOUD"}]},
    }


def test_enrollments_go_through_device_setup_asking_derms_and_results_come_back(
        systems: dict[str, httpx2.Client]) -> None:
    derms, dacs, aggregator = systems["derms"], systems["dacs"], systems["aggregator"]
    for nic, online in (("ECO-RT-801", True), ("ECO-RT-802", True), ("ECO-RT-803", False)):
        checked(derms.post("/api/headends/ECOCLOUD/devices", json={
            "nicId": nic, "serialNo": f"S-{nic}", "make": "ECOTHERM", "model": "ET300", "online": online}))
    records = [record(customer, f"ECO-RT-{customer.number}") for customer in KNOWN]
    records.append(record(STRANGER, "ECO-RT-899"))
    checked(aggregator.post("/api/aggregator/enrollments", json={"batchId": "RT-1", "records": records}))

    batch = wait_for(lambda: (lambda b: b if b["status"] != "SUBMITTED" else None)(
        checked(aggregator.get("/api/aggregator/enrollments/RT-1"))), TIMEOUT_S, "the batch's results")
    assert (batch["status"], batch["enrolled"], batch["refused"]) == ("PARTIAL", 3, 1)
    by_message = {r["messageId"]: r for r in batch["results"]}
    refused = by_message["RT-899"]
    assert refused["responseCode"] == "ERROR" and refused["messageNumber"] == 90002
    enrollment_ids = {customer.number: by_message[f"RT-{customer.number}"]["enrollmentId"] for customer in KNOWN}
    assert all(enrollment_ids.values())

    def settled(number: int) -> dict[str, Any] | None:
        found = checked(dacs.get(f"/api/enrollments/{enrollment_ids[number]}"))
        return found if found["status"] in ("ACTIVE", "SETUP-ERROR") else None

    assert wait_for(lambda: settled(801), TIMEOUT_S, "enrollment 801 set up")["status"] == "ACTIVE"
    assert wait_for(lambda: settled(802), TIMEOUT_S, "enrollment 802 set up")["status"] == "ACTIVE"
    offline = wait_for(lambda: settled(803), TIMEOUT_S, "enrollment 803 set up")
    assert offline["status"] == "SETUP-ERROR" and "offline since" in offline["exception"]["comments"]

    [check] = offline["statusChecks"]
    held = checked(derms.get(f"/api/status-checks/{check['communicationId']}"))
    assert (held["nicId"], held["responseCode"], held["delivery"]) == ("ECO-RT-803", "FAILURE", "SENT")
