"""`derbridge hub` alone, configured as a new integrator would configure it (a configuration file, integration
users of their own names, defaults otherwise), between stand-ins for the vendor systems written from the
published payloads (vendor_standin.py): every mapped field, code and time format of F1–F6, the credentials as
configured, no `/batch` call, the synchronous answers (F4's results, F6's externalId and boStatus), F4's
records one after another in their order, and the bound on how long DERMS waits."""

from __future__ import annotations

import hashlib
import io
import json
import re
import textwrap
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx2
import polars as pl
import pytest
from typer.testing import CliRunner

from derbridge.bootstrap import free_port
from derbridge.cli import app
from derbridge.config import load_settings
from derbridge.scenario.processes import SystemProcess
from derbridge.web.auth import load_or_create_credentials
from derbridge.web.client import make_client
from tests.contract import vendor_standin
from tests.contract.vendor_standin import (
    AGGREGATOR_ACK,
    ENROLL,
    ENROLLMENT_ACK,
    NETWORK_FILE,
    RULES_ACK,
    STATUS_RESPONSE,
    Received,
    StandIn,
    basic,
    msg_ack,
)

pytestmark = pytest.mark.e2e

FROM_PROGRAM_SYSTEM = "CPMCS_INT:from-cpmcs-pw"
FROM_DERMS = "Bearer from-derms-token"
OPERATOR = "ops_admin:ops-pw"
TO_PROGRAM_SYSTEM = ("OIC_CPMCS", "to-cpmcs-pw")
TO_DERMS = "Bearer to-derms-token"
REPLY_WAIT_S = 3.0
VENDOR_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
MSG_ACK_RESPONSE = {"id", "value", "responseCode", "responseTimeISO"}


@dataclass
class Installation:
    config: Path
    hub: SystemProcess
    program_system: StandIn
    derms: StandIn

    def as_program_system(self) -> httpx2.Client:
        return make_client(self.hub.url, FROM_PROGRAM_SYSTEM, 30)

    def as_derms(self) -> httpx2.Client:
        return make_client(self.hub.url, FROM_DERMS, 30)


@pytest.fixture(scope="module")
def installation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installation]:
    directory = tmp_path_factory.mktemp("installation")
    program_system = vendor_standin.program_system(basic(*TO_PROGRAM_SYSTEM)).start()
    derms = vendor_standin.derms(TO_DERMS).start()
    config = directory / "derbridge.toml"
    config.write_text(textwrap.dedent(f"""\
        # The hub between a utility's program system and its DERMS.
        data_dir = "{directory / 'hub'}"
        hub_port = {free_port()}
        dacs_url = "{program_system.url}"
        derms_url = "{derms.url}"
        dacs_auth = "{TO_PROGRAM_SYSTEM[0]}:{TO_PROGRAM_SYSTEM[1]}"
        derms_auth = "{TO_DERMS}"
        hub_callers = ["dacs={FROM_PROGRAM_SYSTEM}", "derms={FROM_DERMS}", "operator={OPERATOR}"]
        # Shorter than an installation would choose, for the tests' sake.
        reply_wait_s = {REPLY_WAIT_S}
        retry_initial_s = 0.2
        retry_max_interval_s = 1.0
        log_level = "warning"
        """))
    hub = SystemProcess("hub", load_settings(env={}, config_file=config), config_file=config).start()
    try:
        yield Installation(config, hub, program_system, derms)
    finally:
        hub.stop()
        program_system.stop()
        derms.stop()


@pytest.fixture(autouse=True)
def stand_ins(installation: Installation) -> Iterator[Installation]:
    """Fresh stand-ins for each test; afterwards, what the hub sent them is checked for what every call must be."""
    installation.program_system.reset()
    installation.derms.reset()
    yield installation
    for stand_in, credential in ((installation.program_system, basic(*TO_PROGRAM_SYSTEM)),
                                 (installation.derms, TO_DERMS)):
        received = stand_in.requests()
        assert not [r.path for r in received if r.path.endswith("/batch")], "a vendor system has no /batch"
        assert {r.authorization for r in received} <= {credential}, f"{stand_in.name} got other credentials"
        assert all(r.headers.get("idempotency-key") for r in received if r.method != "GET"), \
            "every call carries its Idempotency-Key (a health check is no message)"


