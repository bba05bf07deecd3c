"""`derbridge hub` alone between stand-ins for the vendor systems (vendor_standin.py), for events: each DERMS
stage as the program system's Create Program Event and each status as its lifecycle action (F8), a device list
as Reserve Device calls in chunks, acknowledged to DERMS (F9), a cancellation as the pre-event cancellation
(F10) — every mapped field and code, times as `….000Z`, one message per call, each with its Idempotency-Key."""

# ruff: noqa: F811 — the installation and its stand-ins are the F1–F6 module's fixtures, shared by name.
from __future__ import annotations

import hashlib
from typing import Any

import pytest

from tests.contract import vendor_standin
from tests.contract.test_hub_between_vendor_systems import (  # noqa: F401 (fixtures)
    Installation,
    hub_msg_ack_ok,
    installation,
    stand_ins,
    vendor_times,
)
from tests.contract.vendor_standin import (
    LIFECYCLE,
    PRE_EVENT_CANCELLATION,
    PROGRAM_EVENT,
    RESERVATION_ACK,
    RESERVE_DEVICE,
    Received,
)

pytestmark = pytest.mark.e2e
RESERVE_FILE = "/hub/files/from-derms/reserveDevice"


def stage(event_id: str, number: int, event_type: str = "EMERGENCY") -> dict[str, Any]:
    return {"drmsInstanceId": "DERMS-1", "eventId": event_id, "stageId": f"{event_id}-{number}",
            "stageName": "SUSTAIN", "programCode": "SMARTSTAT", "eventType": event_type,
            "startDateTime": f"2026-07-15T1{3 + number}:00:00-05:00",
            "endDateTime": f"2026-07-15T{19 + number}:00:00Z"}


def status(event_id: str, name: str, stages: int = 1, reason: str | None = None) -> dict[str, Any]:
    return {"drmsInstanceId": "DERMS-1", "eventId": event_id, "status": name, "cancelReason": reason,
            "stageIds": [f"{event_id}-{n}" for n in range(1, stages + 1)]}


def lifecycle_calls(installation: Installation, event_id: str) -> list[Received]:
    return [r for r in installation.program_system.requests(LIFECYCLE)
            if r.json["eventExternalIdentifier"] == event_id]


# ---- F8 ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("event_type", "category"), [("ECONOMIC", "X1EC"), ("EMERGENCY", "X1EM"),
                                                      ("RELIABILITY", "X1RE"), ("DEVICE-TEST", "X1DT")])
def test_f8_a_stage_is_created_as_a_program_event_with_every_field_and_its_category(
        installation: Installation, event_type: str, category: str) -> None:
    event_id = f"EV-F8-{event_type}"
    with installation.as_derms() as derms:
        hub_msg_ack_ok(derms.post("/hub/from-derms/programEvent", json=stage(event_id, 1, event_type)),
                       f"{event_id}:{event_id}-1")
    [created] = installation.program_system.wait_for(PROGRAM_EVENT)
    assert created.headers["idempotency-key"] == f"{event_id}:{event_id}-1"
    assert created.json == {"eventExternalIdentifier": event_id, "externalIdentifier": f"{event_id}-1",
                            "programExternalIdentifier": "SMARTSTAT", "programEventCategory": category,
                            "startDateTime": "2026-07-15T19:00:00.000Z", "endDateTime": "2026-07-15T20:00:00.000Z"}
    assert vendor_times(created.json["startDateTime"], created.json["endDateTime"])


