"""F2 end to end over real HTTP between three processes: associate, change and disassociate on an ACTIVE
program each reach DERMS and their acks complete the sync requests; a program that is not active syncs
nothing; a sync waits out a DERMS outage; repeated messages and acks are harmless."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from derbridge.web.operator import checked, operator_client, wait_for
from tests.e2e.conftest import Systems

pytestmark = pytest.mark.e2e
TIMEOUT_S = 30
RULE = {
    "ruleCode": "SUMMER", "description": "Summer peak", "availableForEvents": True, "allowedOverrides": 2,
    "maxEventDurationMinutes": 240, "allowEventDays": ["MON", "TUE", "WED", "THU", "FRI"],
    "cycleFrequency": "MONTHLY", "maxEventsPerWeek": 3, "eventWindow": {"start": "12:00", "end": "19:00"},
    "minNoticeMinutes": 120,
}


def set_up_program(dacs: httpx2.Client, code: str = "SMARTSTAT") -> dict[str, Any]:
    checked(dacs.post("/api/program-types", json={
        "programTypeCode": "DR", "description": "Demand response", "category": "DEMAND_RESPONSE",
        "deviceRequired": True, "preemptiveOptOutAllowed": True, "optOutCutoffMinutes": 60,
        "unavailabilityAllowed": True}))
    return checked(dacs.post("/api/programs", json={
        "programCode": code, "name": "Smart thermostat", "programTypeCode": "DR", "startDate": "2026-01-01",
        "eligibleSpecifications": ["ECOBEE3"], "eligibleRates": ["R1"]}))


def activate(dacs: httpx2.Client, code: str = "SMARTSTAT") -> str:
    checked(dacs.post(f"/api/programs/{code}/status", json={"status": "PENDING_APPROVAL"}))
    return str(checked(dacs.post(f"/api/programs/{code}/status",
                                 json={"status": "ACTIVE", "approvedBy": "Pat Approver"}))["syncRequestId"])


def wait_complete(dacs: httpx2.Client, sync_request_id: str) -> dict[str, Any]:
    def complete() -> dict[str, Any] | None:
        found = checked(dacs.get(f"/api/sync-requests/{sync_request_id}"))
        return found if found["status"] == "COMPLETE" else None
    return wait_for(complete, TIMEOUT_S, f"sync request {sync_request_id} COMPLETE")


def derms_program(systems: Systems, code: str = "SMARTSTAT") -> dict[str, Any]:
    with operator_client(systems.settings, "derms") as derms:
        return checked(derms.get(f"/api/programs/{code}"))


def hub_messages(systems: Systems, key: str) -> list[dict[str, Any]]:
    with operator_client(systems.settings, "hub") as hub:
        return checked(hub.get("/hub/api/messages", params={"key": key}))


def test_associate_change_and_disassociate_reach_derms_and_their_acks_complete_the_sync_requests(
        systems: Systems) -> None:
    systems.start("derms", "dacs", "hub")
    dacs = operator_client(systems.settings, "dacs")
    set_up_program(dacs)
    activation = activate(dacs)
    wait_complete(dacs, activation)
    assert derms_program(systems)["rules"] == [] and derms_program(systems)["rulesVersion"] == 1

    rule_id = checked(dacs.post("/api/rules", json=RULE))["ruleId"]
    associated = checked(dacs.post(f"/api/rules/{rule_id}/programs", json={"programCode": "SMARTSTAT"}))
    wait_complete(dacs, associated["syncRequestId"])
    held = derms_program(systems)
    assert [r["ruleCode"] for r in held["rules"]] == ["SUMMER"] and held["rulesVersion"] == 2
    assert held["rules"][0]["cycleFrequency"] == "MONTH" and held["rules"][0]["allowedEventDays"][0] == "MONDAY"

    changed = checked(dacs.put(f"/api/rules/{rule_id}", json={**RULE, "maxEventsPerWeek": 1}))
    [change_sync] = changed["syncRequestIds"]
    wait_complete(dacs, change_sync)
    held = derms_program(systems)
    assert held["rules"][0]["maxEventsPerWeek"] == 1 and held["lastMessageId"] == change_sync

    removed = checked(dacs.delete(f"/api/rules/{rule_id}/programs/SMARTSTAT"))
    done = wait_complete(dacs, removed["syncRequestId"])
    assert done["ack"]["hasError"] is False and done["kind"] == "PROGRAM_RULES"
    assert derms_program(systems)["rules"] == [] and derms_program(systems)["rulesVersion"] == 4

    for sync_request_id in (activation, associated["syncRequestId"], change_sync, removed["syncRequestId"]):
        assert sorted((m["kind"], m["status"]) for m in hub_messages(systems, sync_request_id)) == [
            ("program-rules-ack", "DELIVERED"), ("program-rules-sync", "DELIVERED")]
    dacs.close()


def test_a_program_that_is_not_active_writes_no_sync_request(systems: Systems) -> None:
    systems.start("dacs")
    dacs = operator_client(systems.settings, "dacs")
    program = set_up_program(dacs)
    rule_id = checked(dacs.post("/api/rules", json=RULE))["ruleId"]
    assert checked(dacs.post(f"/api/rules/{rule_id}/programs", json={"programCode": "SMARTSTAT"}))[
        "syncRequestId"] is None
    assert checked(dacs.put(f"/api/rules/{rule_id}", json={**RULE, "allowedOverrides": 0}))["syncRequestIds"] == []
    checked(dacs.post("/api/programs/SMARTSTAT/status", json={"status": "PENDING_APPROVAL"}))
    assert checked(dacs.delete(f"/api/rules/{rule_id}/programs/SMARTSTAT"))["syncRequestId"] is None
    assert checked(dacs.get("/api/sync-requests", params={"objectId": program["programId"]})) == []
    dacs.close()


def test_a_sync_pending_while_derms_is_down_is_delivered_when_it_returns(systems: Systems) -> None:
    systems.start("dacs", "hub")
    dacs = operator_client(systems.settings, "dacs")
    set_up_program(dacs)
    rule_id = checked(dacs.post("/api/rules", json=RULE))["ruleId"]
    checked(dacs.post(f"/api/rules/{rule_id}/programs", json={"programCode": "SMARTSTAT"}))
    activation = activate(dacs)
    wait_for(lambda: any(m["status"] == "RETRYING" and m["attempts"] >= 2
                         for m in hub_messages(systems, activation)), TIMEOUT_S, "retries")
    assert checked(dacs.get(f"/api/sync-requests/{activation}"))["status"] == "SENT"
    systems.start("derms")
    wait_complete(dacs, activation)
    assert [r["ruleCode"] for r in derms_program(systems)["rules"]] == ["SUMMER"]
    dacs.close()


def test_the_same_message_twice_is_applied_once_and_the_same_ack_twice_is_harmless(systems: Systems) -> None:
    systems.start("derms", "dacs", "hub")
    dacs = operator_client(systems.settings, "dacs")
    hub = operator_client(systems.settings, "hub")
    derms = operator_client(systems.settings, "derms")
    set_up_program(dacs)
    rule_id = checked(dacs.post("/api/rules", json=RULE))["ruleId"]
    checked(dacs.post(f"/api/rules/{rule_id}/programs", json={"programCode": "SMARTSTAT"}))
    sync_request_id = activate(dacs)
    first = wait_complete(dacs, sync_request_id)
    [sync] = [m for m in hub_messages(systems, sync_request_id) if m["kind"] == "program-rules-sync"]
    logged = checked(hub.get(f"/hub/api/messages/{sync['id']}"))

    again = hub.post("/hub/from-dacs/programRulesSync", json=json.loads(logged["inbound_payload"]))
    assert again.status_code == 200 and again.json()["responses"]["response"][0]["responseCode"] == "DUPLICATE"
    for _ in range(2):
        direct = derms.post("/program", json=logged["outbound_payload"])
        assert direct.status_code == 200 and direct.json()["responses"]["response"][0]["responseCode"] == "DUPLICATE"
    held = derms_program(systems)
    assert held["rulesVersion"] == 1 and held["lastMessageId"] == sync_request_id

    [ack] = [m for m in hub_messages(systems, sync_request_id) if m["kind"] == "program-rules-ack"]
    ack_logged = checked(hub.get(f"/hub/api/messages/{ack['id']}"))
    assert hub.post("/hub/from-derms/programAck", json=json.loads(ack_logged["inbound_payload"])).status_code == 200
    acknowledgement = ack_logged["outbound_payload"]
    for _ in range(2):
        repeated = checked(dacs.post("/rest/apis/cross/digitalAssets/programRules/postAcknowledgement",
                                     json=acknowledgement))
        assert repeated == {"syncRequestId": sync_request_id, "result": "already synchronized"}
    assert checked(dacs.get(f"/api/sync-requests/{sync_request_id}")) == first
    assert len(hub_messages(systems, sync_request_id)) == 2, "still one sync and one ack in the hub"
    for client in (dacs, hub, derms):
        client.close()
