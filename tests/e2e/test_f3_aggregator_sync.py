"""F3 end to end over real HTTP between three processes: create, update, acks on both sides,
DERMS outages and a hub killed with -9 in the middle of a sync."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from derbridge.scenario.demo import aggregator_body
from derbridge.web.operator import checked, operator_client, wait_for
from tests.e2e.conftest import Systems

pytestmark = pytest.mark.e2e
TIMEOUT_S = 30


def sync_request(dacs: httpx2.Client, sync_request_id: str) -> dict[str, Any]:
    return checked(dacs.get(f"/api/sync-requests/{sync_request_id}"))


def wait_complete(dacs: httpx2.Client, sync_request_id: str) -> dict[str, Any]:
    return wait_for(lambda: (lambda r: r if r["status"] == "COMPLETE" else None)(sync_request(dacs, sync_request_id)),
                    TIMEOUT_S, f"sync request {sync_request_id} COMPLETE")


def derms_aggregators(systems: Systems, aggregator_id: str) -> list[dict[str, Any]]:
    with operator_client(systems.settings, "derms") as derms:
        return [a for a in checked(derms.get("/api/aggregators")) if a["aggregatorId"] == aggregator_id]


def hub_messages(systems: Systems, key: str) -> list[dict[str, Any]]:
    with operator_client(systems.settings, "hub") as hub:
        return checked(hub.get("/hub/api/messages", params={"key": key}))


def test_create_and_update_reach_derms_and_acks_complete_the_sync_requests(systems: Systems) -> None:
    systems.start("derms", "dacs", "hub")
    dacs = operator_client(systems.settings, "dacs")
    created = checked(dacs.post("/api/aggregators", json=aggregator_body("EcoCloud", ["SMARTSTAT"])))
    done = wait_complete(dacs, created["syncRequestId"])
    assert done["ack"]["hasError"] is False and done["attempts"] == 1
    [held] = derms_aggregators(systems, created["aggregatorId"])
    assert held["name"] == "EcoCloud" and held["programCodes"] == ["SMARTSTAT"]

    updated = checked(dacs.put(f"/api/aggregators/{created['aggregatorId']}",
                               json=aggregator_body("EcoCloud Inc.", ["SMARTSTAT", "EVSAVER"])))
    wait_complete(dacs, updated["syncRequestId"])
    [held] = derms_aggregators(systems, created["aggregatorId"])
    assert held["name"] == "EcoCloud Inc." and held["lastMessageId"] == updated["syncRequestId"]

    for sync_request_id in (created["syncRequestId"], updated["syncRequestId"]):
        trail = hub_messages(systems, sync_request_id)
        assert sorted((m["kind"], m["status"]) for m in trail) == [
            ("aggregator-ack", "DELIVERED"), ("aggregator-sync", "DELIVERED")]
    dacs.close()


def test_a_sync_pending_while_derms_is_down_is_delivered_when_it_returns(systems: Systems) -> None:
    systems.start("dacs", "hub")
    dacs = operator_client(systems.settings, "dacs")
    created = checked(dacs.post("/api/aggregators", json=aggregator_body("Outage Co", ["P1"])))
    wait_for(lambda: any(m["status"] == "RETRYING" and m["attempts"] >= 2
                         for m in hub_messages(systems, created["syncRequestId"])), TIMEOUT_S, "retries")
    assert sync_request(dacs, created["syncRequestId"])["status"] == "SENT"
    systems.start("derms")
    wait_complete(dacs, created["syncRequestId"])
    assert len(derms_aggregators(systems, created["aggregatorId"])) == 1
    dacs.close()


def test_a_hub_killed_mid_sync_finishes_it_after_restart_exactly_once(systems: Systems) -> None:
    systems.start("dacs", "hub")
    dacs = operator_client(systems.settings, "dacs")
    created = checked(dacs.post("/api/aggregators", json=aggregator_body("Crash Co", ["P1"])))
    wait_for(lambda: any(m["kind"] == "aggregator-sync" and m["attempts"] >= 1
                         for m in hub_messages(systems, created["syncRequestId"])), TIMEOUT_S, "a first attempt")
    assert sync_request(dacs, created["syncRequestId"])["status"] == "SENT", "the hub had taken it over"
    systems.kill("hub")
    systems.start("derms")
    systems.start("hub")
    wait_complete(dacs, created["syncRequestId"])
    assert len(derms_aggregators(systems, created["aggregatorId"])) == 1
    [sync] = [m for m in hub_messages(systems, created["syncRequestId"]) if m["kind"] == "aggregator-sync"]
    assert sync["status"] == "DELIVERED"
    dacs.close()


def test_an_ack_pending_while_the_program_system_is_down_lands_when_it_returns(systems: Systems) -> None:
    systems.start("dacs", "hub")
    dacs = operator_client(systems.settings, "dacs")
    created = checked(dacs.post("/api/aggregators", json=aggregator_body("Ack Co", ["P1"])))
    wait_for(lambda: sync_request(dacs, created["syncRequestId"])["status"] == "SENT", TIMEOUT_S, "the hub to take it")
    systems.stop("dacs")
    systems.start("derms")
    wait_for(lambda: any(m["kind"] == "aggregator-ack" and m["status"] == "RETRYING"
                         for m in hub_messages(systems, created["syncRequestId"])), TIMEOUT_S, "ack retries")
    systems.start("dacs")
    wait_complete(dacs, created["syncRequestId"])
    dacs.close()


def test_many_syncs_waiting_for_derms_arrive_together_once_each_when_it_returns(systems: Systems) -> None:
    systems.start("dacs", "hub")
    dacs = operator_client(systems.settings, "dacs")
    created = [checked(dacs.post("/api/aggregators", json=aggregator_body(f"Fleet {i}", ["P1"]))) for i in range(30)]
    wait_for(lambda: all(sync_request(dacs, c["syncRequestId"])["status"] == "SENT" for c in created), TIMEOUT_S,
             "the hub to take every sync")
    systems.start("derms")
    for each in created:
        wait_complete(dacs, each["syncRequestId"])
    with operator_client(systems.settings, "derms") as derms:
        held = [a["aggregatorId"] for a in checked(derms.get("/api/aggregators"))]
    assert sorted(held) == sorted(c["aggregatorId"] for c in created)
    dacs.close()