def vendor_times(*values: Any) -> bool:
    return all(isinstance(value, str) and VENDOR_TIME.match(value) for value in values)


def hub_msg_ack_ok(answer: httpx2.Response, key: str) -> None:
    """The hub's MsgAck for a message it stores and forwards (no documented answer of the far side)."""
    assert answer.status_code == 202, answer.text
    body = answer.json()
    [response] = body["responses"]["response"]
    assert body["ackType"] == "SUCCESS" and response["id"] == key and response["responseCode"] == "RECEIVED"
    assert vendor_times(body["whenISO"], response["responseTimeISO"])


# ---- F1 ------------------------------------------------------------------------------------------------------


def test_f1_a_network_export_reaches_the_program_system_as_one_file_under_its_export_id(
        installation: Installation) -> None:
    body = (b"servicePointId,transformerId,feederId,substationId,effectiveDate\n"
            b"SP1,T1,F1,S1,2026-01-01\nSP2,T2,F1,S1,2026-02-01\n")
    query = {"exportType": "full", "exportId": "EXP-1", "asOf": "2026-01-01"}
    with installation.as_derms() as derms:
        answer = derms.put("/hub/files/from-derms/networkLocations", params=query, content=body, headers={
            "Content-Type": "text/csv", "X-Content-SHA256": hashlib.sha256(body).hexdigest(),
            "Idempotency-Key": "network-export:EXP-1"})
    hub_msg_ack_ok(answer, "EXP-1")
    [put] = installation.program_system.wait_for(NETWORK_FILE)
    assert put.method == "PUT" and put.query == query
    assert put.headers["idempotency-key"] == "EXP-1"
    assert put.headers["x-content-sha256"] == hashlib.sha256(put.body).hexdigest()
    frame = pl.read_parquet(io.BytesIO(put.body))
    assert frame.columns == ["cisServicePointId", "facilityId", "feederId", "substationId", "startDate"]
    assert frame.rows() == [("SP1", "T1", "F1", "S1", date(2026, 1, 1)), ("SP2", "T2", "F1", "S1", date(2026, 2, 1))]


# ---- F2 ------------------------------------------------------------------------------------------------------

RULE = {
    "ruleId": "111122223333", "ruleCode": "SUMMER", "description": "Summer peak", "availableForEvents": True,
    "allowedOverrides": 2, "maxEventDurationMinutes": 240, "allowEventDays": ["MON", "FRI"],
    "cycleFrequency": "MONTHLY", "maxEventsPerSeason": 20, "maxEventsPerMonth": 8, "maxEventsPerWeek": 3,
    "maxEventHoursPerYear": 40.0, "eventWindow": {"start": "12:00", "end": "19:00"}, "minNoticeMinutes": 120,
    "maxConsecutiveDays": 3, "excludeLifeSupport": True,
}


