"""Batches: several messages in one request, each answered as the single endpoint would have answered it."""

from __future__ import annotations

from typing import Any

from derbridge.bootstrap import BackgroundSystems
from derbridge.web.client import post_batch
from derbridge.web.operator import checked, operator_client

SYNC = {
    "serviceProviderId": "123456789012", "name": "EcoCloud", "status": "ACTIVE", "startDate": "2026-01-01",
    "contact": {"name": "Dana"}, "programOfferings": [{"programCode": "SMARTSTAT"}],
}
AGGREGATOR = {
    "aggregatorId": "123456789012", "aggregatorName": "EcoCloud", "status": "Active",
    "effectiveStartDateTimeISO": "2026-01-01T00:00:00Z", "contactName": "Dana", "programCodes": ["SMARTSTAT"],
}


def sync(sync_request_id: str, **changes: Any) -> dict[str, Any]:
    return {**SYNC, "syncRequestId": sync_request_id, **changes}


def test_the_hub_takes_a_batch_and_answers_each_message_on_its_own(running_stack: BackgroundSystems) -> None:
    hub = operator_client(running_stack.settings, "hub")
    checked(hub.post("/hub/from-dacs/energyAggregatorSync", json=sync("31000000000001")))
    answer = checked(hub.post("/hub/from-dacs/energyAggregatorSync/batch", json={"messages": [
        sync("31000000000002"), sync("31000000000003", status="PAUSED"), sync("31000000000001")]}))
    statuses = [result["status"] for result in answer["results"]]
    assert statuses == [202, 422, 200]
    assert answer["results"][0]["body"]["responses"]["response"][0]["responseCode"] == "RECEIVED"
    assert answer["results"][1]["body"]["errors"][0]["field"] == "status"
    assert answer["results"][2]["body"]["responses"]["response"][0]["responseCode"] == "DUPLICATE"
    [kept] = [m for m in checked(hub.get("/hub/api/messages", params={"status": "REJECTED", "flow": "F3"}))
              if "31000000000003" in checked(hub.get(f"/hub/api/messages/{m['id']}"))["inbound_payload"]]
    assert kept["kind"] == "aggregator-sync"
    hub.close()


def test_a_batch_envelope_that_is_not_a_list_of_messages_is_refused_whole(running_stack: BackgroundSystems) -> None:
    hub = operator_client(running_stack.settings, "hub")
    for body in ({"messages": []}, {"messages": "x"}, {"items": [sync("31000000000009")]}):
        response = hub.post("/hub/from-dacs/energyAggregatorSync/batch", json=body)
        assert response.status_code == 422, body
    hub.close()


def test_a_reference_system_answers_each_message_of_a_batch(running_stack: BackgroundSystems) -> None:
    derms = operator_client(running_stack.settings, "derms")
    messages = [
        {**AGGREGATOR, "dacsMessageId": "32000000000001"},
        {**AGGREGATOR, "dacsMessageId": "32000000000002", "status": "Sleeping"},
        {**AGGREGATOR, "dacsMessageId": "32000000000001"},
    ]
    outcomes = post_batch(derms, "/aggregator", messages)
    assert [(o.verdict, o.status) for o in outcomes] == [
        ("delivered", 202), ("permanent", 422), ("delivered", 200)]
    assert outcomes[2].body["responses"]["response"][0]["responseCode"] == "DUPLICATE"
    derms.close()


def test_a_receiver_without_batches_makes_every_message_fail_naming_the_switch(
        running_stack: BackgroundSystems) -> None:
    derms = operator_client(running_stack.settings, "derms")
    outcomes = post_batch(derms, "/no-such-endpoint", [{"a": 1}, {"a": 2}])
    assert [o.verdict for o in outcomes] == ["permanent", "permanent"]
    assert "derms_batch" in outcomes[0].error
    derms.close()
