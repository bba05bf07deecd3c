"""F4 in DERMS: aggregators submit enrollment batches (checked whole, stored, forwarded as one request), and the
hub's per-record results are stored, replaced by later ones, and shown to the aggregator.

DERMS runs alone here, and the tests play the hub: they read the forwarded requests from DERMS's outbox and
post the results they choose (test_devices_round_trip.py runs the real hub and program system)."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from derbridge.bootstrap import BackgroundSystems
from derbridge.cli import app
from derbridge.dataset.generate import generate
from derbridge.derms.enrollment.intake import FORWARD_PATH
from derbridge.derms.schema import enrollment_batches, outbound_messages, rejected_requests
from derbridge.scenario import aggregator
from derbridge.store.db import make_engine
from derbridge.web.auth import outbound_credential
from derbridge.web.client import make_client
from derbridge.web.operator import checked, operator_client
from tests.conftest import BACKENDS
from tests.integration.conftest import cli_config, printed_json, stack_on

RECORD = {
    "params": {"messageId": "MSG-1"},
    "enrollmentSource": "X1BY",
    "customerInfo": {"cisPersonId": "1000000001", "cisAccountId": "2000000001", "name": "Foxham,Pamela",
                     "email": "pamela@example.org"},
    "programInfo": {"cisServiceAgreementId": "3000000001", "programCode": "SMARTSTAT",
                    "startDateTimeISO": "2026-01-01T00:00:00Z"},
    "locationInfo": {"division": "ELEC-N", "cisPremiseId": "4000000001", "cisServicePointId": "5000000001",
                     "timeZone": "America/Chicago", "address1": "2201 6th Pl", "city": "Ashgrove", "state": "NE",
                     "postal": "68127", "country": "USA"},
    "assetInfo": {"installationMethod": "X1SI", "assetOwnership": "W1CO",
                  "assetList": [{"sequence": 1, "specification": "ECOTHERM!ET300", "assetType": "THERMOSTAT",
                                 "serialNo": "E3001",
                                 "nicId": "ECO-000001", "headEndSystem": "ECOCLOUD"}]},
}


def record(number: int, **changes: Any) -> dict[str, Any]:
    made = copy.deepcopy(RECORD)
    made["params"]["messageId"] = f"MSG-{number}"
    made["assetInfo"]["assetList"][0]["nicId"] = f"ECO-{number:06d}"
    for path, value in changes.items():
        target = made
        *parents, last = path.split(".")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if value is None:
            del target[last]
        else:
            target[last] = value
    return made


@pytest.fixture(scope="module", params=BACKENDS)
def running_stack(request: pytest.FixtureRequest,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundSystems]:
    """DERMS alone: nothing listens on the hub's port, so only the tests post results."""
    yield from stack_on(request.param, tmp_path_factory, systems=("derms",))


@pytest.fixture(scope="module")
def aggregator_client(running_stack: BackgroundSystems) -> Iterator[httpx2.Client]:
    settings = running_stack.settings
    with make_client(settings.url("derms"), outbound_credential(settings, "aggregator", "derms"), 30) as client:
        yield client


@pytest.fixture(scope="module")
def derms(running_stack: BackgroundSystems) -> Iterator[httpx2.Client]:
    with operator_client(running_stack.settings, "derms") as client:
        yield client


@pytest.fixture(scope="module")
def derms_db(running_stack: BackgroundSystems) -> Iterator[Engine]:
    engine = make_engine(running_stack.settings.database_url("derms"))
    yield engine
    engine.dispose()


def forwarded(db: Engine, batch_id: str) -> list[dict[str, Any]]:
    o = outbound_messages
    with db.connect() as connection:
        rows = connection.execute(sa.select(o.c.path, o.c.payload).where(o.c.message_key == f"enroll:{batch_id}")).all()
    assert all(row.path == FORWARD_PATH for row in rows)
    return [json.loads(row.payload) for row in rows]


def count(db: Engine, table: sa.Table) -> int:
    with db.connect() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def results(batch_id: str, when: str, *outcomes: tuple[str, str, str | None, int | None]) -> dict[str, Any]:
    return {"batchId": batch_id, "ackType": "ERROR", "whenISO": when, "responses": {"response": [
        {"id": message_id, "responseCode": code, "value": value, "messageCategory": 90000 if number else None,
         "messageNumber": number, "responseTimeISO": when} for message_id, code, value, number in outcomes]}}