def test_f2_rules_reach_derms_translated_and_a_refusal_comes_back_with_numeric_message_numbers(
        installation: Installation) -> None:
    sync = {"syncRequestId": "21000000000001", "programId": "100000000001", "programCode": "SMARTSTAT",
            "programStatus": "ACTIVE", "rulesVersion": 3, "rules": [RULE]}
    with installation.as_program_system() as program_system:
        hub_msg_ack_ok(program_system.post("/hub/from-dacs/programRulesSync", json=sync), "21000000000001")
    [sent] = installation.derms.wait_for("/program")
    assert sent.headers["idempotency-key"] == "21000000000001"
    program = sent.json
    assert (program["dacsMessageId"], program["programCode"], program["rulesVersion"]) == (
        "21000000000001", "SMARTSTAT", 3)
    [rule] = program["rules"]
    assert (rule["allowedEventDays"], rule["cycleFrequency"]) == (["MONDAY", "FRIDAY"], "MONTH")
    assert (rule["eventWindowStart"], rule["eventWindowEnd"]) == ("12:00:00", "19:00:00")

    ack = {"dacsMessageId": "21000000000001", "ackType": "ERROR", "whenISO": "2026-03-01T10:00:00+01:00",
           "errors": [{"messageCategory": 90200, "messageNumber": 204, "message": "the rules share no event day"}]}
    with installation.as_derms() as derms:
        hub_msg_ack_ok(derms.post("/hub/from-derms/programAck", json=ack), "21000000000001")
    [posted] = installation.program_system.wait_for(RULES_ACK)
    assert posted.headers["idempotency-key"] == "21000000000001"
    assert posted.json == {"syncRequestId": "21000000000001", "hasError": True,
                           "receivedDateTimeISO": "2026-03-01T09:00:00.000Z",
                           "exceptionInfo": [{"messageCategory": 90200, "messageNumber": 204,
                                              "comments": "the rules share no event day", "messageParameters": []}]}


# ---- F3 ------------------------------------------------------------------------------------------------------


def test_f3_an_aggregator_reaches_derms_and_its_ack_the_program_system(installation: Installation) -> None:
    sync = {"syncRequestId": "31000000000001", "serviceProviderId": "998877665544", "name": "EcoCloud",
            "status": "ACTIVE", "startDate": "2026-01-01", "endDate": "2026-12-31",
            "contact": {"name": "Dana", "email": "dana@example.org", "phone": "+1 555 0100"},
            "programOfferings": [{"programCode": "SMARTSTAT"}]}
    with installation.as_program_system() as program_system:
        hub_msg_ack_ok(program_system.post("/hub/from-dacs/energyAggregatorSync", json=sync), "31000000000001")
    [sent] = installation.derms.wait_for("/aggregator")
    assert sent.headers["idempotency-key"] == "31000000000001"
    assert sent.json == {
        "dacsMessageId": "31000000000001", "aggregatorId": "998877665544", "aggregatorName": "EcoCloud",
        "status": "Active", "effectiveStartDateTimeISO": "2026-01-01T00:00:00.000Z",
        "effectiveEndDateTimeISO": "2026-12-31T00:00:00.000Z", "contactName": "Dana",
        "contactEmail": "dana@example.org", "contactPhone": "+1 555 0100", "externalReferenceId": None,
        "externalSystem": None, "programCodes": ["SMARTSTAT"]}

    with installation.as_derms() as derms:
        hub_msg_ack_ok(derms.post("/hub/from-derms/aggregatorAck", json={
            "dacsMessageId": "31000000000001", "ackType": "SUCCESS", "whenISO": "2026-01-02T00:00:00.000Z"}),
            "31000000000001")
    [posted] = installation.program_system.wait_for(AGGREGATOR_ACK)
    assert posted.json == {"syncRequestId": "31000000000001", "hasError": False, "exceptionInfo": [],
                           "receivedDateTimeISO": "2026-01-02T00:00:00.000Z"}


def test_many_messages_at_once_still_reach_derms_one_per_call(installation: Installation) -> None:
    """Delivered together in one of the hub's batches, but a vendor system takes one message per call."""
    syncs = [{"syncRequestId": f"3200000000{n:04d}", "serviceProviderId": f"AG{n}", "name": f"Aggregator {n}",
              "status": "ACTIVE", "startDate": "2026-01-01", "contact": {"name": "Dana"}} for n in range(12)]
    with installation.as_program_system() as program_system, ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(lambda sync: program_system.post("/hub/from-dacs/energyAggregatorSync", json=sync),
                                syncs))
    assert {answer.status_code for answer in answers} == {202}
    received = installation.derms.wait_for("/aggregator", count=len(syncs))
    assert sorted(r.json["dacsMessageId"] for r in received) == sorted(s["syncRequestId"] for s in syncs)
    assert sorted(r.headers["idempotency-key"] for r in received) == sorted(s["syncRequestId"] for s in syncs)