def test_f8_each_status_is_a_lifecycle_action_sent_only_once_the_stages_are_created(
        installation: Installation) -> None:
    event_id = "EV-F8-ORDER"
    with installation.as_derms() as derms:
        hub_msg_ack_ok(derms.post("/hub/from-derms/eventStatus", json=status(event_id, "SCHEDULED", stages=2)),
                       f"{event_id}:SCHEDULED")
        hub_msg_ack_ok(derms.post("/hub/from-derms/programEvent", json=stage(event_id, 1)), f"{event_id}:{event_id}-1")
        installation.program_system.wait_for(PROGRAM_EVENT)
        assert lifecycle_calls(installation, event_id) == [], "one of its two stages is not created yet"
        hub_msg_ack_ok(derms.post("/hub/from-derms/programEvent", json=stage(event_id, 2)), f"{event_id}:{event_id}-2")
        [scheduled] = installation.program_system.wait_for(LIFECYCLE)
        for name in ("IN_PROGRESS", "COMPLETED"):
            hub_msg_ack_ok(derms.post("/hub/from-derms/eventStatus", json=status(event_id, name, stages=2)),
                           f"{event_id}:{name}")
    created = installation.program_system.requests(PROGRAM_EVENT)
    assert scheduled.started > max(call.finished for call in created), "the stages first"
    calls = installation.program_system.wait_for(LIFECYCLE, count=3)
    assert sorted((c.json["action"], c.headers["idempotency-key"]) for c in calls) == [
        ("F1CO", f"{event_id}:COMPLETED"), ("X1IP", f"{event_id}:IN_PROGRESS"), ("X1SD", f"{event_id}:SCHEDULED")]
    assert all(c.json == {"eventExternalIdentifier": event_id, "action": c.json["action"], "cancelReason": None}
               for c in calls)


# ---- F10 -----------------------------------------------------------------------------------------------------


def test_f10_a_cancellation_is_the_pre_event_cancellation_and_its_status_a_lifecycle_cancel(
        installation: Installation) -> None:
    event_id = "EV-F10"
    with installation.as_derms() as derms:
        hub_msg_ack_ok(derms.post("/hub/from-derms/programEvent", json=stage(event_id, 1)), f"{event_id}:{event_id}-1")
        installation.program_system.wait_for(PROGRAM_EVENT)
        hub_msg_ack_ok(derms.post("/hub/from-derms/eventStatus", json=status(event_id, "CANCELLED", reason="cooler")),
                       f"{event_id}:CANCELLED")
        hub_msg_ack_ok(derms.post("/hub/from-derms/eventCancellation", json={
            "drmsInstanceId": "DERMS-1", "eventId": event_id, "cancellationMessageText": "cooler " * 30}), event_id)
    [cancelled] = installation.program_system.wait_for(PRE_EVENT_CANCELLATION)
    assert cancelled.headers["idempotency-key"] == event_id
    assert cancelled.json == {"eventExternalIdentifier": event_id, "cancelMessage": ("cooler " * 30)[:100]}
    [cancel] = installation.program_system.wait_for(LIFECYCLE)
    assert cancel.json == {"eventExternalIdentifier": event_id, "action": "F1CN", "cancelReason": "cooler"}


# ---- F9 ------------------------------------------------------------------------------------------------------

HEADER = {"drmsInstanceId": "DERMS-1", "eventId": "EV-F9", "eventType": "ECONOMIC",
          "eventStartDateTime": "2026-07-15T13:00:00-05:00", "eventEndDateTime": "2026-07-15T20:00:00Z"}


def device_list(rows: list[str], header: str = "recordId,nicId,headEndSystemId,reservationStartDateTime,"
                                                "reservationEndDateTime") -> bytes:
    return "\n".join([header, *rows]).encode() + b"\n"


def put_list(installation: Installation, message_id: str, body: bytes) -> Any:
    with installation.as_derms() as derms:
        return derms.put(RESERVE_FILE, params={**HEADER, "messageId": message_id}, content=body, headers={
            "Content-Type": "text/csv", "X-Content-SHA256": hashlib.sha256(body).hexdigest(),
            "Idempotency-Key": f"F9:{message_id}"})