def test_a_batch_is_stored_and_forwarded_as_one_enrollment_request(aggregator_client: httpx2.Client,
                                                                   derms_db: Engine) -> None:
    records = [record(1), record(2)]
    answer = aggregator_client.post("/api/aggregator/enrollments", json={"batchId": "AGG-T1", "records": records})
    assert answer.status_code == 202
    assert {k: answer.json()[k] for k in ("batchId", "status", "records", "awaiting")} == {
        "batchId": "AGG-T1", "status": "SUBMITTED", "records": 2, "awaiting": 2}
    [request] = forwarded(derms_db, "AGG-T1")
    assert request["batchId"] == "AGG-T1" and request["drmsInstanceId"] == "DERMS-1"
    assert request["enrollments"] == records


def test_a_repeated_batch_id_returns_the_batch_held_and_forwards_nothing_more(aggregator_client: httpx2.Client,
                                                                             derms_db: Engine) -> None:
    body = {"batchId": "AGG-T2", "records": [record(3)]}
    assert aggregator_client.post("/api/aggregator/enrollments", json=body).status_code == 202
    again = aggregator_client.post("/api/aggregator/enrollments", json={**body, "records": [record(4)]})
    assert again.status_code == 200 and again.json()["records"] == 1
    assert len(forwarded(derms_db, "AGG-T2")) == 1


def test_a_batch_without_an_id_gets_one_from_derms(aggregator_client: httpx2.Client, derms_db: Engine) -> None:
    answer = checked(aggregator_client.post("/api/aggregator/enrollments", json={"records": [record(5)]}))
    assert answer["batchId"].startswith("B") and len(forwarded(derms_db, answer["batchId"])) == 1


BAD_BATCHES = [
    pytest.param([record(10, **{"assetInfo.assetList.0.nicId": None})], {"records.0.assetInfo.assetList.0.nicId"},
                 id="missing NIC id"),
    pytest.param([record(11, **{"assetInfo.assetList.0.specification": "ET300"})],
                 {"records.0.assetInfo.assetList.0.specification"}, id="specification not MAKE!MODEL"),
    pytest.param([record(12, **{"assetInfo.installationMethod": "X1ZZ", "enrollmentSource": "WEB"})],
                 {"records.0.assetInfo.installationMethod", "records.0.enrollmentSource"}, id="unknown codes"),
    pytest.param([record(13, **{"programInfo.startDateTimeISO": "soon", "customerInfo.email": "x" * 255})],
                 {"records.0.programInfo.startDateTimeISO", "records.0.customerInfo.email"}, id="mistyped fields"),
    pytest.param([record(14), record(14)], {"records.1.params.messageId", "records.1.assetInfo.assetList.0.nicId"},
                 id="the same record twice"),
    pytest.param([record(15, **{"assetInfo.assetList.0.headEndSystem": "SOLARCO"})],
                 {"records.0.assetInfo.assetList.0.headEndSystem"}, id="a head end DERMS cannot reach"),
    pytest.param([record(16, customerInfo={})], {"records.0.customerInfo"}, id="nobody to enroll"),
    pytest.param([record(n) for n in range(1001)], {"records"}, id="over 1,000 records"),
]


@pytest.mark.parametrize(("records", "fields"), BAD_BATCHES)
def test_a_bad_batch_is_refused_naming_each_field_and_nothing_is_stored(
        aggregator_client: httpx2.Client, derms_db: Engine, records: list[dict[str, Any]], fields: set[str]) -> None:
    batches_before, rejected_before = count(derms_db, enrollment_batches), count(derms_db, rejected_requests)
    response = aggregator_client.post("/api/aggregator/enrollments", json={"batchId": "AGG-BAD", "records": records})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert fields <= {e["field"] for e in response.json()["errors"]}, response.json()["errors"]
    assert count(derms_db, enrollment_batches) == batches_before
    assert count(derms_db, rejected_requests) == rejected_before + 1, "the raw request is kept"


