"""Enrollment end to end over real HTTP between three processes (F4, F5, F6): aggregators' batches through
DERMS and the hub into the program system, device status checks, ACTIVE, the enrollment sync and its
head-end registration; refusals, an off-line device, outages, a hub killed with -9 in the middle of a
1,000-enrollment batch, DERMS down during a sync, the same message twice, an unenrollment and a device
replacement."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from derbridge.dataset.generate import generate
from derbridge.scenario import utility as scenario
from derbridge.scenario.aggregator import ENROLLMENTS_PATH, batches, candidates, enrollment_records
from derbridge.web.operator import checked, operator_client, wait_for
from tests.e2e.conftest import Systems

pytestmark = pytest.mark.e2e
TIMEOUT_S = 120
PROGRAM = "SMARTSTAT"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 1,100 on-line ECOCLOUD thermostats not yet enrolled, and some off-line ones."""
    directory = tmp_path_factory.mktemp("enrollment") / "dataset"
    generate(directory, 18_000, seed=5)
    return directory


@pytest.fixture
def utility(systems: Systems, dataset: Path) -> Iterator[Systems]:
    """The three systems' settings with the dataset's head-end fleets; customers and programs are loaded by
    `load_utility` once the program system and DERMS are up."""
    systems.settings = systems.settings.with_overrides(headend_dataset=str(dataset))
    yield systems


def load_utility(systems: Systems, dataset: Path) -> None:
    scenario.load_customers(systems.settings, dataset)
    scenario.set_up_programs(systems.settings, *scenario.dataset_eligibility(dataset))


def records(dataset: Path, count: int, *, online: bool = True, skip: int = 0) -> list[dict[str, Any]]:
    """Enrollment records for `count` devices of one cloud, on line or off line."""
    devices = candidates(dataset, "ECOCLOUD", 100_000).filter(
        pl.col("nicId").is_in(online_nics(dataset)) == online).slice(skip, count)
    assert devices.height == count, f"the dataset has {devices.height} such devices"
    return enrollment_records(devices, PROGRAM, scenario.dataset_start(dataset))


def online_nics(dataset: Path) -> list[str]:
    return candidates(dataset, "ECOCLOUD", 100_000, online_only=True)["nicId"].to_list()


def submit(systems: Systems, chunk: list[dict[str, Any]]) -> str:
    [batch] = batches(chunk, len(chunk))
    with scenario.aggregator_client(systems.settings) as derms:
        return str(checked(derms.post(ENROLLMENTS_PATH, json=batch))["batchId"])


def batch_results(systems: Systems, batch_id: str) -> dict[str, Any]:
    with scenario.aggregator_client(systems.settings) as derms:
        return checked(derms.get(f"{ENROLLMENTS_PATH}/{batch_id}"))