def test_f9_a_device_list_becomes_reserve_device_calls_of_five_thousand_and_derms_hears_the_ack(
        installation: Installation) -> None:
    rows = [f"{n},NIC-{n:05d},ECOCLOUD,," for n in range(1, 5_003)]
    rows[0] = "1,NIC-00001,ECOCLOUD,2026-07-15T18:30:00Z,2026-07-15T19:30:00+00:00"
    hub_msg_ack_ok(put_list(installation, "MSG-F9-1", device_list(rows)), "MSG-F9-1")
    calls = sorted(installation.program_system.wait_for(RESERVE_DEVICE, count=2),
                   key=lambda c: c.headers["idempotency-key"])
    assert [c.headers["idempotency-key"] for c in calls] == ["MSG-F9-1:1", "MSG-F9-1:2"]
    assert [len(c.json["deviceList"]) for c in calls] == [5_000, 2]
    first = calls[0].json
    assert {k: v for k, v in first.items() if k != "deviceList"} == {
        "eventExternalIdentifier": "EV-F9", "eventType": "X1EC", "eventStartDateTime": "2026-07-15T18:00:00.000Z",
        "eventEndDateTime": "2026-07-15T20:00:00.000Z"}
    assert first["deviceList"][:2] == [
        {"headEndSystem": "ECOCLOUD", "nicId": "NIC-00001", "reservationStartDateTime": "2026-07-15T18:30:00.000Z",
         "reservationEndDateTime": "2026-07-15T19:30:00.000Z"},
        {"headEndSystem": "ECOCLOUD", "nicId": "NIC-00002"}]
    [ack] = installation.derms.wait_for(RESERVATION_ACK)
    assert ack.headers["idempotency-key"] == "MSG-F9-1"
    assert (ack.json["messageId"], ack.json["eventId"], ack.json["ackType"]) == ("MSG-F9-1", "EV-F9", "SUCCESS")
    assert [(r["id"], r["responseCode"]) for r in ack.json["responses"]["response"]] == [
        ("MSG-F9-1:1", "SUCCESS"), ("MSG-F9-1:2", "SUCCESS")]
    assert vendor_times(ack.json["whenISO"], *(r["responseTimeISO"] for r in ack.json["responses"]["response"]))


def test_f9_released_devices_are_not_sent_to_a_vendor_program_system_and_the_ack_says_so(
        installation: Installation) -> None:
    body = device_list(["1,NIC-1,ECOCLOUD,,,RESERVED", "2,NIC-2,ECOCLOUD,,,RELEASED"],
                       header="recordId,nicId,headEndSystemId,reservationStartDateTime,reservationEndDateTime,"
                              "reservationStatus")
    hub_msg_ack_ok(put_list(installation, "MSG-F9-2", body), "MSG-F9-2")
    [call] = installation.program_system.wait_for(RESERVE_DEVICE)
    assert call.json["deviceList"] == [{"headEndSystem": "ECOCLOUD", "nicId": "NIC-1"}]
    assert "releasedDeviceList" not in call.json, "a derbridge extension, off towards a vendor program system"
    [ack] = installation.derms.wait_for(RESERVATION_ACK)
    assert ack.json["ackType"] == "ERROR"
    assert ack.json["responses"]["response"][-1]["value"].startswith("1 released device(s) not sent")


def test_f9_an_empty_device_list_is_refused_and_nothing_is_called(installation: Installation) -> None:
    refused = put_list(installation, "MSG-F9-3", device_list([]))
    assert refused.status_code == 422 and refused.json()["errors"][0]["type"] == "empty"
    assert installation.program_system.requests(RESERVE_DEVICE) == []


def test_f9_a_chunk_waits_while_the_program_system_is_unhealthy_and_goes_when_it_is_back(
        installation: Installation) -> None:
    health = {"status": 503}
    installation.program_system.answer("/health", lambda _r: (health["status"], {"title": "down"}))
    installation.program_system.answer(RESERVE_DEVICE, lambda r: (health["status"], r.json))
    hub_msg_ack_ok(put_list(installation, "MSG-F9-4", device_list(["1,NIC-1,ECOCLOUD,,"])), "MSG-F9-4")
    installation.program_system.wait_for("/health", count=2)
    assert len(installation.program_system.requests(RESERVE_DEVICE)) <= 1, "not sent while it is unhealthy"
    health["status"] = 200
    [ack] = installation.derms.wait_for(RESERVATION_ACK)
    assert ack.json["ackType"] == "SUCCESS"
    calls = installation.program_system.requests(RESERVE_DEVICE)
    assert {c.headers["idempotency-key"] for c in calls} == {"MSG-F9-4:1"}


def test_every_event_path_keeps_to_one_message_per_call(installation: Installation) -> None:
    assert not any(path.endswith("/batch") for path in vendor_standin.PROGRAM_SYSTEM_PATHS)
