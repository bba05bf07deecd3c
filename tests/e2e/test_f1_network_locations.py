"""F1 end to end over real HTTP between three processes: DERMS's network exports, one file each, reach the
program system through the hub, which then knows where a service point was on any day; through an outage,
a repeat and a bad file."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path
from typing import Any

import httpx2
import polars as pl
import pytest

from derbridge.web.auth import outbound_credential
from derbridge.web.client import make_client
from derbridge.web.operator import checked, operator_client, wait_for
from tests.e2e.conftest import Systems
from tests.networks import write_network

pytestmark = pytest.mark.e2e
TIMEOUT_S = 30
PARQUET = "application/vnd.apache.parquet"
HUB_PATH = "/hub/files/from-derms/networkLocations"


def import_network(systems: Systems, directory: Path) -> None:
    write_network(directory)
    with operator_client(systems.settings, "derms") as derms:
        for table in ("substations", "feeders", "transformers", "service_point_locations"):
            body = (directory / f"{table}.csv").read_bytes()
            checked(derms.put(f"/api/network/import/{table}", content=body,
                              headers={"Content-Type": "text/csv",
                                       "X-Content-SHA256": hashlib.sha256(body).hexdigest()}))


def export(systems: Systems, kind: str) -> dict[str, Any]:
    with operator_client(systems.settings, "derms") as derms:
        return dict(checked(derms.post("/api/network/exports", json={"exportType": kind})))


def wait_applied(systems: Systems, export_id: str) -> dict[str, Any]:
    with operator_client(systems.settings, "dacs") as dacs:
        return wait_for(lambda: next((e for e in checked(dacs.get("/api/network-exports"))
                                      if e["exportId"] == export_id), None), TIMEOUT_S, f"export {export_id} applied")


def transformer_on(systems: Systems, service_point: str, day: str) -> str:
    with operator_client(systems.settings, "dacs") as dacs:
        found = checked(dacs.get(f"/api/service-points/{service_point}/network-location", params={"date": day}))
    return str(found["transformerId"])


def hub_messages(systems: Systems, key: str) -> list[dict[str, Any]]:
    with operator_client(systems.settings, "hub") as hub:
        return list(checked(hub.get("/hub/api/messages", params={"key": key})))


def as_derms(systems: Systems) -> httpx2.Client:
    """The hub as DERMS calls it."""
    return make_client(systems.settings.url("hub"), outbound_credential(systems.settings, "derms", "hub"), 30)


def test_a_full_export_then_a_delta_after_a_move_tell_the_program_system_where_a_service_point_was(
        systems: Systems, tmp_path: Path) -> None:
    systems.start("derms", "dacs", "hub")
    import_network(systems, tmp_path / "network")
    full = wait_applied(systems, export(systems, "full")["exportId"])
    assert (full["inserted"], full["result"]) == (3, "applied")
    assert transformer_on(systems, "SP-1", "2026-03-01") == "T-1"

    with operator_client(systems.settings, "derms") as derms:
        checked(derms.post("/api/network/service-points/SP-1/moves",
                           json={"transformerId": "T-2", "effectiveDate": "2026-03-01"}))
    delta = export(systems, "delta")
    assert delta["previousExportId"] == full["exportId"]
    applied = wait_applied(systems, delta["exportId"])
    assert (applied["rows"], applied["closed"], applied["inserted"], applied["backDated"]) == (1, 1, 1, 0)
    assert transformer_on(systems, "SP-1", "2026-02-28") == "T-1"
    assert transformer_on(systems, "SP-1", "2026-03-01") == "T-2"

    [message] = hub_messages(systems, delta["exportId"])
    assert (message["flow"], message["kind"], message["status"]) == ("F1", "network-locations", "DELIVERED")
    assert {k: message["keys"][k] for k in ("exportId", "exportType", "rows")} == {
        "exportId": delta["exportId"], "exportType": "delta", "rows": "1"}
    assert len(message["keys"]["sha256"]) == 64


def test_an_export_sent_while_the_program_system_is_down_is_applied_when_it_returns(
        systems: Systems, tmp_path: Path) -> None:
    systems.start("derms", "hub")
    import_network(systems, tmp_path / "network")
    created = export(systems, "full")
    wait_for(lambda: any(m["status"] == "RETRYING" and m["attempts"] >= 2
                         for m in hub_messages(systems, created["exportId"])), TIMEOUT_S, "retries")
    systems.start("dacs")
    assert wait_applied(systems, created["exportId"])["inserted"] == 3
    assert transformer_on(systems, "SP-3", "2026-06-01") == "T-3"


def test_the_same_file_twice_is_applied_once(systems: Systems, tmp_path: Path) -> None:
    systems.start("derms", "dacs", "hub")
    import_network(systems, tmp_path / "network")
    created = export(systems, "full")
    wait_applied(systems, created["exportId"])
    body = Path(created["file"]).read_bytes()
    query = {"exportType": "full", "exportId": created["exportId"], "asOf": created["asOf"]}
    headers = {"Content-Type": PARQUET, "X-Content-SHA256": created["sha256"]}
    with as_derms(systems) as hub:
        again = hub.put(HUB_PATH, params=query, content=body,
                        headers={**headers, "Idempotency-Key": f"network-export:{created['exportId']}"})
        assert again.status_code == 200, again.text
        assert again.json()["responses"]["response"][0]["responseCode"] == "DUPLICATE"
        resent = hub.put(HUB_PATH, params=query, content=body, headers={**headers, "Idempotency-Key": "by-hand-1"})
        assert resent.status_code == 202, resent.text
    wait_for(lambda: all(m["status"] == "DELIVERED" for m in hub_messages(systems, created["exportId"])), TIMEOUT_S,
             "the second transfer delivered")
    answers = hub_messages(systems, created["exportId"])
    assert len(answers) == 2 and answers[0]["duplicates"] == 0 and answers[1]["duplicates"] == 1
    with operator_client(systems.settings, "hub") as hub_operator:
        second = checked(hub_operator.get(f"/hub/api/messages/{answers[0]['id']}"))
    assert second["response"]["result"] == "already applied"
    with operator_client(systems.settings, "dacs") as dacs:
        assert len(checked(dacs.get("/api/network-exports"))) == 1
        assert len(checked(dacs.get("/api/service-points/SP-1/network-locations"))) == 1


def test_a_bad_file_is_refused_naming_its_column_and_kept(systems: Systems, tmp_path: Path) -> None:
    systems.start("hub")
    file = tmp_path / "bad.parquet"
    pl.DataFrame({"servicePointId": ["SP-1"], "feederId": ["F-1"], "substationId": ["S-1"],
                  "effectiveDate": [date(2026, 1, 1)]}).write_parquet(file)
    body = file.read_bytes()
    with as_derms(systems) as hub:
        refused = hub.put(HUB_PATH, params={"exportType": "full", "exportId": "NL-BAD-1", "asOf": "2026-01-01"},
                          content=body, headers={"Content-Type": PARQUET, "Idempotency-Key": "network-export:bad-1",
                                                 "X-Content-SHA256": hashlib.sha256(body).hexdigest()})
    assert refused.status_code == 422
    assert [(e["field"], e["type"]) for e in refused.json()["errors"]] == [("transformerId", "missing_column")]
    with operator_client(systems.settings, "hub") as hub_operator:
        [rejected] = checked(hub_operator.get("/hub/api/messages", params={"status": "REJECTED", "flow": "F1"}))
        kept = checked(hub_operator.get(f"/hub/api/messages/{rejected['id']}"))
    assert "transformerId" in kept["lastError"]
    assert Path(json.loads(kept["inbound_payload"])["file"]).read_bytes() == body
