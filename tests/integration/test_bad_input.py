"""Bad input: a 4xx problem+json naming each bad field, nothing applied, the raw message kept."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from derbridge.bootstrap import BackgroundSystems
from derbridge.scenario.demo import aggregator_body
from derbridge.web.operator import checked, operator_client

GOOD_SYNC = {
    "syncRequestId": "55555555555555", "serviceProviderId": "123456789012", "name": "EcoCloud", "status": "ACTIVE",
    "startDate": "2026-01-01", "contact": {"name": "Dana"}, "programOfferings": [{"programCode": "SMARTSTAT"}],
}


def without(body: dict[str, Any], *fields: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in fields}


def changed(body: dict[str, Any], **values: Any) -> dict[str, Any]:
    result = copy.deepcopy(body)
    result.update(values)
    return result


HUB_CASES = [
    pytest.param(b'{"syncRequestId": "1", "name": ', 400, {"body"}, id="malformed JSON"),
    pytest.param(without(GOOD_SYNC, "name", "startDate"), 422, {"name", "startDate"}, id="missing fields"),
    pytest.param(changed(GOOD_SYNC, startDate="yesterday", programOfferings="SMARTSTAT"), 422,
                 {"startDate", "programOfferings"}, id="mistyped fields"),
    pytest.param(changed(GOOD_SYNC, name="x" * 101, syncRequestId="1" * 15), 422, {"name", "syncRequestId"},
                 id="over-long strings"),
    pytest.param(changed(GOOD_SYNC, status="PAUSED"), 422, {"status"}, id="unknown status"),
    pytest.param(changed(GOOD_SYNC, contact={"name": "Dana", "email": "not-an-email"}), 422, {"contact.email"},
                 id="nested field"),
]


def post(client: Any, path: str, body: Any) -> Any:
    if isinstance(body, bytes):
        return client.post(path, content=body, headers={"Content-Type": "application/json"})
    return client.post(path, json=body)


@pytest.mark.parametrize(("body", "status", "fields"), HUB_CASES)
def test_the_hub_refuses_a_bad_sync_naming_each_field_and_keeps_it(
        running_stack: BackgroundSystems, body: Any, status: int, fields: set[str]) -> None:
    hub = operator_client(running_stack.settings, "hub")
    before = {m["id"] for m in checked(hub.get("/hub/api/messages", params={"limit": 5000}))}
    response = post(hub, "/hub/from-dacs/energyAggregatorSync", body)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    named = {error["field"] for error in response.json()["errors"]}
    assert fields <= named, named
    new = [m for m in checked(hub.get("/hub/api/messages", params={"limit": 5000})) if m["id"] not in before]
    assert [m["status"] for m in new] == ["REJECTED"], "nothing but the rejection is recorded"
    kept = checked(hub.get(f"/hub/api/messages/{new[0]['id']}"))
    expected_raw = body.decode() if isinstance(body, bytes) else None
    assert expected_raw is None or kept["inbound_payload"] == expected_raw
    hub.close()


DACS_CASES = [
    pytest.param(b"{not json", 400, {"body"}, id="malformed JSON"),
    pytest.param(without(aggregator_body("A", ["P"]), "contact"), 422, {"contact"}, id="missing field"),
    pytest.param(changed(aggregator_body("A", ["P"]), name="y" * 300), 422, {"name"}, id="over-long name"),
    pytest.param(changed(aggregator_body("A", ["P"]), status="DORMANT"), 422, {"status"}, id="unknown status"),
    pytest.param(changed(aggregator_body("A", ["P"]), endDate="2020-01-01"), 422, {"body"}, id="end before start"),
]


@pytest.mark.parametrize(("body", "status", "fields"), DACS_CASES)
def test_the_program_system_applies_nothing_from_a_bad_aggregator(
        running_stack: BackgroundSystems, body: Any, status: int, fields: set[str]) -> None:
    dacs = operator_client(running_stack.settings, "dacs")
    aggregators_before = len(checked(dacs.get("/api/aggregators")))
    syncs_before = len(checked(dacs.get("/api/sync-requests", params={"limit": 5000})))
    response = post(dacs, "/api/aggregators", body)
    assert response.status_code == status
    assert fields <= {error["field"] for error in response.json()["errors"]}
    assert len(checked(dacs.get("/api/aggregators"))) == aggregators_before
    assert len(checked(dacs.get("/api/sync-requests", params={"limit": 5000}))) == syncs_before
    dacs.close()


def test_an_oversized_body_is_refused_with_the_limit(running_stack: BackgroundSystems) -> None:
    hub = operator_client(running_stack.settings, "hub")
    limit = running_stack.settings.max_body_bytes
    response = hub.post("/hub/from-dacs/energyAggregatorSync", content=b"x" * (limit + 1),
                        headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert str(limit) in response.json()["detail"]
    hub.close()


def test_the_same_sync_twice_is_recorded_once(running_stack: BackgroundSystems) -> None:
    hub = operator_client(running_stack.settings, "hub")
    sync = changed(GOOD_SYNC, syncRequestId="77777777777777")
    first = post(hub, "/hub/from-dacs/energyAggregatorSync", sync)
    second = post(hub, "/hub/from-dacs/energyAggregatorSync", sync)
    assert (first.status_code, second.status_code) == (202, 200)
    assert second.json()["responses"]["response"][0]["responseCode"] == "DUPLICATE"
    keyed = checked(hub.get("/hub/api/messages", params={"key": "77777777777777"}))
    [message] = [m for m in keyed if m["kind"] == "aggregator-sync"]  # DERMS's ack, once it comes, has the key too
    assert message["duplicates"] == 1
    hub.close()