def test_results_are_stored_per_record_and_a_later_callback_replaces_them(
        aggregator_client: httpx2.Client, derms: httpx2.Client) -> None:
    checked(aggregator_client.post("/api/aggregator/enrollments",
                                   json={"batchId": "AGG-R1", "records": [record(20), record(21), record(22)]}))
    first = results("AGG-R1", "2026-11-23T10:00:00Z", ("MSG-20", "SUCCESS", "E-0020", None),
                    ("MSG-21", "ERROR", "no specification for ECOTHERM!ET300", 90101),
                    ("MSG-22", "FAILURE", "not processed", None))
    assert derms.post("/enroll-to-dacs/results", json=first).status_code == 202
    batch = checked(aggregator_client.get("/api/aggregator/enrollments/AGG-R1"))
    assert (batch["status"], batch["enrolled"], batch["refused"], batch["ackType"]) == ("PARTIAL", 1, 2, "ERROR")
    assert [(r["messageId"], r["responseCode"], r["enrollmentId"], r["messageNumber"]) for r in batch["results"]] == [
        ("MSG-20", "SUCCESS", "E-0020", None), ("MSG-21", "ERROR", None, 90101), ("MSG-22", "FAILURE", None, None)]
    assert batch["results"][1]["messageText"] == "no specification for ECOTHERM!ET300"

    resubmitted = results("AGG-R1", "2026-11-23T11:00:00Z", *((f"MSG-{n}", "SUCCESS", f"E-00{n}", None)
                                                               for n in (20, 21, 22)))
    assert derms.post("/enroll-to-dacs/results", json={**resubmitted, "ackType": "SUCCESS"}).status_code == 202
    batch = checked(aggregator_client.get("/api/aggregator/enrollments/AGG-R1"))
    assert (batch["status"], batch["enrolled"], batch["refused"], batch["awaiting"]) == ("COMPLETE", 3, 0, 0)
    assert all(r["messageText"] is None for r in batch["results"])

    outdated = derms.post("/enroll-to-dacs/results", json=first)
    assert outdated.status_code == 200
    assert outdated.json()["responses"]["response"][0]["responseCode"] == "DUPLICATE"
    assert checked(aggregator_client.get("/api/aggregator/enrollments/AGG-R1"))["status"] == "COMPLETE"


def test_a_batch_with_no_record_enrolled_has_failed(aggregator_client: httpx2.Client, derms: httpx2.Client) -> None:
    checked(aggregator_client.post("/api/aggregator/enrollments", json={"batchId": "AGG-R2", "records": [record(30)]}))
    checked(derms.post("/enroll-to-dacs/results", json=results("AGG-R2", "2026-11-23T10:00:00Z",
                                                                ("MSG-30", "FAILURE", "not processed", None))))
    assert checked(aggregator_client.get("/api/aggregator/enrollments/AGG-R2"))["status"] == "FAILED"


def test_results_for_an_unknown_batch_or_record_are_refused(aggregator_client: httpx2.Client,
                                                            derms: httpx2.Client) -> None:
    checked(aggregator_client.post("/api/aggregator/enrollments", json={"batchId": "AGG-R3", "records": [record(40)]}))
    unknown = derms.post("/enroll-to-dacs/results", json=results("AGG-NONE", "2026-11-23T10:00:00Z"))
    assert unknown.status_code == 404
    stranger = derms.post("/enroll-to-dacs/results", json=results(
        "AGG-R3", "2026-11-23T10:00:00Z", ("MSG-40", "SUCCESS", "E1", None), ("MSG-99", "SUCCESS", "E2", None)))
    assert stranger.status_code == 422
    assert [e["field"] for e in stranger.json()["errors"]] == ["responses.response.1.id"]
    assert checked(aggregator_client.get("/api/aggregator/enrollments/AGG-R3"))["status"] == "SUBMITTED"


def test_results_come_in_batches_too(aggregator_client: httpx2.Client, derms: httpx2.Client) -> None:
    checked(aggregator_client.post("/api/aggregator/enrollments", json={"batchId": "AGG-R4", "records": [record(50)]}))
    answer = checked(derms.post("/enroll-to-dacs/results/batch", json={"messages": [
        results("AGG-R4", "2026-11-23T10:00:00Z", ("MSG-50", "SUCCESS", "E50", None)),
        results("AGG-NONE", "2026-11-23T10:00:00Z"), {"batchId": "AGG-R4"}]}))
    assert [r["status"] for r in answer["results"]] == [202, 404, 422]