# ---- F4 ------------------------------------------------------------------------------------------------------


def enrollment(message_id: str, asset_type: str = "THERMOSTAT") -> dict[str, Any]:
    return {
        "params": {"messageId": message_id}, "enrollmentSource": "X1BY",
        "customerInfo": {"cisPersonId": "1000000001", "cisAccountId": "2000000001", "name": "Doe,Jane",
                         "homePhone": "(402) 555-0100", "email": "jane.doe@example.com"},
        "programInfo": {"cisServiceAgreementId": "3000000001", "programCode": "SMARTSTAT",
                        "startDateTimeISO": "2026-11-23T18:30:00-06:00"},
        "locationInfo": {"locationId": "LOC-77", "division": "ELEC-N", "cisPremiseId": "4000000001",
                         "cisServicePointId": "5000000001", "timeZone": "America/Chicago", "address1": "1 Oak St",
                         "city": "Ashgrove", "county": "Lancer", "state": "NE", "postal": "68101", "country": "USA"},
        "assetInfo": {"installationMethod": "X1SI", "assetOwnership": "W1CO", "assetList": [
            {"sequence": 1, "specification": "ECOTHERM!ET300", "assetType": asset_type, "serialNo": "E3000000001",
             "nicId": f"NIC-{message_id}", "headEndSystem": "ECOCLOUD"}]},
    }


def by_transaction(answers: dict[str, tuple[int, Any]]) -> vendor_standin.Answerer:
    """The program system's enroll answer per transactionId; the default one for the rest."""
    default = vendor_standin.program_system("").answers[ENROLL]

    def enroll(received: Received) -> tuple[int, Any]:
        return answers.get(received.json["transactionId"]) or default(received)

    return enroll


def test_f4_records_are_enrolled_one_after_another_in_order_and_derms_hears_the_results_in_the_answer(
        installation: Installation) -> None:
    program_system = installation.program_system
    program_system.delay_s = 0.05
    program_system.answer(ENROLL, by_transaction({
        "F4A-2": (400, {"messageCategory": 11002, "messageNumber": 12003, "comments": "program SMARTSTAT is closed"}),
        "F4A-3": (409, {"messageCategory": 11002, "messageNumber": 10589, "enrollmentId": "E-EARLIER"})}))
    request = {"batchId": "F4A", "drmsInstanceId": "DERMS-1",
               "enrollments": [enrollment("F4A-1"), enrollment("F4A-2"), enrollment("F4A-3"),
                               enrollment("F4A-4", asset_type="BATTERY")]}
    with installation.as_derms() as derms:
        answer = derms.post("/hub/from-derms/enroll-to-dacs", json=request)

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"ackType", "whenISO", "responses"} and body["ackType"] == "ERROR"
    responses = body["responses"]["response"]
    assert all(set(r) == MSG_ACK_RESPONSE and vendor_times(r["responseTimeISO"]) for r in responses)
    assert vendor_times(body["whenISO"])
    assert [(r["id"], r["responseCode"]) for r in responses] == [
        ("F4A-1", "SUCCESS"), ("F4A-2", "ERROR"), ("F4A-3", "SUCCESS"), ("F4A-4", "ERROR")]
    assert responses[0]["value"].startswith("E") and responses[2]["value"] == "E-EARLIER"
    assert responses[1]["value"] == "program SMARTSTAT is closed" and "BATTERY" in responses[3]["value"]

    calls = program_system.requests(ENROLL)
    assert [c.json["transactionId"] for c in calls] == ["F4A-1", "F4A-2", "F4A-3"], "in order; F4A-4 not sent"
    assert all(later.started >= earlier.finished for earlier, later in zip(calls, calls[1:], strict=False)), \
        "one call at a time"
    assert [c.headers["idempotency-key"] for c in calls] == ["F4A-1", "F4A-2", "F4A-3"]
    first = calls[0].json
    assert first["locationInfo"]["locationId"] == "LOC-77"
    assert first["programInfo"] == {"cisServiceAgreementId": "3000000001", "programCode": "SMARTSTAT",
                                    "startDate": "2026-11-23"}
    [asset] = first["assetInfo"]["assetList"]
    assert (asset["specification"], asset["assetType"], asset["nicId"], asset["headEndSystem"]) == (
        "TSTAT-ECO-ET300", "SMART-THERMOSTAT", "NIC-F4A-1", "ECOCLOUD")
    assert installation.derms.requests() == [], "a vendor DERMS has no results callback"


