"""Enrollments in the program system, on SQLite and PostgreSQL: validation with a message per rule, device
setup by status checks, activation with its subscription, devices and sync, and an agent's actions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from derbridge.dacs.enrollment import enrollment_sync
from derbridge.dacs.enrollment.enroll import enroll as enroll_request
from derbridge.dacs.enrollment.enroll import enroll_many
from derbridge.dacs.enrollment.lifecycle import add_device, check_device, replace_device, retry, unenroll
from derbridge.dacs.enrollment.queries import describe, search, status_check
from derbridge.dacs.enrollment.setup import expire_status_checks, on_status_result, on_status_results
from derbridge.dacs.enrollment.states import Enrolled
from derbridge.dacs.enrollment.wire import Asset, EnrollRequest
from derbridge.dacs.schema import (
    active_device_keys,
    controllable_devices,
    outbound_messages,
    program_subscriptions,
    programs,
    status_checks,
    sync_requests,
)
from derbridge.dacs.status_checks import checks as statuschecks
from derbridge.errors import Conflict, InvalidInput
from derbridge.store.db import make_engine
from derbridge.store.migrations import upgrade
from tests.seed import NOW, SPECIFICATION, Customer, add_customers, add_program

TIMEOUT_S = 300.0
JANE, JOHN = Customer(1), Customer(2, rate_code="E-SGS")


@pytest.fixture
def db(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade("dacs", engine)
    with engine.begin() as connection:
        add_customers(connection, JANE, JOHN)
        add_program(connection)
        add_program(connection, "DORMANT", status="INACTIVE", program_id="100000000002")
    yield engine
    engine.dispose()


def enroll(db: Engine, body: dict[str, Any]) -> Enrolled:
    return enroll_request(db, EnrollRequest.model_validate(body), json.dumps(body), NOW, TIMEOUT_S)


def checks_of(db: Engine, enrollment_id: str) -> list[Any]:
    with db.connect() as connection:
        return list(connection.execute(sa.select(status_checks).where(
            status_checks.c.enrollment_id == enrollment_id).order_by(status_checks.c.requested_at)).all())


def answer_all(db: Engine, enrollment_id: str, status: str = "SUCCESS", message: str | None = None) -> None:
    for check in checks_of(db, enrollment_id):
        if check.status == statuschecks.AWAITRESP:
            on_status_result(db, statuschecks.Answer(check.communication_id, status, message, NOW), NOW)


def enrollment(db: Engine, enrollment_id: str) -> dict[str, Any]:
    found = describe(db, enrollment_id)
    assert found is not None
    return found


def syncs(db: Engine) -> list[dict[str, Any]]:
    with db.connect() as connection:
        rows = connection.execute(sa.select(sync_requests).order_by(sync_requests.c.id)).all()
    return [json.loads(row.payload)["sendDetails"] for row in rows]


def active_enrollment(db: Engine, transaction_id: str = "T-1", **request: Any) -> str:
    done = enroll(db, JANE.enroll_request(transaction_id, **request))
    answer_all(db, done.enrollment_id)
    assert enrollment(db, done.enrollment_id)["status"] == "ACTIVE"
    return done.enrollment_id


def test_a_valid_request_goes_to_device_setup_with_a_status_check_per_device(db: Engine) -> None:
    done = enroll(db, JANE.enroll_request("T-1", devices=(("ECOCLOUD", "ECO-1"), ("ECOCLOUD", "ECO-2"))))
    assert (done.status, done.refusal) == ("DEVICE-SETUP", None)
    found = enrollment(db, done.enrollment_id)
    assert [h["status"] for h in found["history"]] == ["PENDING", "DEVICE-SETUP"]
    assert sorted(c["nicId"] for c in found["statusChecks"]) == ["ECO-1", "ECO-2"]
    with db.connect() as connection:
        sent = [json.loads(row.payload) for row in connection.execute(sa.select(outbound_messages))]
    assert sorted(m["sendDetails"]["deviceInfo"]["nicid"] for m in sent) == ["ECO-1", "ECO-2"]
    assert sent[0]["sendDetails"]["deviceInfo"]["division"] == "ELEC-N"


REFUSALS = [
    pytest.param({"customerInfo__cisPersonId": None}, 90001, id="no customer"),
    pytest.param({"customerInfo__cisPersonId": "P404"}, 90002, id="unknown customer"),
    pytest.param({"customerInfo__cisAccountId": "A404"}, 90003, id="unknown account"),
    pytest.param({"customerInfo__cisAccountId": JOHN.account}, 90004, id="someone else's account"),
    pytest.param({"locationInfo__cisServicePointId": "S404"}, 90005, id="unknown service point"),
    pytest.param({"locationInfo__cisServicePointId": JOHN.service_point}, 90006, id="service point off the account"),
    pytest.param({"locationInfo__cisPremiseId": JOHN.premise}, 90007, id="another premise"),
    pytest.param({"programInfo__cisServiceAgreementId": "G404"}, 90008, id="unknown agreement"),
    pytest.param({"programInfo__cisServiceAgreementId": JOHN.agreement}, 90009, id="agreement of someone else"),
    pytest.param({"programInfo__startDate": "2019-06-01"}, 90010, id="agreement not yet in effect"),
    pytest.param({"program": "NOSUCH"}, 90011, id="unknown program"),
    pytest.param({"program": "DORMANT"}, 90012, id="inactive program"),
    pytest.param({"assetInfo": {"installationMethod": "X1SI", "assetOwnership": "W1CO", "assetList": [
        {"sequence": 1, "specification": SPECIFICATION, "headEndSystem": "ECOCLOUD"}]}}, 90015,
                 id="bring-your-own device without details"),
    pytest.param({"assetInfo": {"installationMethod": "X1SI", "assetOwnership": "W1CO", "assetList": [
        {"sequence": 1, "specification": "TSTAT-OTHER", "assetType": "SMART-THERMOSTAT", "nicId": "N1",
         "headEndSystem": "ECOCLOUD"}]}}, 90016, id="ineligible specification"),
    pytest.param({"devices": (("ECOCLOUD", "ECO-1"), ("ECOCLOUD", "ECO-1"))}, 90018, id="same device twice"),
    pytest.param({"assetInfo": {"installationMethod": "X1SI", "assetOwnership": "W1CO", "assetList": []}}, 90019,
                 id="no device"),
]


@pytest.mark.parametrize(("changes", "number"), REFUSALS)
def test_each_validation_failure_has_its_own_message(db: Engine, changes: dict[str, Any], number: int) -> None:
    done = enroll(db, JANE.enroll_request("T-1", **changes))
    assert done.status == "VAL-ERROR"
    assert done.refusal is not None and done.refusal.number == number, done.refusal
    assert enrollment(db, done.enrollment_id)["exception"]["messageNumber"] == number
    assert checks_of(db, done.enrollment_id) == []


def test_an_ineligible_rate_is_refused(db: Engine) -> None:
    done = enroll(db, JOHN.enroll_request("T-9"))
    assert done.refusal is not None and done.refusal.number == 90014
    assert "E-SGS" in done.refusal.text


def test_a_device_enrolled_elsewhere_is_refused(db: Engine) -> None:
    active_enrollment(db)
    done = enroll(db, JANE.enroll_request("T-2"))
    assert done.refusal is not None and done.refusal.number == 90017


def test_the_same_transaction_twice_is_the_documented_duplicate_not_a_new_enrollment(db: Engine) -> None:
    first = enroll(db, JANE.enroll_request("T-1"))
    again = enroll(db, JANE.enroll_request("T-1"))
    assert again.duplicate and again.enrollment_id == first.enrollment_id
    assert again.refusal is not None and again.refusal.number == 10589
    assert len(search(db)) == 1
    assert len(checks_of(db, first.enrollment_id)) == 1


def test_every_check_succeeding_activates_with_subscription_devices_and_a_sync(db: Engine) -> None:
    done = enroll(db, JANE.enroll_request("T-1", devices=(("ECOCLOUD", "ECO-1"), ("NESTLIKE", "N-1"))))
    [first, second] = checks_of(db, done.enrollment_id)
    on_status_result(db, statuschecks.Answer(first.communication_id, "SUCCESS", None, NOW), NOW)
    assert enrollment(db, done.enrollment_id)["status"] == "DEVICE-SETUP"
    on_status_result(db, statuschecks.Answer(second.communication_id, "SUCCESS", None, NOW), NOW)
    found = enrollment(db, done.enrollment_id)
    assert found["status"] == "ACTIVE" and found["subscriptionId"]
    assert sorted(d["nicId"] for d in found["devices"]) == ["ECO-1", "N-1"]
    [sync] = syncs(db)
    assert sync["subscriptionInfo"]["subscriptionId"] == found["subscriptionId"]
    assert sync["subscriptionInfo"]["status"] == "ACTIVE" and sync["subscriptionInfo"]["programCode"] == "SMARTSTAT"
    assert sync["contactInfo"] == {"contactId": JANE.contact, "cisPersonId": JANE.person}
    assert sync["locationInfo"]["cisServicePointId"] == JANE.service_point
    assert sync["locationInfo"]["cisPremiseId"] == JANE.premise
    assert {d["nicId"]: d["isActive"] for d in sync["locationInfo"]["controllableDevices"]} == {
        "ECO-1": True, "N-1": True}
    assert {(g["groupCategory"], g["groupCode"]) for g in sync["locationInfo"]["deviceGroups"]} == {
        ("PROGRAM", "SMARTSTAT"), ("MODEL", SPECIFICATION), ("RATE", "E-RES")}


def test_a_failed_check_is_a_setup_error_an_agent_can_retry(db: Engine) -> None:
    done = enroll(db, JANE.enroll_request("T-1"))
    answer_all(db, done.enrollment_id, "FAILURE", "offline since 2026-11-20T08:00:00Z")
    failed = enrollment(db, done.enrollment_id)
    assert failed["status"] == "SETUP-ERROR" and failed["exception"]["messageNumber"] == 90020
    assert "offline since" in failed["exception"]["comments"]
    assert retry(db, done.enrollment_id, NOW, TIMEOUT_S).status == "DEVICE-SETUP"
    answer_all(db, done.enrollment_id)
    assert enrollment(db, done.enrollment_id)["status"] == "ACTIVE"
    assert len(checks_of(db, done.enrollment_id)) == 2


def test_no_result_in_time_is_a_setup_error_and_a_late_result_changes_nothing(db: Engine) -> None:
    done = enroll(db, JANE.enroll_request("T-1"))
    assert expire_status_checks(db, NOW + timedelta(seconds=TIMEOUT_S - 1)) == 0
    assert expire_status_checks(db, NOW + timedelta(seconds=TIMEOUT_S + 1)) == 1
    timed_out = enrollment(db, done.enrollment_id)
    assert timed_out["status"] == "SETUP-ERROR" and timed_out["exception"]["messageNumber"] == 90021
    [check] = checks_of(db, done.enrollment_id)
    outcome = on_status_result(db, statuschecks.Answer(check.communication_id, "SUCCESS", None, NOW), NOW)
    assert outcome == "late"
    assert enrollment(db, done.enrollment_id)["status"] == "SETUP-ERROR"
    assert status_check(db, check.communication_id)["lateResult"] == "SUCCESS"  # type: ignore[index]


def test_a_repeated_result_is_harmless(db: Engine) -> None:
    done = enroll(db, JANE.enroll_request("T-1"))
    [check] = checks_of(db, done.enrollment_id)
    success = statuschecks.Answer(check.communication_id, "SUCCESS", None, NOW)
    assert on_status_result(db, success, NOW) == "applied"
    assert on_status_result(db, success, NOW) == "repeat"
    assert len(syncs(db)) == 1
    assert on_status_result(db, statuschecks.Answer("99999999", "SUCCESS", None, NOW), NOW) == "unknown"


def test_a_refused_enrollment_passes_once_its_program_is_active(db: Engine) -> None:
    done = enroll(db, JANE.enroll_request("T-1", program="DORMANT"))
    assert done.status == "VAL-ERROR"
    with db.begin() as connection:
        connection.execute(sa.update(programs).where(programs.c.program_code == "DORMANT").values(status="ACTIVE"))
    assert retry(db, done.enrollment_id, NOW, TIMEOUT_S).status == "DEVICE-SETUP"
    answer_all(db, done.enrollment_id)
    assert enrollment(db, done.enrollment_id)["status"] == "ACTIVE"


def test_only_error_states_can_be_retried(db: Engine) -> None:
    enrollment_id = active_enrollment(db)
    with pytest.raises(Conflict, match="ACTIVE"):
        retry(db, enrollment_id, NOW, TIMEOUT_S)


def test_the_ack_sets_each_devices_registration_once_and_never_back_in_time(db: Engine) -> None:
    enrollment_id = active_enrollment(db)
    [device] = enrollment(db, enrollment_id)["devices"]
    with db.connect() as connection:
        first_sync = connection.execute(sa.select(sync_requests.c.sync_request_id)).scalar_one()
    replaced, second_sync = replace_device(
        db, device["deviceId"], Asset(sequence=1, specification=SPECIFICATION,
                                                  assetType="SMART-THERMOSTAT", nicId="ECO-9",
                                                  headEndSystem="ECOCLOUD"), NOW + timedelta(minutes=1))
    with db.begin() as connection:  # the second sync was written a minute after the first
        connection.execute(sa.update(sync_requests).where(sync_requests.c.sync_request_id == second_sync)
                           .values(created_at=NOW + timedelta(minutes=1)))
        connection.execute(sa.update(sync_requests).where(sync_requests.c.sync_request_id == first_sync)
                           .values(created_at=NOW))
    newer = [{"deviceId": device["deviceId"], "headEndRegistration": "D1DR", "message": ""},
             {"deviceId": replaced, "headEndRegistration": "D1RE", "message": ""}]
    assert enrollment_sync.apply_ack(db, enrollment_sync.Ack(second_sync, False, newer, {})) == "applied"
    older = [{"deviceId": device["deviceId"], "headEndRegistration": "D1RE", "message": ""}]
    assert enrollment_sync.apply_ack(db, enrollment_sync.Ack(first_sync, False, older, {})) == "applied"
    assert enrollment_sync.apply_ack(db, enrollment_sync.Ack(first_sync, False, older, {})) == "already synchronized"
    registrations = {d["deviceId"]: d["headEndRegistration"] for d in enrollment(db, enrollment_id)["devices"]}
    assert registrations == {device["deviceId"]: "D1DR", replaced: "D1RE"}
    assert enrollment_sync.apply_ack(db, enrollment_sync.Ack("00000000000000", False, [], {})) == "unknown"


def test_unenrollment_ends_the_subscription_removes_the_devices_and_syncs(db: Engine) -> None:
    enrollment_id = active_enrollment(db)
    unenroll(db, enrollment_id, "CUSTOMEROPTOUT", NOW)
    found = enrollment(db, enrollment_id)
    assert found["status"] == "UNENROLLED" and found["unenrollReason"] == "CUSTOMEROPTOUT"
    assert [d["status"] for d in found["devices"]] == ["REMOVED"]
    unenrolled = syncs(db)[-1]
    assert unenrolled["subscriptionInfo"]["status"] == "INACTIVE"
    assert unenrolled["subscriptionInfo"]["unenrollReason"] == "CUSTOMEROPTOUT"
    assert [d["isActive"] for d in unenrolled["locationInfo"]["controllableDevices"]] == [False]
    with db.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(active_device_keys)).scalar_one() == 0
        assert connection.execute(sa.select(program_subscriptions.c.status)).scalar_one() == "INACTIVE"
    with pytest.raises(Conflict):
        unenroll(db, enrollment_id, "LSSL", NOW)
    with pytest.raises(InvalidInput, match="reason"):
        unenroll(db, enrollment_id, "BORED", NOW)


def test_a_replacement_removes_the_old_device_and_syncs_both(db: Engine) -> None:
    enrollment_id = active_enrollment(db)
    [old] = enrollment(db, enrollment_id)["devices"]
    new_device, _sync = replace_device(
        db, old["deviceId"], Asset(sequence=1, specification=SPECIFICATION, assetType="SMART-THERMOSTAT",
                                               nicId="ECO-2", headEndSystem="ECOCLOUD"), NOW)
    synced = {d["deviceId"]: d["isActive"] for d in syncs(db)[-1]["locationInfo"]["controllableDevices"]}
    assert synced == {old["deviceId"]: False, new_device: True}
    with pytest.raises(Conflict, match="REMOVED"):
        replace_device(db, old["deviceId"], Asset(
            sequence=1, specification=SPECIFICATION, assetType="SMART-THERMOSTAT", nicId="ECO-3",
            headEndSystem="ECOCLOUD"), NOW)


def test_a_device_can_join_an_active_enrollment_unless_it_is_enrolled_already(db: Engine) -> None:
    enrollment_id = active_enrollment(db)
    added = Asset(sequence=2, specification=SPECIFICATION, assetType="SMART-THERMOSTAT",
                              nicId="ECO-7", headEndSystem="ECOCLOUD")
    device_id, _sync = add_device(db, enrollment_id, added, NOW)
    assert {d["nicId"] for d in syncs(db)[-1]["locationInfo"]["controllableDevices"]} == {"ECO-1", "ECO-7"}
    with pytest.raises(Conflict, match="already enrolled"):
        add_device(db, enrollment_id, added, NOW)
    with db.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(controllable_devices)).scalar_one() == 2
    assert device_id


def test_an_agent_can_check_any_enrolled_device(db: Engine) -> None:
    enrollment_id = active_enrollment(db)
    [device] = enrollment(db, enrollment_id)["devices"]
    communication_id = check_device(db, device["deviceId"], "operator (Dana)", NOW, TIMEOUT_S)
    on_status_result(db, statuschecks.Answer(communication_id, "FAILURE", "offline", None), NOW)
    check = status_check(db, communication_id)
    assert check is not None and (check["status"], check["purpose"], check["requestedBy"]) == (
        "FAILURE", "AGENT", "operator (Dana)")
    assert enrollment(db, enrollment_id)["status"] == "ACTIVE"


def test_results_in_one_batch_activate_many_enrollments_and_a_shared_device_only_once(db: Engine) -> None:
    customers = [Customer(10 + n) for n in range(5)]
    with db.begin() as connection:
        add_customers(connection, *customers)
    done = [enroll(db, c.enroll_request(f"B-{c.number}", devices=(("ECOCLOUD", f"ECO-{c.number}"),)))
            for c in customers]
    twin = enroll(db, JANE.enroll_request("B-twin", devices=(("ECOCLOUD", "ECO-10"),)))
    checks = [check for d in [*done, twin] for check in checks_of(db, d.enrollment_id)]
    answers = [statuschecks.Answer(c.communication_id, "SUCCESS", None, NOW) for c in checks]
    outcomes = on_status_results(db, [*answers, answers[0]], NOW)
    assert outcomes == ["applied"] * len(answers) + ["repeat"]
    assert [enrollment(db, d.enrollment_id)["status"] for d in done] == ["ACTIVE"] * 5
    refused = enrollment(db, twin.enrollment_id)
    assert refused["status"] == "SETUP-ERROR" and refused["exception"]["messageNumber"] == 90017
    assert len(syncs(db)) == 5


def test_requests_enrolled_together_answer_each_on_its_own(db: Engine) -> None:
    """Enroll calls that arrive together are written in one transaction: each still gets its own answer, a
    refusal stays with its request, and a transactionId seen twice is one enrollment and one duplicate."""
    first = enroll(db, JANE.enroll_request("G-0"))
    group = [JANE.enroll_request("G-0"), JOHN.enroll_request("G-1"), JANE.enroll_request("G-2", program="NOSUCH"),
             JANE.enroll_request("G-3", devices=(("ECOCLOUD", "ECO-3"),)),
             JANE.enroll_request("G-3", devices=(("ECOCLOUD", "ECO-3"),))]
    done = enroll_many(db, [(EnrollRequest.model_validate(body), json.dumps(body)) for body in group],
                                   NOW, TIMEOUT_S)
    assert [(d.status, d.refusal.number if d.refusal else None, d.duplicate) for d in done] == [
        ("DEVICE-SETUP", 10589, True), ("VAL-ERROR", 90014, False), ("VAL-ERROR", 90011, False),
        ("DEVICE-SETUP", None, False), ("DEVICE-SETUP", 10589, True)]
    assert done[0].enrollment_id == first.enrollment_id and done[4].enrollment_id == done[3].enrollment_id
    assert len(search(db)) == 4
    assert len(checks_of(db, done[3].enrollment_id)) == 1