def wait_batch_done(systems: Systems, batch_id: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        found = batch_results(systems, batch_id)
        return found if found["status"] != "SUBMITTED" else None

    return wait_for(done, TIMEOUT_S, f"batch {batch_id} to have results", interval_s=0.25)


def program_system(systems: Systems, path: str, **params: Any) -> Any:
    with operator_client(systems.settings, "dacs") as dacs:
        return checked(dacs.get(path, params=params))


def derms_device(systems: Systems, nic_id: str) -> dict[str, Any]:
    with operator_client(systems.settings, "derms") as derms:
        return checked(derms.get(f"/api/devices/ECOCLOUD/{nic_id}"))


def hub_messages(systems: Systems, **params: Any) -> list[dict[str, Any]]:
    with operator_client(systems.settings, "hub") as hub:
        return checked(hub.get("/hub/api/messages", params={"limit": 5000, **params}))


def registrations(systems: Systems) -> Counter[str]:
    devices = program_system(systems, "/api/devices", limit=5000)
    return Counter(str(device["headEndRegistration"]) for device in devices)


def test_a_batch_ends_active_registered_at_the_head_end_and_answered_per_record(utility: Systems,
                                                                                dataset: Path) -> None:
    utility.start("derms", "dacs", "hub")
    load_utility(utility, dataset)
    good = records(dataset, 20)
    unknown_program = records(dataset, 1, skip=20)
    unknown_program[0]["programInfo"]["programCode"] = "NOPROGRAM"

    results = wait_batch_done(utility, submit(utility, good + unknown_program))

    by_record = {r["messageId"]: r for r in results["results"]}
    assert [by_record[r["params"]["messageId"]]["responseCode"] for r in good] == ["SUCCESS"] * 20
    refused = by_record[unknown_program[0]["params"]["messageId"]]
    assert refused["responseCode"] != "SUCCESS" and refused["messageNumber"] is not None
    counts = scenario.wait_until_settled(utility.settings, 21, TIMEOUT_S)
    assert counts["enrollments"] == {"ACTIVE": 20, "VAL-ERROR": 1}
    assert registrations(utility) == Counter({"D1RE": 20})
    nic = good[0]["assetInfo"]["assetList"][0]["nicId"]
    assert derms_device(utility, nic)["headEndRegistration"] == "D1RE"


def test_an_off_line_device_fails_its_status_check_and_its_enrollment_waits_in_setup_error(
        utility: Systems, dataset: Path) -> None:
    utility.start("derms", "dacs", "hub")
    load_utility(utility, dataset)
    [offline] = records(dataset, 1, online=False)

    results = wait_batch_done(utility, submit(utility, [offline]))

    [result] = results["results"]
    assert result["responseCode"] == "SUCCESS", "the program system took the enrollment; setup comes after"
    wait_for(lambda: scenario.program_system_counts(utility.settings)["enrollments"] == {"SETUP-ERROR": 1},
             TIMEOUT_S, "the enrollment to fail its device setup")
    described = program_system(utility, f"/api/enrollments/{result['enrollmentId']}")
    [check] = described["statusChecks"]
    assert check["status"] == "FAILURE" and check["message"]
    assert described["exception"]["comments"]
    with operator_client(utility.settings, "derms") as derms:
        nic = offline["assetInfo"]["assetList"][0]["nicId"]
        assert derms.get(f"/api/devices/ECOCLOUD/{nic}").status_code == 404, "no sync: DERMS never hears of it"


def test_enrollments_wait_for_the_program_system_and_complete_once_it_returns(utility: Systems,
                                                                              dataset: Path) -> None:
    utility.start("derms", "dacs")
    load_utility(utility, dataset)
    utility.stop("dacs")
    utility.start("hub")
    chunk = records(dataset, 30)
    batch_id = submit(utility, chunk)
    wait_for(lambda: any(m["status"] == "RETRYING" for m in hub_messages(utility, flow="F4")), TIMEOUT_S,
             "the hub to retry the program system")

    utility.start("dacs")

    results = wait_batch_done(utility, batch_id)
    assert Counter(r["responseCode"] for r in results["results"]) == {"SUCCESS": 30}
    assert scenario.wait_until_settled(utility.settings, 30, TIMEOUT_S)["enrollments"] == {"ACTIVE": 30}


def test_a_hub_killed_in_the_middle_of_a_1000_enrollment_batch_enrolls_each_device_exactly_once(
        utility: Systems, dataset: Path) -> None:
    utility.start("derms", "dacs", "hub")
    load_utility(utility, dataset)
    chunk = records(dataset, 1000)
    batch_id = submit(utility, chunk)
    wait_for(lambda: 0 < sum(scenario.program_system_counts(utility.settings)["enrollments"].values()) < 1000,
             TIMEOUT_S, "the program system to be part way through the batch", interval_s=0.05)

    utility.kill("hub")
    utility.start("hub")

    results = wait_batch_done(utility, batch_id)
    assert Counter(r["responseCode"] for r in results["results"]) == {"SUCCESS": 1000}
    counts = scenario.wait_until_settled(utility.settings, 1000, TIMEOUT_S)
    assert counts["enrollments"] == {"ACTIVE": 1000}
    assert registrations(utility) == Counter({"D1RE": 1000})
    assert not [m for m in hub_messages(utility) if m["status"] == "DEAD"]


def test_an_unenrollment_and_a_replacement_reach_the_head_end_through_derms(utility: Systems,
                                                                           dataset: Path) -> None:
    utility.start("derms", "dacs", "hub")
    load_utility(utility, dataset)
    chunk = records(dataset, 2)
    wait_batch_done(utility, submit(utility, chunk))
    scenario.wait_until_settled(utility.settings, 2, TIMEOUT_S)
    leaving, replaced = program_system(utility, "/api/enrollments")
    [spare] = records(dataset, 1, skip=2)
    spare_nic = spare["assetInfo"]["assetList"][0]["nicId"]
    with operator_client(utility.settings, "dacs") as dacs:
        checked(dacs.post(f"/api/enrollments/{leaving['enrollmentId']}/unenroll", json={"reason": "CUSTOMEROPTOUT"}))
        [old_device] = program_system(utility, f"/api/enrollments/{replaced['enrollmentId']}")["devices"]
        checked(dacs.post(f"/api/devices/{old_device['deviceId']}/replace", json={
            "sequence": 1, "specification": old_device["specification"], "assetType": old_device["deviceType"],
            "nicId": spare_nic, "headEndSystem": "ECOCLOUD"}))

    scenario.wait_until_settled(utility.settings, 2, TIMEOUT_S)

    [leaving_device] = program_system(utility, f"/api/enrollments/{leaving['enrollmentId']}")["devices"]
    assert derms_device(utility, leaving_device["nicId"])["headEndRegistration"] == "D1DR"
    assert derms_device(utility, old_device["nicId"])["headEndRegistration"] == "D1DR"
    assert derms_device(utility, spare_nic)["headEndRegistration"] == "D1RE"


def test_derms_down_during_a_sync_gets_it_once_it_returns(utility: Systems, dataset: Path) -> None:
    utility.start("derms", "dacs", "hub")
    load_utility(utility, dataset)
    chunk = records(dataset, 1)
    wait_batch_done(utility, submit(utility, chunk))
    scenario.wait_until_settled(utility.settings, 1, TIMEOUT_S)
    [enrollment] = program_system(utility, "/api/enrollments")
    utility.stop("derms")

    with operator_client(utility.settings, "dacs") as dacs:
        sync_id = checked(dacs.post(f"/api/enrollments/{enrollment['enrollmentId']}/unenroll",
                                    json={"reason": "LSSL"}))["syncRequestId"]
    wait_for(lambda: any(m["status"] == "RETRYING" for m in hub_messages(utility, key=sync_id)), TIMEOUT_S,
             "the hub to retry DERMS")
    utility.start("derms")

    scenario.wait_until_settled(utility.settings, 1, TIMEOUT_S)
    assert program_system(utility, f"/api/sync-requests/{sync_id}")["status"] == "COMPLETE"
    assert derms_device(utility, chunk[0]["assetInfo"]["assetList"][0]["nicId"])["headEndRegistration"] == "D1DR"


def test_the_same_message_twice_or_its_records_again_enroll_each_device_once_and_a_repeated_ack_is_harmless(
        utility: Systems, dataset: Path) -> None:
    utility.start("derms", "dacs", "hub")
    load_utility(utility, dataset)
    chunk = records(dataset, 3)
    wait_batch_done(utility, submit(utility, chunk))
    scenario.wait_until_settled(utility.settings, 3, TIMEOUT_S)
    [request] = [m for m in hub_messages(utility, key=batches(chunk, 3)[0]["batchId"])
                 if m["kind"] == "enrollment-request"]
    with operator_client(utility.settings, "hub") as hub:
        logged = checked(hub.get(f"/hub/api/messages/{request['id']}"))
        again = hub.post("/hub/from-derms/enroll-to-dacs", json=json.loads(logged["inbound_payload"]))
    assert again.status_code == 200
    assert again.json()["responses"]["response"][0]["responseCode"] == "DUPLICATE"

    with scenario.aggregator_client(utility.settings) as derms:
        resent = checked(derms.post(ENROLLMENTS_PATH, json={"batchId": "AGAIN-1", "records": chunk}))["batchId"]
    results = wait_batch_done(utility, resent)["results"]

    assert [(r["responseCode"], r["messageNumber"]) for r in results] == [("SUCCESS", 10589)] * 3
    assert scenario.wait_until_settled(utility.settings, 3, TIMEOUT_S)["enrollments"] == {"ACTIVE": 3}
    [ack] = [m for m in hub_messages(utility, flow="F5") if m["kind"] == "enrollment-ack"][:1]
    with operator_client(utility.settings, "hub") as hub, operator_client(utility.settings, "dacs") as dacs:
        ack_logged = checked(hub.get(f"/hub/api/messages/{ack['id']}"))
        assert hub.post("/hub/from-derms/sendEnrollAck",
                        json=json.loads(ack_logged["inbound_payload"])).status_code == 200
        for _ in range(2):
            repeated = checked(dacs.post("/rest/apis/cross/digitalAssets/programEnrollments/postAcknowledgement",
                                         json=ack_logged["outbound_payload"]))
            assert repeated["result"] == "already synchronized"
    assert registrations(utility) == Counter({"D1RE": 3})