def test_f4_a_technical_fault_bounds_the_wait_says_which_records_were_not_sent_and_a_resend_hears_the_rest(
        installation: Installation) -> None:
    program_system = installation.program_system
    program_system.answer(ENROLL, by_transaction({"F4B-2": (503, {"title": "Service Unavailable"})}))
    request = {"batchId": "F4B", "enrollments": [enrollment("F4B-1"), enrollment("F4B-2"), enrollment("F4B-3")]}
    started = time.monotonic()
    with installation.as_derms() as derms:
        answer = derms.post("/hub/from-derms/enroll-to-dacs", json=request)
    assert time.monotonic() - started < REPLY_WAIT_S + 2
    assert answer.status_code == 202 and answer.json()["ackType"] == "FAILURE"
    responses = answer.json()["responses"]["response"]
    assert [(r["id"], r["responseCode"]) for r in responses] == [
        ("F4B-1", "SUCCESS"), ("F4B-2", "FAILURE"), ("F4B-3", "FAILURE")]
    assert "being retried" in responses[1]["value"] and responses[2]["value"] == "not sent yet"
    assert "F4B-3" not in {c.json["transactionId"] for c in program_system.requests(ENROLL)}

    program_system.reset()  # the program system is back
    with installation.as_derms() as derms:
        again = derms.post("/hub/from-derms/enroll-to-dacs", json=request)
    assert again.status_code == 200 and again.json()["ackType"] == "SUCCESS"
    sent = [c.json["transactionId"] for c in program_system.requests(ENROLL)]
    assert sent[-2:] == ["F4B-2", "F4B-3"] and sent.count("F4B-1") == 0 and sent.count("F4B-3") == 1


def test_f4_a_fault_that_will_not_pass_stops_the_run_and_the_records_after_it_are_not_sent(
        installation: Installation) -> None:
    program_system = installation.program_system
    program_system.answer(ENROLL, by_transaction({"F4C-2": (403, {"title": "Forbidden"})}))
    request = {"batchId": "F4C", "enrollments": [enrollment("F4C-1"), enrollment("F4C-2"), enrollment("F4C-3")]}
    with installation.as_derms() as derms:
        answer = derms.post("/hub/from-derms/enroll-to-dacs", json=request)
    assert answer.status_code == 200 and answer.json()["ackType"] == "FAILURE"
    responses = answer.json()["responses"]["response"]
    assert [(r["id"], r["responseCode"]) for r in responses] == [
        ("F4C-1", "SUCCESS"), ("F4C-2", "FAILURE"), ("F4C-3", "FAILURE")]
    assert responses[1]["value"].startswith("failed: HTTP 403")
    assert responses[2]["value"] == "not sent: the run stopped at a record that failed"
    assert [c.json["transactionId"] for c in program_system.requests(ENROLL)] == ["F4C-1", "F4C-2"]


# ---- F5 ------------------------------------------------------------------------------------------------------

