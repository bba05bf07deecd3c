"""F6 in DERMS: a status check is acknowledged at once, asked of the device's head end, held until the cloud's
reporting lag has passed, and its result written to the outbox for the hub, once per dacsMessageId."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from derbridge.bootstrap import BackgroundSystems
from derbridge.cli import app
from derbridge.derms.headend.gateway import Gateway
from derbridge.derms.headend.simulator import CloudProfile, FleetDevice, SimulatedCloud
from derbridge.derms.schema import outbound_messages
from derbridge.derms.status_checks.checks import RESULT_PATH, StatusCheckMessage, StatusCheckWorker, receive
from derbridge.store.db import make_engine
from derbridge.store.migrations import upgrade
from derbridge.web.operator import checked, operator_client, wait_for
from tests.conftest import BACKENDS
from tests.integration.conftest import cli_config, printed_json, stack_on

LAG_S = 2.0
TIMEOUT_S = 15.0


@pytest.fixture(scope="module", params=BACKENDS)
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundSystems]:
    yield from stack_on(request.param, tmp_path_factory, headends=f"ECOCLOUD, NESTLIKE lag={LAG_S:g}, HOMEGRID")


@pytest.fixture(scope="module")
def derms(stack: BackgroundSystems) -> Iterator[httpx2.Client]:
    with operator_client(stack.settings, "derms") as client:
        yield client


@pytest.fixture(scope="module")
def derms_db(stack: BackgroundSystems) -> Iterator[Engine]:
    engine = make_engine(stack.settings.database_url("derms"))
    yield engine
    engine.dispose()


def check(message_id: str, head_end: str, nic: str) -> dict[str, Any]:
    return {"dacsMessageId": message_id,
            "DeviceInfo": {"division": "ELEC-N", "deviceType": "SMART-THERMOSTAT", "specification": "TSTAT-ECO-ET300",
                           "headEndSystem": head_end, "nicid": nic},
            "ConnectivityProperties": {"Plugin": {"ConnectionId": "DERMS1"}}}


def add_device(derms: httpx2.Client, head_end: str, nic: str, online: bool = True) -> None:
    checked(derms.post(f"/api/headends/{head_end}/devices",
                       json={"nicId": nic, "serialNo": f"S-{nic}", "make": "ECOTHERM", "model": "ET300"}))
    if not online:
        checked(derms.put(f"/api/headends/{head_end}/devices/{nic}/online", json={"online": False}))


def answered(derms: httpx2.Client, message_id: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        found = checked(derms.get(f"/api/status-checks/{message_id}"))
        return found if found["status"] == "ANSWERED" else None

    return wait_for(done, TIMEOUT_S, f"status check {message_id} answered")


def outbox_results(db: Engine, message_id: str) -> list[dict[str, Any]]:
    o = outbound_messages
    with db.connect() as connection:
        rows = connection.execute(sa.select(o.c.path, o.c.payload, o.c.created_at)
                                  .where(o.c.message_key == f"status-check-ack:{message_id}")).all()
    assert all(row.path == RESULT_PATH for row in rows)
    return [json.loads(row.payload) for row in rows]


def test_a_check_is_acknowledged_at_once_and_a_repeat_is_a_duplicate(derms: httpx2.Client) -> None:
    first = derms.post("/status_check", json=check("F6-ACK-1", "ECOCLOUD", "ECO-A1"))
    again = derms.post("/status_check", json=check("F6-ACK-1", "ECOCLOUD", "ECO-A1"))
    assert (first.status_code, again.status_code) == (202, 200)
    [ack] = first.json()["responses"]["response"]
    assert first.json()["ackType"] == "SUCCESS" and ack["dacsMessageId"] == "F6-ACK-1"
    assert again.json()["responses"]["response"][0]["responseCode"] == "DUPLICATE"


def test_an_online_device_is_a_success_with_its_last_report(derms: httpx2.Client, derms_db: Engine) -> None:
    add_device(derms, "ECOCLOUD", "ECO-ON-1")
    checked(derms.post("/status_check", json=check("F6-ON-1", "ECOCLOUD", "ECO-ON-1")))
    held = answered(derms, "F6-ON-1")
    assert (held["responseCode"], held["division"], held["connectionId"]) == ("SUCCESS", "ELEC-N", "DERMS1")
    [result] = outbox_results(derms_db, "F6-ON-1")
    assert result["responseCode"] == "SUCCESS" and result["message"] == "online"
    assert result["lastSeenISO"] is not None and result["dacsMessageId"] == "F6-ON-1"


def test_an_offline_device_is_a_failure_saying_since_when(derms: httpx2.Client, derms_db: Engine) -> None:
    add_device(derms, "HOMEGRID", "02:1C:7E:00:00:01", online=False)
    checked(derms.post("/status_check", json=check("F6-OFF-1", "HOMEGRID", "02:1C:7E:00:00:01")))
    answered(derms, "F6-OFF-1")
    [result] = outbox_results(derms_db, "F6-OFF-1")
    assert result["responseCode"] == "FAILURE"
    assert result["message"].startswith("offline since ") and result["lastSeenISO"] is not None


@pytest.mark.parametrize(("head_end", "nic", "why"), [
    ("ECOCLOUD", "ECO-NOBODY", "ECOCLOUD has no device ECO-NOBODY"),
    ("SOLARCO", "S-1", "unknown head-end system 'SOLARCO'"),
], ids=["unknown device", "unknown head end"])
def test_a_device_the_head_end_cannot_vouch_for_is_a_failure_saying_why(
        derms: httpx2.Client, derms_db: Engine, head_end: str, nic: str, why: str) -> None:
    message_id = f"F6-UNK-{head_end}"
    checked(derms.post("/status_check", json=check(message_id, head_end, nic)))
    answered(derms, message_id)
    [result] = outbox_results(derms_db, message_id)
    assert (result["responseCode"], result["message"], result["lastSeenISO"]) == ("FAILURE", why, None)


def test_an_answer_is_held_until_the_clouds_reporting_lag_has_passed(derms: httpx2.Client, derms_db: Engine) -> None:
    add_device(derms, "NESTLIKE", "18B430LAG01")
    checked(derms.post("/status_check", json=check("F6-LAG-1", "NESTLIKE", "18B430LAG01")))
    held = answered(derms, "F6-LAG-1")
    asked, due, done = (datetime.fromisoformat(held[k]) for k in ("askedAt", "dueAt", "answeredAt"))
    assert due - asked == timedelta(seconds=LAG_S)
    assert done >= due
    with derms_db.connect() as connection:
        queued = connection.execute(sa.select(outbound_messages.c.created_at).where(
            outbound_messages.c.message_key == "status-check-ack:F6-LAG-1")).scalar_one()
    assert queued.replace(tzinfo=None) >= due.replace(tzinfo=None), "the result was not written before it was due"


def test_a_repeated_check_is_answered_once_with_the_first_devices_result(derms: httpx2.Client,
                                                                         derms_db: Engine) -> None:
    add_device(derms, "ECOCLOUD", "ECO-DUP-1")
    checked(derms.post("/status_check", json=check("F6-DUP-1", "ECOCLOUD", "ECO-DUP-1")))
    assert derms.post("/status_check", json=check("F6-DUP-1", "ECOCLOUD", "ECO-OTHER")).status_code == 200
    held = answered(derms, "F6-DUP-1")
    assert held["nicId"] == "ECO-DUP-1"
    assert [r["responseCode"] for r in outbox_results(derms_db, "F6-DUP-1")] == ["SUCCESS"]


def test_a_batch_of_checks_is_answered_message_by_message(derms: httpx2.Client) -> None:
    bad = check("F6-BAT-2", "ECOCLOUD", "")
    answer = checked(derms.post("/status_check/batch", json={"messages": [
        check("F6-BAT-1", "ECOCLOUD", "ECO-B1"), bad, check("F6-BAT-1", "ECOCLOUD", "ECO-B1")]}))
    assert [r["status"] for r in answer["results"]] == [202, 422, 200]
    assert answer["results"][1]["body"]["errors"][0]["field"] == "DeviceInfo.nicid"
    assert answered(derms, "F6-BAT-1")["responseCode"] == "FAILURE"


def test_a_bad_check_is_refused_naming_each_field(derms: httpx2.Client) -> None:
    body = {"dacsMessageId": "X" * 31, "DeviceInfo": {"nicid": "N-1"}}
    response = derms.post("/status_check", json=body)
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"dacsMessageId", "DeviceInfo.headEndSystem"}


def test_an_operator_finds_checks_by_device_and_by_id(derms: httpx2.Client) -> None:
    add_device(derms, "ECOCLOUD", "ECO-FIND-1")
    for message_id in ("F6-FIND-1", "F6-FIND-2"):
        checked(derms.post("/status_check", json=check(message_id, "ECOCLOUD", "ECO-FIND-1")))
    answered(derms, "F6-FIND-2")
    found = checked(derms.get("/api/status-checks", params={"nicId": "ECO-FIND-1"}))
    assert [c["dacsMessageId"] for c in found] == ["F6-FIND-2", "F6-FIND-1"]
    assert derms.get("/api/status-checks/F6-NOT-THERE").status_code == 404


def test_the_hubs_credential_is_needed_and_an_aggregators_is_refused(stack: BackgroundSystems) -> None:
    from derbridge.web.auth import outbound_credential
    from derbridge.web.client import make_client

    settings = stack.settings
    with make_client(settings.url("derms"), outbound_credential(settings, "aggregator", "derms"), 10) as client:
        assert client.post("/status_check", json=check("F6-AUTH-1", "ECOCLOUD", "E")).status_code == 403
    with make_client(settings.url("derms"), outbound_credential(settings, "hub", "derms"), 10) as client:
        assert client.post("/status_check", json=check("F6-AUTH-1", "ECOCLOUD", "E")).status_code == 202


# ---- the worker alone, on a clock of its own ----

class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def derms_alone(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade("derms", engine)
    yield engine
    engine.dispose()


def test_the_worker_releases_a_held_answer_exactly_when_it_falls_due(derms_alone: Engine) -> None:
    start = datetime.fromisoformat("2026-06-01T12:00:00+00:00")
    clock = Clock(start)
    cloud = SimulatedCloud(CloudProfile("NESTLIKE", reporting_lag_s=30), clock=clock)
    cloud.add_device(FleetDevice("N-1", "S1", "NESTLIKE", "E", "6.2-12", True, start))
    woken: list[bool] = []
    worker = StatusCheckWorker(derms_alone, Gateway([cloud]), lambda: woken.append(True), clock=clock)
    receive(derms_alone, StatusCheckMessage.model_validate(check("W-1", "NESTLIKE", "N-1")), start)

    assert worker.run_once() == (False, start + timedelta(seconds=30))
    assert outbox_results(derms_alone, "W-1") == [] and woken == []
    clock.now = start + timedelta(seconds=29.9)
    worker.run_once()
    assert outbox_results(derms_alone, "W-1") == []
    clock.now = start + timedelta(seconds=30)
    assert worker.run_once() == (False, None)
    [result] = outbox_results(derms_alone, "W-1")
    assert result["responseCode"] == "SUCCESS" and woken == [True]
    worker.run_once()
    assert len(outbox_results(derms_alone, "W-1")) == 1, "a released answer is never written twice"


def test_the_worker_asks_each_head_end_once_per_round(derms_alone: Engine) -> None:
    asked: list[list[str]] = []

    class Counting(SimulatedCloud):
        def latest_status(self, nic_ids: list[str]) -> Any:
            asked.append(nic_ids)
            return super().latest_status(nic_ids)

    clouds = [Counting(CloudProfile(name)) for name in ("ECOCLOUD", "NESTLIKE")]
    worker = StatusCheckWorker(derms_alone, Gateway(clouds), lambda: None, round_size=50)
    for index in range(30):
        head_end = ("ECOCLOUD", "NESTLIKE")[index % 2]
        receive(derms_alone, StatusCheckMessage.model_validate(check(f"R-{index}", head_end, f"D-{index % 7}")))
    assert worker.run_once()[0] is False
    assert sorted(len(nics) for nics in asked) == [7, 7], "one call per head end, each device once"
    assert all(outbox_results(derms_alone, f"R-{index}") for index in range(30))


def test_the_command_line_lists_checks_and_head_ends(stack: BackgroundSystems, derms: httpx2.Client,
                                                     tmp_path: Path) -> None:
    config = cli_config(stack.settings, tmp_path)
    add_device(derms, "ECOCLOUD", "ECO-CLI-1")
    checked(derms.post("/status_check", json=check("F6-CLI-1", "ECOCLOUD", "ECO-CLI-1")))
    answered(derms, "F6-CLI-1")

    def run(*args: str) -> str:
        done = CliRunner().invoke(app, ["headend", *args, "--config", str(config)], env={"COLUMNS": "200"})
        assert done.exit_code == 0, done.output
        return done.output

    [listed] = printed_json(run("checks", "--nic", "ECO-CLI-1", "--json"))
    assert (listed["dacsMessageId"], listed["responseCode"]) == ("F6-CLI-1", "SUCCESS")
    assert "F6-CLI-1" in run("checks", "--id", "F6-CLI-1")
    head_ends = {h["name"]: h for h in printed_json(run("list", "--json"))}
    assert head_ends["NESTLIKE"]["reportingLagS"] == LAG_S and head_ends["ECOCLOUD"]["devices"] >= 1
    assert "NESTLIKE" in run("list")