def test_only_aggregators_and_operators_use_the_aggregator_api(running_stack: BackgroundSystems) -> None:
    settings = running_stack.settings
    with make_client(settings.url("derms"), outbound_credential(settings, "hub", "derms"), 10) as hub:
        assert hub.get("/api/aggregator/enrollments").status_code == 403
    with make_client(settings.url("derms"), outbound_credential(settings, "aggregator", "derms"), 10) as agg:
        assert agg.post("/enroll-to-dacs/results", json=results("AGG-R1", "2026-11-23T10:00:00Z")).status_code == 403
        assert agg.get("/api/status-checks").status_code == 403


# ---- the aggregator driver against DERMS, with the test playing the hub ----

def play_the_hub(derms: httpx2.Client, db: Engine, stop: threading.Event, refuse_every: int) -> None:
    """Answer each forwarded enrollment request: every `refuse_every`-th record refused, the rest enrolled."""
    answered: set[str] = set()
    while not stop.is_set():
        with db.connect() as connection:
            rows = connection.execute(sa.select(outbound_messages.c.payload)
                                      .where(outbound_messages.c.kind == "enroll-request")).all()
        for row in rows:
            request = json.loads(row.payload)
            if request["batchId"] in answered:
                continue
            outcomes = []
            for index, enrollment in enumerate(request["enrollments"]):
                refused = index % refuse_every == refuse_every - 1
                outcomes.append((enrollment["params"]["messageId"], "ERROR" if refused else "SUCCESS",
                                 "customer not found" if refused else f"E{index}", 10001 if refused else None))
            checked(derms.post("/enroll-to-dacs/results", json=results(request["batchId"], "2026-11-23T10:00:00Z",
                                                                        *outcomes)))
            answered.add(request["batchId"])
        stop.wait(0.05)


def test_the_aggregator_driver_enrolls_dataset_devices_and_summarises_refusals(
        tmp_path: Path, aggregator_client: httpx2.Client, derms: httpx2.Client, derms_db: Engine) -> None:
    generate(tmp_path / "dataset", 1500, seed=5)
    devices = aggregator.candidates(tmp_path / "dataset", "ECOCLOUD", 45)
    assert devices.height == 45
    records = aggregator.enrollment_records(devices, "PEAKREWARDS", aggregator.dataset_as_of(tmp_path / "dataset"))
    stop = threading.Event()
    hub = threading.Thread(target=play_the_hub, args=(derms, derms_db, stop, 5), daemon=True)
    hub.start()
    seen: list[tuple[int, int, int]] = []
    try:
        run = aggregator.enroll(aggregator_client, records, 20, progress=lambda *p: seen.append(p), poll_s=0.05,
                                timeout_s=60)
    finally:
        stop.set()
        hub.join(10)
    assert (run.records, run.enrolled, run.awaiting) == (45, 36, 0)
    assert run.refused_by_reason() == [("ERROR 90000/10001: customer not found", 9)]
    assert [len(b["results"]) for b in run.batches] == [20, 20, 5]
    assert seen[-1] == (45, 45, 45)
    again = aggregator.enroll(aggregator_client, records, 20, poll_s=0.05, timeout_s=10)
    assert [b["batchId"] for b in again.batches] == [b["batchId"] for b in run.batches], "the same batches"


def test_the_enroll_command_shows_progress_and_the_outcome(
        running_stack: BackgroundSystems, tmp_path: Path, derms: httpx2.Client, derms_db: Engine) -> None:
    config = cli_config(running_stack.settings, tmp_path)
    generate(tmp_path / "dataset", 1500, seed=6)
    stop = threading.Event()
    hub = threading.Thread(target=play_the_hub, args=(derms, derms_db, stop, 4), daemon=True)
    hub.start()
    try:
        done = CliRunner().invoke(app, ["headend", "enroll", "--dataset", str(tmp_path / "dataset"), "--head-end",
                                        "NESTLIKE", "--count", "12", "--batch", "5", "--json", "--config",
                                        str(config)], env={"COLUMNS": "200"})
    finally:
        stop.set()
        hub.join(10)
    assert done.exit_code == 0, done.output
    outcome = printed_json(done.output)
    assert (outcome["records"], outcome["enrolled"], outcome["awaiting"]) == (12, 10, 0), "every 4th of 5, 5, 2"
    assert outcome["refused"] == {"ERROR 90000/10001: customer not found": 2} and len(outcome["batches"]) == 3
