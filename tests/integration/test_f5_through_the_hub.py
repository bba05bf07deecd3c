"""F5 through the hub: the program system's enrollment sync, as the hub relays it, reaches DERMS's registry,
and DERMS's ack, with each device's head-end registration, comes back to the hub."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from derbridge.bootstrap import BackgroundSystems
from derbridge.derms.headend.simulator import SimulatedCloud
from derbridge.derms.schema import devices
from derbridge.store.db import make_engine
from derbridge.web.auth import outbound_credential
from derbridge.web.client import make_client
from derbridge.web.operator import checked, operator_client, wait_for
from tests.integration.registry_helpers import add_customer, fleet_device


def derms_cloud(stack: BackgroundSystems, name: str) -> SimulatedCloud:
    [derms] = [server.config.app for server in stack.running if server.config.app.title == "derbridge derms"]
    return derms.state.services.gateway.head_ends[name]  # type: ignore[no-any-return, union-attr]


def program_system_sync(sync_request_id: str) -> dict[str, Any]:
    return {"sendDetails": {
        "syncRequestId": sync_request_id,
        "contactInfo": {"contactId": "HC1", "cisPersonId": "HP1"},
        "subscriptionInfo": {"subscriptionId": "HSUB1", "cisAccountId": "HA1", "subscriptionType": "DR",
                             "status": "ACTIVE", "programId": "PRG1", "programCode": "SMARTSTAT",
                             "startDateTime": "2026-01-01T00:00:00Z"},
        "locationInfo": {"division": "NORTH", "servicePointId": "HX1", "cisPremiseId": "HPR1",
                         "cisServicePointId": "HSP1",
                         "controllableDevices": [
                             {"deviceId": "HD1", "nicId": "ECO-HUB-1", "headEndSystem": "ECOCLOUD", "isActive": True,
                              "installDateTime": "2025-06-01T00:00:00Z"},
                             {"deviceId": "HD2", "nicId": "ECO-HUB-2", "headEndSystem": "ECOCLOUD", "isActive": True}],
                         "deviceGroups": [{"groupCategory": "PROGRAM", "groupCode": "SMARTSTAT",
                                           "effectiveStartDateTime": "2026-01-01T00:00:00Z"}]},
    }}


def test_an_enrollment_sync_relayed_by_the_hub_is_applied_and_its_ack_reaches_the_hub(
        running_stack: BackgroundSystems) -> None:
    settings = running_stack.settings
    derms_db = make_engine(settings.database_url("derms"))
    add_customer(derms_db, "HP1", "HC1", "HA1", "HSP1")
    derms_cloud(running_stack, "ECOCLOUD").add_device(fleet_device("ECO-HUB-1"))
    with make_client(settings.url("hub"), outbound_credential(settings, "dacs", "hub"), 30) as program_system:
        answer = program_system.post("/hub/from-dacs/enrollmentSync", json=program_system_sync("H5000000000001"))
    assert answer.status_code == 202, answer.text

    def ack_at_the_hub() -> dict[str, Any] | None:
        with operator_client(settings, "hub") as hub:
            found = checked(hub.get("/hub/api/messages", params={"key": "H5000000000001", "flow": "F5"}))
            acks = [m for m in found if m["kind"] == "enrollment-ack"]
            return checked(hub.get(f"/hub/api/messages/{acks[0]['id']}")) if acks else None

    ack = json.loads(wait_for(ack_at_the_hub, 60, "DERMS's ack at the hub")["inbound_payload"])
    assert ack["hasError"] is False
    assert {line["deviceId"]: line["headEndRegistration"] for line in ack["deviceHeadendStatus"]} == {
        "HD1": "D1RE", "HD2": "D1NR"}
    assert derms_cloud(running_stack, "ECOCLOUD").is_registered("ECO-HUB-1")
    with derms_db.connect() as connection:
        stored = connection.execute(sa.select(devices.c.device_id, devices.c.subscription_id)
                                    .where(devices.c.nic_id == "ECO-HUB-1")).one()
    assert tuple(stored) == ("HD1", "HSUB1")
    derms_db.dispose()