ENROLLMENT_SYNC = {"sendDetails": {
    "syncRequestId": "51000000000001",
    "contactInfo": {"contactId": "C1", "cisPersonId": "1000000001"},
    "subscriptionInfo": {"subscriptionId": "11111111111111", "cisAccountId": "2000000001",
                         "subscriptionType": "DR-TSTAT", "status": "ACTIVE", "programId": "100000000001",
                         "programCode": "SMARTSTAT", "startDateTime": "2026-11-23T00:00:00Z", "endDateTime": None},
    "locationInfo": {"division": "ELEC-N", "servicePointId": "5000000001", "cisPremiseId": "4000000001",
                     "cisServicePointId": "5000000001",
                     "controllableDevices": [{"deviceId": "222222222222", "nicId": "ECO-1",
                                              "headEndSystem": "ECOCLOUD", "specification": "TSTAT-ECO-ET300",
                                              "deviceType": "SMART-THERMOSTAT",
                                              "installDateTime": "2026-11-23T06:00:00-06:00", "isActive": True}],
                     "deviceGroups": [{"groupCategory": "PROGRAM", "groupCode": "SMARTSTAT",
                                       "effectiveStartDateTime": "2026-11-23T00:00:00Z"}]},
}}


def test_f5_an_enrollment_sync_reaches_derms_and_its_ack_reports_each_device(installation: Installation) -> None:
    with installation.as_program_system() as program_system:
        hub_msg_ack_ok(program_system.post("/hub/from-dacs/enrollmentSync", json=ENROLLMENT_SYNC), "51000000000001")
    [sent] = installation.derms.wait_for("/enroll")
    message = sent.json
    assert message["dacsMessageId"] == "51000000000001" and sent.headers["idempotency-key"] == "51000000000001"
    assert message["subscriptionInfo"]["startDateTimeISO"] == "2026-11-23T00:00:00.000Z"
    [device] = message["locationInfo"]["controllableDevices"]
    assert (device["deviceId"], device["nicId"], device["installDateTimeISO"]) == (
        "222222222222", "ECO-1", "2026-11-23T12:00:00.000Z")

    ack = {"dacsMessageId": "51000000000001", "hasError": True,
           "exceptionInfo": [{"messageCategory": 90200, "messageNumber": 203, "comments": "unknown service point",
                              "messageParameters": [{"messageParameterValue": "5000000001", "parameterSequence": 1}]}],
           "deviceHeadendStatus": [{"deviceId": "222222222222", "headEndRegistration": "D1NR", "message": "refused"}]}
    with installation.as_derms() as derms:
        hub_msg_ack_ok(derms.post("/hub/from-derms/sendEnrollAck", json=ack), "51000000000001")
    [posted] = installation.program_system.wait_for(ENROLLMENT_ACK)
    assert posted.json == {key: value for key, value in ack.items() if key != "dacsMessageId"} | {
        "syncRequestId": "51000000000001"}


# ---- F6 ------------------------------------------------------------------------------------------------------


def status_check(communication_id: str) -> dict[str, Any]:
    return {"sendDetails": {"communicationId": communication_id, "deviceInfo": {
        "division": "ELEC-N", "deviceType": "SMART-THERMOSTAT", "specification": "TSTAT-ECO-ET300",
        "headEndSystem": "ECOCLOUD", "nicid": "ECO-1"}}}


