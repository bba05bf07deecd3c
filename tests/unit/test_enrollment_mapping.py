"""F4, F5 and F6 mapping in the hub: each message becomes one its receiver accepts, field by field, and the
program system's answers to F4 calls become the per-record results DERMS gets."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from derbridge.config import Settings
from derbridge.dacs.enrollment import api as enrollment_api
from derbridge.dacs.enrollment import enrollment_sync
from derbridge.dacs.enrollment.wire import EnrollRequest
from derbridge.dacs.status_checks import checks as status_checks
from derbridge.hub import messagelog
from derbridge.hub.flows import f4_enrollment_request as f4
from derbridge.hub.flows import f5_enrollment_sync as f5
from derbridge.hub.flows import f6_status_check as f6
from derbridge.hub.lookup_catalog import SEEDS
from derbridge.hub.lookups import LookupMissing, Lookups
from derbridge.web.client import Outcome

LOOKUPS = Lookups.of(SEEDS)
RECORD = {
    "params": {"messageId": "ECO-20261123-0001"}, "enrollmentSource": "X1BY",
    "customerInfo": {"cisPersonId": "1000000001", "cisAccountId": "2000000001", "name": "Doe,Jane",
                     "homePhone": "(402) 555-0100", "email": "jane.doe@example.com"},
    "programInfo": {"cisServiceAgreementId": "3000000001", "programCode": "SMARTSTAT",
                    "startDateTimeISO": "2026-11-23T18:30:00-06:00"},
    "locationInfo": {"locationId": "LOC1", "division": "ELEC-N", "cisPremiseId": "4000000001",
                     "cisServicePointId": "5000000001", "timeZone": "America/Chicago", "address1": "1 Oak St",
                     "city": "Ashgrove", "county": "Lancer County", "state": "NE", "postal": "68101",
                     "country": "USA"},
    "assetInfo": {"installationMethod": "X1SI", "assetOwnership": "W1CO", "assetList": [
        {"sequence": 1, "specification": "ECOTHERM!ET300", "assetType": "THERMOSTAT", "serialNo": "E3000000001",
         "nicId": "ECO-0A1B2C3D4E5F", "headEndSystem": "ECOCLOUD"}]},
}


def record(**changes: Any) -> f4.EnrollmentRecord:
    return f4.EnrollmentRecord.model_validate({**RECORD, **changes})


def test_a_record_maps_to_an_enroll_call_the_program_system_accepts() -> None:
    mapped = f4.to_dacs(record(), LOOKUPS)
    accepted = EnrollRequest.model_validate(mapped)
    assert accepted.transactionId == "ECO-20261123-0001"
    assert accepted.programInfo.startDate is not None and accepted.programInfo.startDate.isoformat() == "2026-11-23"
    [asset] = accepted.assetInfo.assetList
    assert (asset.specification, asset.assetType) == ("TSTAT-ECO-ET300", "SMART-THERMOSTAT")
    assert accepted.locationInfo.locationId == "LOC1"
    assert mapped["locationInfo"] == RECORD["locationInfo"]


def with_asset(**changes: Any) -> f4.EnrollmentRecord:
    return record(assetInfo={**RECORD["assetInfo"], "assetList": [{**RECORD["assetInfo"]["assetList"][0], **changes}]})


@pytest.mark.parametrize("change", [{"specification": "ACME!X1"}, {"assetType": "BATTERY"}])
def test_a_device_model_or_asset_type_missing_from_its_lookup_cannot_be_mapped(change: dict[str, str]) -> None:
    with pytest.raises(LookupMissing, match="ACME!X1|BATTERY"):
        f4.to_dacs(with_asset(**change), LOOKUPS)


def test_an_asset_type_derms_leaves_out_is_left_out_for_the_program_system_to_judge() -> None:
    [asset] = f4.to_dacs(with_asset(assetType=None), LOOKUPS)["assetInfo"]["assetList"]
    assert asset["assetType"] is None and asset["specification"] == "TSTAT-ECO-ET300"


def test_a_request_becomes_a_waiting_parent_with_a_part_per_record() -> None:
    second = {**RECORD, "params": {"messageId": "M2"}, "assetInfo": {**RECORD["assetInfo"], "assetList": [
        {**RECORD["assetInfo"]["assetList"][0], "specification": "ACME!X1"}]}}
    request = f4.EnrollmentRequest.model_validate({"batchId": "B1", "drmsInstanceId": "DERMS-1",
                                                   "enrollments": [RECORD, second]})
    parent = f4.INTAKE.new_message(request, "{}", LOOKUPS, Settings())
    assert parent.status == messagelog.WAITING and parent.keys == {"batchId": "B1", "drmsInstanceId": "DERMS-1"}
    assert parent.outbound_path == "", "a vendor DERMS hears the results as the answer: nothing to deliver"
    callback = f4.INTAKE.new_message(request, "{}", LOOKUPS, Settings(derms_enroll_callback=True))
    assert callback.outbound_path == f4.RESULTS_PATH
    mapped, unmapped = parent.parts
    assert mapped.status == messagelog.RECEIVED and mapped.outbound_payload is not None
    assert mapped.idempotency_key == "F4:enrollment-record:B1:ECO-20261123-0001"
    assert unmapped.status == messagelog.DEAD and "ACME!X1" in (unmapped.last_error or "")


def test_a_request_from_an_unrouted_instance_cannot_be_mapped() -> None:
    request = f4.EnrollmentRequest.model_validate({"batchId": "B1", "drmsInstanceId": "DERMS-9",
                                                   "enrollments": [RECORD]})
    [only] = f4.INTAKE.new_message(request, "{}", LOOKUPS, Settings()).parts
    assert only.status == messagelog.DEAD and "DERMS-9" in (only.last_error or "")


def test_a_message_id_twice_in_one_request_is_refused() -> None:
    with pytest.raises(ValueError, match="more than once"):
        f4.EnrollmentRequest.model_validate({"batchId": "B1", "enrollments": [RECORD, RECORD]})


@pytest.mark.parametrize(("outcome", "status"), [
    (Outcome("delivered", 200, {"enrollmentId": "E1", "status": "DEVICE-SETUP"}), messagelog.DELIVERED),
    (Outcome("delivered", 200, {"enrollmentId": "E1", "status": "VAL-ERROR",
                                "exception": {"messageNumber": 90012}}), messagelog.DECLINED),
    (Outcome("permanent", 409, {"enrollmentId": "E1", "messageNumber": 10589}), messagelog.DELIVERED),
    (Outcome("permanent", 400, {"messageNumber": 11002, "detail": "bad"}), messagelog.DECLINED),
    (Outcome("permanent", 422, {"errors": []}), messagelog.DEAD),
    (Outcome("permanent", 401, "Unauthorized"), messagelog.DEAD),
    (Outcome("transient", 503, None), messagelog.RETRYING),
], ids=["created", "refused", "already exists", "business message", "bad payload", "credentials", "down"])
def test_the_program_systems_answer_decides_a_records_fate(outcome: Outcome, status: str) -> None:
    assert f4.record_status(outcome) == status


def part_row(status: str, response: Any = None, attempts: int = 1, last_error: str | None = None,
             key: str = "M1") -> Any:
    return SimpleNamespace(business_key=key, status=status, attempts=attempts, last_error=last_error,
                           response=json.dumps(response) if response is not None else None)


def test_results_say_success_error_or_failure_per_record_and_overall() -> None:
    parent = SimpleNamespace(business_key="B1")
    enrolled = part_row("DELIVERED", {"enrollmentId": "E1", "status": "DEVICE-SETUP"}, key="M1")
    duplicate = part_row("DELIVERED", {"enrollmentId": "E2", "messageNumber": 10589}, key="M2")
    refused = part_row("DECLINED", {"enrollmentId": "E3", "status": "VAL-ERROR", "exception": {
        "messageCategory": 90000, "messageNumber": 90012, "comments": "program PEAK is INACTIVE"}}, key="M3")
    unmapped = part_row("DEAD", attempts=0, last_error="cannot map: lookup …", key="M4")
    ok = f4.compose_results(parent, [enrolled, duplicate])
    assert ok["ackType"] == "SUCCESS" and [r["value"] for r in ok["responses"]["response"]] == ["E1", "E2"]
    mixed = f4.compose_results(parent, [enrolled, refused, unmapped])
    assert mixed["ackType"] == "ERROR"
    assert [(r["id"], r["responseCode"], r["messageNumber"]) for r in mixed["responses"]["response"]] == [
        ("M1", "SUCCESS", None), ("M3", "ERROR", 90012), ("M4", "ERROR", f4.CANNOT_MAP)]
    assert mixed["responses"]["response"][1]["value"] == "program PEAK is INACTIVE"
    stopped = f4.compose_results(parent, [enrolled, part_row("DEAD", last_error="HTTP 401"), part_row("HELD")])
    assert stopped["ackType"] == "FAILURE"
    assert [r["value"] for r in stopped["responses"]["response"][1:]] == [
        "failed: HTTP 401", "not sent: the run stopped at a record that failed"]


def test_records_still_on_their_way_say_so() -> None:
    retrying = part_row("RETRYING", last_error="HTTP 503: busy")
    waiting = part_row("RECEIVED", attempts=0)
    values = [f4.record_response(part)["value"] for part in (retrying, waiting)]
    assert values == ["not applied yet, being retried after a technical fault: HTTP 503: busy", "not sent yet"]
    assert {f4.record_response(part)["responseCode"] for part in (retrying, waiting)} == {"FAILURE"}


# ---- F5 ----

SUBSCRIPTION = SimpleNamespace(
    subscription_id="11111111111111", cis_account_id="2000000001", subscription_type="DR-TSTAT", status="ACTIVE",
    program_id="100000000001", program_code="SMARTSTAT", cis_person_id="1000000001",
    cis_service_point_id="5000000001", start_at=datetime(2026, 11, 23, tzinfo=UTC), end_at=None)
DEVICE = SimpleNamespace(device_id="222222222222", nic_id="ECO-1", head_end_system="ECOCLOUD",
                         specification="TSTAT-ECO-ET300", device_type="SMART-THERMOSTAT", status="ACTIVE",
                         installed_at=datetime(2026, 11, 23, tzinfo=UTC), removed_at=None)


def test_the_program_systems_sync_maps_to_the_derms_enroll_message() -> None:
    outbound = enrollment_sync.message("33333333333333", SUBSCRIPTION, [DEVICE], "C1", "4000000001", "E-RES",
                                       "ELEC-N", None)
    sync = f5.EnrollmentSync.model_validate(outbound)
    mapped = f5.to_derms(sync, LOOKUPS)
    assert mapped["dacsMessageId"] == "33333333333333"
    assert mapped["contactInfo"] == {"contactId": "C1", "cisPersonId": "1000000001"}
    assert mapped["subscriptionInfo"]["startDateTimeISO"] == "2026-11-23T00:00:00.000Z"
    [device] = mapped["locationInfo"]["controllableDevices"]
    assert (device["deviceId"], device["nicId"], device["isActive"]) == ("222222222222", "ECO-1", True)
    assert device["installDateTimeISO"] == "2026-11-23T00:00:00.000Z"
    assert {g["groupCategory"] for g in mapped["locationInfo"]["deviceGroups"]} == {"PROGRAM", "MODEL", "RATE"}
    assert f5.sync_keys(sync)["nicId.1"] == "ECO-1"


def test_derms_ack_maps_to_the_program_systems_acknowledgement() -> None:
    ack = f5.EnrollAck.model_validate({
        "dacsMessageId": "33333333333333", "hasError": True,
        "exceptionInfo": [{"messageCategory": 90200, "messageNumber": 3, "comments": "unknown contact C9"}],
        "deviceHeadendStatus": [{"deviceId": "222222222222", "headEndRegistration": "D1NR", "message": "refused"}]})
    accepted = enrollment_api.EnrollmentAcknowledgement.model_validate(f5.to_dacs_ack(ack, LOOKUPS))
    assert accepted.syncRequestId == "33333333333333" and accepted.hasError
    assert accepted.deviceHeadendStatus[0].headEndRegistration == "D1NR"
    assert accepted.exceptionInfo[0].messageNumber == 3


# ---- F6 ----


def test_the_status_check_maps_to_derms_with_the_divisions_connection_id() -> None:
    device = status_checks.Device("ECOCLOUD", "ECO-1", "TSTAT-ECO-ET300", "SMART-THERMOSTAT", "ELEC-N")
    check = f6.StatusCheck.model_validate(status_checks.check_message("44444444444444", device))
    mapped = f6.to_derms(check, LOOKUPS)
    assert mapped["dacsMessageId"] == "44444444444444"
    assert mapped["DeviceInfo"] == {"division": "ELEC-N", "deviceType": "SMART-THERMOSTAT",
                                    "specification": "TSTAT-ECO-ET300", "headEndSystem": "ECOCLOUD",
                                    "nicid": "ECO-1"}
    assert mapped["ConnectivityProperties"]["Plugin"]["ConnectionId"] == "LEC-ELEC-N"


RESULT = f6.StatusResult.model_validate({"dacsMessageId": "44444444444444", "responseCode": "FAILURE",
                                         "message": "offline since 2026-11-20T08:00:00Z",
                                         "lastSeenISO": "2026-11-20T08:00:00Z"})


def test_the_result_maps_to_the_documented_status_response() -> None:
    assert f6.to_dacs(RESULT, LOOKUPS) == {"responseDetail": {"transactionID": "44444444444444",
                                                              "result": {"status": "FAILURE"}}}


def test_a_program_system_that_takes_the_detail_gets_derms_words_and_the_last_report() -> None:
    relay = f6.RELAYS[1]
    assert relay.mapping(Settings()) is f6.to_dacs
    mapped = relay.mapping(Settings(dacs_status_detail=True))(RESULT, LOOKUPS)
    accepted = enrollment_api.StatusCheckResponse.model_validate(mapped)
    assert accepted.responseDetail.transactionID == "44444444444444"
    assert accepted.responseDetail.result.status == "FAILURE"
    assert accepted.responseDetail.result.message == "offline since 2026-11-20T08:00:00Z"
    assert accepted.responseDetail.result.lastSeenDateTime == datetime(2026, 11, 20, 8, tzinfo=UTC)
