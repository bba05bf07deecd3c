"""Enrollment syncs (F5) at DERMS: applied once, refused for unknown customers, devices registered with their
head ends and deregistered when removed or unenrolled, each sync acknowledged with every device's registration."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from derbridge.cli import app
from derbridge.derms.schema import device_groups, devices, outbound_messages, rejected_requests, subscriptions
from derbridge.web.client import post_batch
from tests.conftest import BACKENDS
from tests.integration.registry_helpers import (
    Derms,
    ack_of,
    add_customer,
    checked,
    derms_alone,
    device,
    enroll_sync,
    fleet_device,
    statuses,
)


@pytest.fixture(scope="module", params=BACKENDS)
def derms(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Derms]:
    yield from derms_alone(request, tmp_path_factory)


def customer(derms: Derms, n: int) -> tuple[str, str, str, str]:
    keys = (f"P{n}", f"C{n}", f"A{n}", f"SP{n}")
    add_customer(derms.db, *keys)
    return keys


def in_fleet(derms: Derms, *nics: str, head_end: str = "ECOCLOUD") -> None:
    for nic in nics:
        derms.cloud(head_end).add_device(fleet_device(nic))


def test_a_new_device_is_registered_with_its_head_end_and_acknowledged_as_registered(derms: Derms) -> None:
    who = customer(derms, 1)
    in_fleet(derms, "ECO-1A")
    start = "2026-01-01T00:00:00Z"
    groups = [{"groupCategory": "PROGRAM", "groupCode": "SMARTSTAT", "effectiveStartDateTimeISO": start},
              {"groupCategory": "MODEL", "groupCode": "ET300-5.4", "effectiveStartDateTimeISO": start,
               "effectiveEndDateTimeISO": "2026-12-31T00:00:00Z"}]
    answer = checked(derms.hub.post("/enroll", json=enroll_sync("11000000000001", "SUB1", who,
                                                                [device("D1", "ECO-1A")], groups=groups)), 202)
    assert answer["responses"]["response"][0]["responseCode"] == "ACCEPTED"
    ack = ack_of(derms.db, "11000000000001")
    assert ack["hasError"] is False and ack["exceptionInfo"] == []
    assert ack["deviceHeadendStatus"] == [{"deviceId": "D1", "headEndRegistration": "D1RE", "message": ""}]
    assert derms.cloud("ECOCLOUD").is_registered("ECO-1A")
    shown = checked(derms.operator.get("/api/devices/ECOCLOUD/ECO-1A"))
    assert (shown["deviceId"], shown["subscriptionId"], shown["registration"]) == ("D1", "SUB1", "REGISTERED")
    assert [(g["groupCategory"], g["groupCode"]) for g in shown["groups"]] == [("MODEL", "ET300-5.4"),
                                                                            ("PROGRAM", "SMARTSTAT")]


def test_a_repeated_sync_is_answered_as_a_duplicate_and_not_applied_again(derms: Derms) -> None:
    who = customer(derms, 2)
    in_fleet(derms, "ECO-2A")
    message = enroll_sync("12000000000001", "SUB2", who, [device("D2", "ECO-2A")])
    checked(derms.hub.post("/enroll", json=message), 202)
    ack_of(derms.db, "12000000000001")
    changed = {**message, "subscriptionInfo": {**message["subscriptionInfo"], "programCode": "OTHER"}}
    again = checked(derms.hub.post("/enroll", json=changed), 200)
    assert again["responses"]["response"][0]["responseCode"] == "DUPLICATE"
    with derms.db.connect() as connection:
        code = connection.execute(sa.select(subscriptions.c.program_code)
                                  .where(subscriptions.c.subscription_id == "SUB2")).scalar()
        acks = connection.execute(sa.select(sa.func.count()).select_from(outbound_messages)
                                  .where(outbound_messages.c.message_key == "enroll-ack:12000000000002")).scalar()
    assert code == "SMARTSTAT" and acks == 0


@pytest.mark.parametrize("unknown, number", [("cisPersonId", 201), ("contactId", 202), ("cisServicePointId", 203)])
def test_a_sync_for_a_customer_the_cis_does_not_know_is_refused_with_an_error_naming_the_key(
        derms: Derms, unknown: str, number: int) -> None:
    n = 30 + number
    person, contact, account, point = customer(derms, n)
    someone_elses_contact = customer(derms, n + 100)[1]
    given = {"cisPersonId": (f"NOBODY{n}", contact, account, point),
             "contactId": (person, someone_elses_contact, account, point),
             "cisServicePointId": (person, contact, account, "NOWHERE")}[unknown]
    message_id = f"13000000000{number}"
    in_fleet(derms, f"ECO-{n}")
    checked(derms.hub.post("/enroll", json=enroll_sync(message_id, f"SUB{n}", given,
                                                       [device(f"D{n}a", f"ECO-{n}"), device(f"D{n}b", f"ECO-{n}b")])),
            202)
    ack = ack_of(derms.db, message_id)
    assert ack["hasError"] is True
    [error] = ack["exceptionInfo"]
    assert (error["messageCategory"], error["messageNumber"]) == (90200, number)
    assert unknown in error["comments"] and len(error["comments"]) <= 254
    assert statuses(ack) == {f"D{n}a": "D1NR", f"D{n}b": "D1NR"}
    assert all(unknown in line["message"] for line in ack["deviceHeadendStatus"])
    with derms.db.connect() as connection:
        assert connection.execute(sa.select(subscriptions).where(subscriptions.c.subscription_id == f"SUB{n}")
                                  ).first() is None
        assert connection.execute(sa.select(devices).where(devices.c.nic_id == f"ECO-{n}")).first() is None
    assert not derms.cloud("ECOCLOUD").is_registered(f"ECO-{n}")


def test_a_missing_cis_person_id_is_a_business_error_not_a_bad_request(derms: Derms) -> None:
    who = customer(derms, 4)
    message = enroll_sync("14000000000001", "SUB4", who, [device("D4", "ECO-4A")])
    message["contactInfo"] = {"contactId": who[1]}
    checked(derms.hub.post("/enroll", json=message), 202)
    ack = ack_of(derms.db, "14000000000001")
    assert ack["hasError"] and "cisPersonId is missing" in ack["exceptionInfo"][0]["comments"]


def test_a_device_replacement_deregisters_the_old_device_and_registers_the_new(derms: Derms) -> None:
    who = customer(derms, 5)
    in_fleet(derms, "ECO-5OLD", "ECO-5NEW")
    checked(derms.hub.post("/enroll", json=enroll_sync("15000000000001", "SUB5", who, [device("D5OLD", "ECO-5OLD")])),
            202)
    assert statuses(ack_of(derms.db, "15000000000001")) == {"D5OLD": "D1RE"}
    replaced = [device("D5OLD", "ECO-5OLD", active=False, removed="2026-02-01T00:00:00Z"),
                device("D5NEW", "ECO-5NEW", installed="2026-02-01T00:00:00Z")]
    checked(derms.hub.post("/enroll", json=enroll_sync("15000000000002", "SUB5", who, replaced)), 202)
    assert statuses(ack_of(derms.db, "15000000000002")) == {"D5OLD": "D1DR", "D5NEW": "D1RE"}
    assert not derms.cloud("ECOCLOUD").is_registered("ECO-5OLD")
    assert derms.cloud("ECOCLOUD").is_registered("ECO-5NEW")


def test_an_unenrollment_deregisters_every_device_of_the_subscription(derms: Derms) -> None:
    who = customer(derms, 6)
    in_fleet(derms, "ECO-6A", "ECO-6B")
    in_fleet(derms, "18B4306C", head_end="NESTLIKE")
    checked(derms.hub.post("/enroll", json=enroll_sync("16000000000001", "SUB6", who, [
        device("D6A", "ECO-6A"), device("D6B", "ECO-6B"), device("D6C", "18B4306C", "NESTLIKE")])), 202)
    assert set(statuses(ack_of(derms.db, "16000000000001")).values()) == {"D1RE"}
    checked(derms.hub.post("/enroll", json=enroll_sync("16000000000002", "SUB6", who, [device("D6A", "ECO-6A")],
                                                       status="INACTIVE")), 202)
    assert statuses(ack_of(derms.db, "16000000000002")) == {"D6A": "D1DR", "D6B": "D1DR", "D6C": "D1DR"}
    assert not derms.cloud("NESTLIKE").is_registered("18B4306C")
    assert not derms.cloud("ECOCLOUD").is_registered("ECO-6B")


def test_a_registration_the_head_end_refuses_is_reported_not_registered_with_its_message(derms: Derms) -> None:
    who = customer(derms, 7)
    in_fleet(derms, "ECO-7A")
    checked(derms.hub.post("/enroll", json=enroll_sync("17000000000001", "SUB7", who, [
        device("D7A", "ECO-7A"), device("D7B", "ECO-7-NOT-IN-FLEET"), device("D7C", "X-1", "NOSUCHCLOUD")])), 202)
    ack = ack_of(derms.db, "17000000000001")
    assert ack["hasError"] is False
    lines = {line["deviceId"]: line for line in ack["deviceHeadendStatus"]}
    assert lines["D7A"]["headEndRegistration"] == "D1RE"
    assert lines["D7B"]["headEndRegistration"] == "D1NR"
    assert "has no device ECO-7-NOT-IN-FLEET" in lines["D7B"]["message"]
    assert lines["D7C"]["headEndRegistration"] == "D1NR" and "unknown head-end system" in lines["D7C"]["message"]


def test_a_failed_registration_is_tried_again_by_the_next_sync_of_the_subscription(derms: Derms) -> None:
    who = customer(derms, 8)
    checked(derms.hub.post("/enroll", json=enroll_sync("18000000000001", "SUB8", who, [device("D8", "ECO-8A")])), 202)
    assert statuses(ack_of(derms.db, "18000000000001")) == {"D8": "D1NR"}
    in_fleet(derms, "ECO-8A")
    checked(derms.hub.post("/enroll", json=enroll_sync("18000000000002", "SUB8", who, [device("D8", "ECO-8A")])), 202)
    assert statuses(ack_of(derms.db, "18000000000002")) == {"D8": "D1RE"}


def test_a_batch_takes_many_syncs_in_one_request_and_acks_each(derms: Derms) -> None:
    messages = []
    for n in range(20):
        who = customer(derms, 900 + n)
        in_fleet(derms, f"ECO-9{n:02}")
        messages.append(enroll_sync(f"190000000000{n:02}", f"SUB9{n:02}", who, [device(f"D9{n:02}", f"ECO-9{n:02}")]))
    bad = enroll_sync("19000000000099", "SUB999", ("P900", "C900", "A900", "SP900"), [])
    bad["subscriptionInfo"]["status"] = "PAUSED"
    outcomes = post_batch(derms.hub, "/enroll", [*messages, bad, messages[0]])
    assert [o.status for o in outcomes] == [202] * 20 + [422, 200]
    assert outcomes[20].body["errors"][0]["field"] == "subscriptionInfo.status"
    for n in range(20):
        assert statuses(ack_of(derms.db, f"190000000000{n:02}")) == {f"D9{n:02}": "D1RE"}


def test_one_batch_may_carry_two_syncs_of_the_same_subscription_and_they_apply_in_order(derms: Derms) -> None:
    who = customer(derms, 10)
    in_fleet(derms, "ECO-10A")
    first = enroll_sync("20000000000001", "SUB10", who, [device("D10", "ECO-10A")])
    second = enroll_sync("20000000000002", "SUB10", who, [device("D10", "ECO-10A")], status="INACTIVE")
    assert [o.status for o in post_batch(derms.hub, "/enroll", [first, second])] == [202, 202]
    # Both applied before the worker ran: the device was never registered, and both acks say so.
    assert statuses(ack_of(derms.db, "20000000000001")) == {"D10": "D1NR"}
    assert statuses(ack_of(derms.db, "20000000000002")) == {"D10": "D1NR"}
    assert not derms.cloud("ECOCLOUD").is_registered("ECO-10A")
    with derms.db.connect() as connection:
        assert connection.execute(sa.select(subscriptions.c.status)
                                  .where(subscriptions.c.subscription_id == "SUB10")).scalar() == "INACTIVE"


def test_an_older_sync_arriving_after_a_newer_one_does_not_undo_it(derms: Derms) -> None:
    who = customer(derms, 11)
    in_fleet(derms, "ECO-11OLD", "ECO-11NEW")
    enrolled = enroll_sync("21000000000001", "SUB11", who, [device("D11OLD", "ECO-11OLD")],
                           groups=[{"groupCategory": "PROGRAM", "groupCode": "OLD",
                                    "effectiveStartDateTimeISO": "2026-01-01T00:00:00Z"}])
    replaced = enroll_sync("21000000000002", "SUB11", who, [
        device("D11OLD", "ECO-11OLD", active=False, removed="2026-03-01T00:00:00Z"),
        device("D11NEW", "ECO-11NEW", installed="2026-03-01T00:00:00Z")])
    unenrolled = enroll_sync("21000000000003", "SUB11", who, [device("D11NEW", "ECO-11NEW",
                                                                     installed="2026-03-01T00:00:00Z")],
                             status="INACTIVE")
    for message in (replaced, unenrolled):  # the newer syncs first
        checked(derms.hub.post("/enroll", json=message), 202)
        ack_of(derms.db, message["dacsMessageId"])
    checked(derms.hub.post("/enroll", json=enrolled), 202)  # then the oldest, late
    ack = ack_of(derms.db, "21000000000001")
    assert statuses(ack) == {"D11OLD": "D1NR"}  # removed before it was ever registered
    assert "newer state of this device (from sync 21000000000002)" in ack["deviceHeadendStatus"][0]["message"]
    with derms.db.connect() as connection:
        subscription = connection.execute(sa.select(subscriptions).where(
            subscriptions.c.subscription_id == "SUB11")).one()
        old = connection.execute(sa.select(devices).where(devices.c.nic_id == "ECO-11OLD")).one()
        groups = connection.execute(sa.select(device_groups).where(device_groups.c.subscription_id == "SUB11")).all()
    assert (subscription.status, subscription.last_message_id) == ("INACTIVE", "21000000000003")
    assert (old.active, old.registration_status, old.last_message_id) == (False, "NOT_REGISTERED", "21000000000002")
    assert groups == []
    assert not derms.cloud("ECOCLOUD").is_registered("ECO-11OLD")
    assert not derms.cloud("ECOCLOUD").is_registered("ECO-11NEW")


def test_a_re_enrollment_with_a_later_start_registers_the_devices_again(derms: Derms) -> None:
    who = customer(derms, 12)
    in_fleet(derms, "ECO-12A")
    checked(derms.hub.post("/enroll", json=enroll_sync("22000000000001", "SUB12", who, [device("D12", "ECO-12A")],
                                                       status="INACTIVE")), 202)
    assert statuses(ack_of(derms.db, "22000000000001")) == {"D12": "D1NR"}
    checked(derms.hub.post("/enroll", json=enroll_sync("22000000000002", "SUB12", who, [device("D12", "ECO-12A")],
                                                       start="2026-05-01T00:00:00Z")), 202)
    assert statuses(ack_of(derms.db, "22000000000002")) == {"D12": "D1RE"}


def test_a_bad_sync_is_refused_naming_its_fields_and_kept_raw(derms: Derms) -> None:
    who = customer(derms, 13)
    message = enroll_sync("23000000000001", "SUB13", who, [device("D13", "ECO-13"), device("D13", "ECO-13")])
    message["subscriptionInfo"]["startDateTimeISO"] = "yesterday"
    message["locationInfo"]["controllableDevices"][0]["nicId"] = "N" * 101
    response = derms.hub.post("/enroll", json=message)
    assert response.status_code == 422
    fields = {error["field"] for error in response.json()["errors"]}
    assert {"subscriptionInfo.startDateTimeISO", "locationInfo.controllableDevices.0.nicId"} <= fields
    with derms.db.connect() as connection:
        kept = connection.execute(sa.select(rejected_requests.c.body).where(rejected_requests.c.path == "/enroll")
                                  .order_by(rejected_requests.c.id.desc())).scalar()
    assert json.loads(kept)["dacsMessageId"] == "23000000000001"


def test_the_operator_api_lists_devices_subscriptions_and_registration_counts(derms: Derms) -> None:
    who = customer(derms, 14)
    in_fleet(derms, "02:1C:7E:14", head_end="HOMEGRID")
    checked(derms.hub.post("/enroll", json=enroll_sync("24000000000001", "SUB14", who,
                                                       [device("D14", "02:1C:7E:14", "HOMEGRID")])), 202)
    ack_of(derms.db, "24000000000001")
    found = checked(derms.operator.get("/api/devices", params={"headEndSystem": "HOMEGRID", "registration": "D1RE"}))
    assert [d["nicId"] for d in found] == ["02:1C:7E:14"]
    assert checked(derms.operator.get("/api/devices", params={"headEndSystem": "HOMEGRID", "active": "false"})) == []
    one = checked(derms.operator.get("/api/devices/HOMEGRID/02:1C:7E:14"))
    assert one["headEndRegistration"] == "D1RE"
    subs = checked(derms.operator.get("/api/subscriptions", params={"limit": 1000}))
    assert "SUB14" in {s["subscriptionId"] for s in subs}
    counts = checked(derms.operator.get("/api/devices/counts"))
    assert {"headEndSystem": "HOMEGRID", "registration": "REGISTERED", "headEndRegistration": "D1RE", "active": True,
            "devices": 1, "pending": 0} in counts
    assert derms.operator.get("/api/devices", params={"registration": "MAYBE"}).status_code == 422
    assert derms.operator.get("/api/devices/HOMEGRID/nope").status_code == 404
    assert derms.hub.get("/api/devices").status_code == 403


def test_the_registry_cli_shows_devices_subscriptions_and_counts(derms: Derms) -> None:
    who = customer(derms, 15)
    in_fleet(derms, "ECO-15A")
    checked(derms.hub.post("/enroll", json=enroll_sync("25000000000001", "SUB15", who, [device("D15", "ECO-15A")])),
            202)
    ack_of(derms.db, "25000000000001")
    env = {"DERBRIDGE_DATA_DIR": str(derms.settings.data_dir), "DERBRIDGE_DERMS_PORT": str(derms.settings.derms_port)}
    runner = CliRunner()
    shown = runner.invoke(app, ["registry", "devices", "--head-end", "ECOCLOUD", "--registration", "D1RE",
                                "--limit", "1000", "--json"], env=env)
    assert shown.exit_code == 0, shown.output
    assert '"nicId": "ECO-15A"' in shown.output  # (the output may hold the running DERMS's log lines too)
    subs = runner.invoke(app, ["registry", "subscriptions", "--status", "ACTIVE", "--limit", "1000"], env=env)
    assert subs.exit_code == 0 and "SUB15" in subs.output
    counts = runner.invoke(app, ["registry", "counts"], env=env)
    assert counts.exit_code == 0 and "ECOCLOUD" in counts.output and "D1RE" in counts.output


def test_a_sync_without_a_contact_is_applied_for_a_customer_with_none_on_record(derms: Derms) -> None:
    person, _contact, account, point = customer(derms, 77)
    in_fleet(derms, "ECO-77")
    checked(derms.hub.post("/enroll", json=enroll_sync("14000000000077", "SUB77", (person, None, account, point),
                                                       [device("D77", "ECO-77")])), 202)
    ack = ack_of(derms.db, "14000000000077")
    assert ack["hasError"] is False and statuses(ack) == {"D77": "D1RE"}