def test_f6_the_program_systems_check_is_answered_with_dermss_dacs_message_id_as_external_id(
        installation: Installation) -> None:
    installation.derms.answer("/status_check", lambda _r: (200, msg_ack("DERMS-REF-61")))
    with installation.as_program_system() as program_system:
        answer = program_system.post("/hub/from-dacs/deviceStatusCheck", json=status_check("61000000000001"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["ackType"] == "SUCCESS" and body["responseDetails"]["externalId"] == "DERMS-REF-61"
    assert vendor_times(body["whenISO"])
    [sent] = installation.derms.requests("/status_check")
    assert sent.headers["idempotency-key"] == "61000000000001"
    assert sent.json == {"dacsMessageId": "61000000000001",
                         "DeviceInfo": {"division": "ELEC-N", "deviceType": "SMART-THERMOSTAT",
                                        "specification": "TSTAT-ECO-ET300", "headEndSystem": "ECOCLOUD",
                                        "nicid": "ECO-1"},
                         "ConnectivityProperties": {"Plugin": {"ConnectionId": "LEC-ELEC-N"}}}


def test_f6_dermss_result_is_answered_with_the_program_systems_bo_status(installation: Installation) -> None:
    installation.program_system.answer(STATUS_RESPONSE, lambda _r: (200, {"boStatus": "ERROR"}))
    result = {"dacsMessageId": "62000000000001", "responseCode": "FAILURE", "message": "offline since yesterday",
              "lastSeenISO": "2026-11-20T08:00:00Z"}
    with installation.as_derms() as derms:
        answer = derms.post("/hub/from-derms/status-check-ack-to-dacs", json=result)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    [response] = body["responses"]["response"]
    assert (body["ackType"], response["responseCode"], response["dacsMessageId"]) == (
        "ERROR", "ERROR", "62000000000001")
    assert set(response) == MSG_ACK_RESPONSE | {"dacsMessageId"}
    assert vendor_times(body["whenISO"], response["responseTimeISO"])
    [posted] = installation.program_system.requests(STATUS_RESPONSE)
    assert posted.headers["idempotency-key"] == "62000000000001"
    assert posted.json == {"responseDetail": {"transactionID": "62000000000001", "result": {"status": "FAILURE"}}}


def test_f6_a_check_derms_does_not_take_in_time_is_answered_failure_then_delivered_once(
        installation: Installation) -> None:
    installation.derms.answer("/status_check", lambda _r: (503, {"title": "Service Unavailable"}))
    with installation.as_program_system() as program_system:
        first = program_system.post("/hub/from-dacs/deviceStatusCheck", json=status_check("63000000000001"))
        assert first.status_code == 202 and first.json()["ackType"] == "FAILURE"
        assert first.json()["responseDetails"]["externalId"] is None
        installation.derms.reset()  # DERMS is back; the hub is still delivering the check
        resent = program_system.post("/hub/from-dacs/deviceStatusCheck", json=status_check("63000000000001"))
    assert resent.status_code == 200 and resent.json()["responseDetails"]["externalId"] == "63000000000001"
    time.sleep(0.5)
    assert len(installation.derms.requests("/status_check")) == 1, "the resend waited on the recorded check"


# ---- credentials ---------------------------------------------------------------------------------------------


def test_callers_are_the_configured_integration_users_and_the_embedded_ones_no_longer_work(
        installation: Installation) -> None:
    embedded = load_or_create_credentials(installation.hub.settings)["hub"]
    with make_client(installation.hub.url, f"dacs:{embedded['dacs']}", 10) as stranger:
        assert stranger.post("/hub/from-dacs/deviceStatusCheck", json=status_check("64")).status_code == 401
    with installation.as_derms() as derms:
        assert derms.post("/hub/from-dacs/deviceStatusCheck", json=status_check("64")).status_code == 403
    with make_client(installation.hub.url, OPERATOR, 10) as operator:
        assert operator.get("/hub/api/messages", params={"key": "EXP-1"}).status_code == 200


def test_the_effective_configuration_names_the_integration_users_and_hides_every_secret(
        installation: Installation) -> None:
    shown = CliRunner().invoke(app, ["config", "--config", str(installation.config), "--json"])
    assert shown.exit_code == 0, shown.output
    config = json.loads(shown.output)
    assert config["hub_callers"] == ["dacs=CPMCS_INT:****", "derms=Bearer ****", "operator=ops_admin:****"]
    assert config["dacs_auth"] == config["derms_auth"] == "****"
    assert not [secret for secret in ("pw", "token") if secret in shown.output]
    assert not config["dacs_batch"] and not config["derms_enroll_callback"] and not config["store_and_forward"]
