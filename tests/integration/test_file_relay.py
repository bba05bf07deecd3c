"""The hub's file relay over loopback: who may send a file, what a file must come with, a CSV delivered as the
target's Parquet, and an export that comes before the one it follows waiting its turn."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx2
import pytest

from derbridge.bootstrap import BackgroundSystems
from derbridge.web.auth import outbound_credential
from derbridge.web.client import make_client
from derbridge.web.operator import checked, operator_client, wait_for

HUB_PATH = "/hub/files/from-derms/networkLocations"
CSV = "text/csv"


def hub_as(stack: BackgroundSystems, caller: str) -> httpx2.Client:
    return make_client(stack.settings.url("hub"), outbound_credential(stack.settings, caller, "hub"), 30)


def send(stack: BackgroundSystems, body: bytes, key: str, query: dict[str, str], caller: str = "derms",
         **headers: str) -> httpx2.Response:
    sent = {"content-type": CSV, "idempotency-key": key, "x-content-sha256": hashlib.sha256(body).hexdigest()}
    sent.update({name.replace("_", "-"): value for name, value in headers.items()})
    with hub_as(stack, caller) as hub:
        return hub.put(HUB_PATH, params=query, content=body, headers={k: v for k, v in sent.items() if v})


def export_csv(*rows: str) -> bytes:
    return ("servicePointId,transformerId,feederId,substationId,effectiveDate\n" + "".join(
        f"{row}\n" for row in rows)).encode()


def applied(stack: BackgroundSystems, export_id: str) -> dict[str, Any]:
    with operator_client(stack.settings, "dacs") as dacs:
        return wait_for(lambda: next((e for e in checked(dacs.get("/api/network-exports"))
                                      if e["exportId"] == export_id), None), 30, f"export {export_id} applied")


def test_only_derms_and_operators_may_send_derms_files(running_stack: BackgroundSystems) -> None:
    response = send(running_stack, export_csv("SP-1,T-1,F-1,S-1,2026-01-01"), "k-auth",
                    {"exportType": "full", "exportId": "X-AUTH", "asOf": "2026-01-01"}, caller="dacs")
    assert response.status_code == 403


def test_a_file_without_its_key_checksum_or_parameters_is_refused_naming_each_and_kept_as_rejected(
        running_stack: BackgroundSystems) -> None:
    response = send(running_stack, export_csv("SP-1,T-1,F-1,S-1,2026-01-01"), "",
                    {"exportType": "weekly", "asOf": "2026-01-01"}, x_content_sha256="")
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {
        "header.idempotency-key", "header.x-content-sha256", "query.exportType", "query.exportId"}
    with operator_client(running_stack.settings, "hub") as hub:
        rejected = checked(hub.get("/hub/api/messages", params={"status": "REJECTED", "flow": "F1"}))
        kept = checked(hub.get(f"/hub/api/messages/{rejected[0]['id']}"))
    assert json.loads(kept["inbound_payload"])["query"] == "exportType=weekly&asOf=2026-01-01"


def test_a_file_in_another_format_is_refused_as_such(running_stack: BackgroundSystems) -> None:
    response = send(running_stack, b'{"rows": []}', "k-json", {"exportType": "full", "exportId": "X-JSON",
                                                                 "asOf": "2026-01-01"}, content_type="application/json")
    assert response.status_code == 415


def test_a_csv_file_reaches_the_program_system_as_parquet_under_its_own_names(
        running_stack: BackgroundSystems) -> None:
    body = export_csv("SP-CSV-1,T-1,F-1,S-1,2026-01-01", "SP-CSV-2,T-2,F-2,S-1,2026-02-01")
    response = send(running_stack, body, "k-csv-1", {"exportType": "full", "exportId": "X-CSV-1",
                                                     "asOf": "2026-02-01"})
    assert response.status_code == 202, response.text
    message_id = int(response.json()["responses"]["response"][0]["value"])
    assert applied(running_stack, "X-CSV-1")["inserted"] == 2
    with operator_client(running_stack.settings, "hub") as hub:
        message = checked(hub.get(f"/hub/api/messages/{message_id}"))
    assert message["outbound_payload"]["contentType"] == "application/vnd.apache.parquet"
    assert message["outbound_payload"]["rows"] == 2 and message["keys"]["sha256"] == hashlib.sha256(body).hexdigest()
    with operator_client(running_stack.settings, "dacs") as dacs:
        found = checked(dacs.get("/api/service-points/SP-CSV-2/network-location", params={"date": "2026-03-01"}))
    assert (found["transformerId"], found["feederId"], found["substationId"]) == ("T-2", "F-2", "S-1")


def test_a_bad_date_is_refused_naming_its_column_and_row(running_stack: BackgroundSystems) -> None:
    response = send(running_stack, export_csv("SP-1,T-1,F-1,S-1,2026-01-01", "SP-2,T-1,F-1,S-1,1/2/2026"),
                    "k-date", {"exportType": "full", "exportId": "X-DATE", "asOf": "2026-01-01"})
    assert response.status_code == 422
    assert [(e["field"], e["rows"]) for e in response.json()["errors"]] == [("effectiveDate", [2])]


def test_an_export_that_arrives_before_the_one_it_follows_waits_its_turn(running_stack: BackgroundSystems) -> None:
    later = send(running_stack, export_csv("SP-ORDER,T-2,F-2,S-1,2026-03-01"), "k-order-2",
                 {"exportType": "delta", "exportId": "X-ORDER-2", "asOf": "2026-03-01",
                  "previousExportId": "X-ORDER-1"})
    assert later.status_code == 202
    with operator_client(running_stack.settings, "hub") as hub:
        wait_for(lambda: any(m["status"] == "RETRYING" and "425" in (m["lastError"] or "")
                             for m in checked(hub.get("/hub/api/messages", params={"key": "X-ORDER-2"}))), 30,
                 "the later export refused as too early")
    first = send(running_stack, export_csv("SP-ORDER,T-1,F-1,S-1,2026-01-01"), "k-order-1",
                 {"exportType": "full", "exportId": "X-ORDER-1", "asOf": "2026-01-01"})
    assert first.status_code == 202
    applied(running_stack, "X-ORDER-2")
    with operator_client(running_stack.settings, "dacs") as dacs:
        history = checked(dacs.get("/api/service-points/SP-ORDER/network-locations"))
    assert [(r["transformerId"], r["effectiveStart"]) for r in history] == [("T-1", "2026-01-01"),
                                                                          ("T-2", "2026-03-01")]


@pytest.mark.parametrize("path", ["/hub/files/from-derms/nothing", "/hub/files/from-dacs/networkLocations"])
def test_a_file_nobody_relays_is_not_found(running_stack: BackgroundSystems, path: str) -> None:
    with hub_as(running_stack, "operator") as hub:
        assert hub.put(path, content=b"x", headers={"Content-Type": CSV}).status_code in (404, 405)
