"""`derbridge hub` alone between the vendor stand-ins (vendor_standin.py) for F11, F12 and F13: outcomes reach
the program system's postEventOutcome as documented (the list alone, vendor times, one message per call, keyed
by DERMS's messageId); an opt-out and a window reach DERMS one per call, keyed by event and device and by window
and version; DERMS's ERROR ack of an opt-out is kept as a business refusal (DECLINED)."""

from __future__ import annotations

from typing import Any

import pytest

from derbridge.web.client import make_client
from derbridge.web.operator import wait_for
from tests.contract.test_hub_between_vendor_systems import (  # noqa: F401 (fixtures)
    OPERATOR,
    Installation,
    hub_msg_ack_ok,
    installation,
    stand_ins,
    vendor_times,
)
from tests.contract.vendor_standin import EVENT_OUTCOME, OPT_OUT, UNAVAILABILITY, Received, msg_ack

pytestmark = pytest.mark.e2e


def outcome(nic: str, code: str = "D1SP", **more: Any) -> dict[str, Any]:
    return {"eventExternalIdentifier": "EV-9", "headEndSystem": "ECOCLOUD", "nicId": nic, "outcome": code,
            "participationStartDateTime": "2026-07-15T14:00:00-05:00",
            "participationEndDateTime": "2026-07-15T16:00:00-05:00", **more}


def test_f11_outcomes_reach_the_program_system_as_documented_once_per_message(installation: Installation) -> None:  # noqa: F811
    message = {"messageId": "DERMS-OUT-1", "postOutcomeList": [
        outcome("N1"), outcome("N2", "D1ER", errorMessage="thermostat did not answer")]}
    with installation.as_derms() as derms:
        hub_msg_ack_ok(derms.post("/hub/from-derms/eventOutcome", json=message), "DERMS-OUT-1")
        assert derms.post("/hub/from-derms/eventOutcome", json=message).status_code == 200
    [received] = installation.program_system.wait_for(EVENT_OUTCOME)
    assert set(received.json) == {"postOutcomeList"}
    first, second = received.json["postOutcomeList"]
    assert first == {"eventExternalIdentifier": "EV-9", "headEndSystem": "ECOCLOUD", "nicId": "N1",
                     "outcome": "D1SP", "participationStartDateTime": "2026-07-15T19:00:00.000Z",
                     "participationEndDateTime": "2026-07-15T21:00:00.000Z", "errorMessage": None}
    assert (second["outcome"], second["errorMessage"]) == ("D1ER", "thermostat did not answer")
    assert vendor_times(first["participationStartDateTime"], first["participationEndDateTime"])
    assert received.headers["idempotency-key"] == "DERMS-OUT-1"
    with make_client(installation.hub.url, OPERATOR, 30) as hub:
        assert len(hub.get("/hub/api/messages", params={"key": "DERMS-OUT-1"}).json()) == 1, "the repeat is one"


def test_f11_more_than_a_message_holds_is_refused_naming_the_list(installation: Installation) -> None:  # noqa: F811
    message = {"messageId": "DERMS-OUT-BIG", "postOutcomeList": [outcome(f"N{n}") for n in range(1001)]}
    with installation.as_derms() as derms:
        answer = derms.post("/hub/from-derms/eventOutcome", json=message)
    assert answer.status_code == 422
    assert [error["field"] for error in answer.json()["errors"]] == ["postOutcomeList"]


def test_f12_an_opt_out_reaches_derms_keyed_by_event_and_device(installation: Installation) -> None:  # noqa: F811
    with installation.as_program_system() as program_system:
        hub_msg_ack_ok(program_system.post("/hub/from-dacs/eventOptOut", json={
            "eventExternalIdentifier": "EV-9", "headEndSystem": "ECOCLOUD", "nicId": "N1", "deviceId": "D00000000001",
            "optOutDateTime": "2026-07-15T08:00:00-05:00"}), "EV-9:ECOCLOUD:N1")
    [received] = installation.derms.wait_for(OPT_OUT)
    assert received.json == {"eventId": "EV-9", "headEndSystem": "ECOCLOUD", "nicId": "N1",
                             "optOutDateTimeISO": "2026-07-15T13:00:00.000Z"}
    assert received.headers["idempotency-key"] == "EV-9:ECOCLOUD:N1"


def test_f12_derms_refusing_an_opt_out_is_kept_as_declined(installation: Installation) -> None:  # noqa: F811
    installation.derms.answer(OPT_OUT, lambda r: (200, msg_ack(r.json["eventId"], "ERROR", "ERROR")))
    with installation.as_program_system() as program_system:
        program_system.post("/hub/from-dacs/eventOptOut", json={
            "eventExternalIdentifier": "EV-10", "headEndSystem": "ECOCLOUD", "nicId": "N7"})
    installation.derms.wait_for(OPT_OUT)
    with make_client(installation.hub.url, OPERATOR, 30) as hub:
        settled = wait_for(lambda: [m for m in hub.get("/hub/api/messages", params={"key": "EV-10:ECOCLOUD:N7"})
                                    .json() if m["status"] not in ("RECEIVED", "RETRYING")], 20, "the opt-out settled")
    assert [m["status"] for m in settled] == ["DECLINED"]


def test_f13_each_version_of_a_window_reaches_derms_keyed_by_id_and_version(installation: Installation) -> None:  # noqa: F811
    window = {"unavailabilityId": "40000000000001", "status": "ACTIVE", "deviceId": "D00000000001",
              "headEndSystem": "ECOCLOUD", "nicId": "N1", "startDateTime": "2026-07-15T00:00:00Z",
              "endDateTime": "2026-07-16T00:00:00Z", "reason": "travelling"}
    with installation.as_program_system() as program_system:
        for version, status in ((1, "ACTIVE"), (2, "CANCELLED")):
            hub_msg_ack_ok(program_system.post("/hub/from-dacs/customerUnavailability",
                                               json={**window, "version": version, "status": status}),
                           f"40000000000001:{version}")
    received: list[Received] = installation.derms.wait_for(UNAVAILABILITY, 2)
    by_version = {r.json["version"]: r for r in received}
    assert by_version[2].json == {"unavailabilityId": "40000000000001", "version": 2, "status": "CANCELLED",
                                  "headEndSystem": "ECOCLOUD", "nicId": "N1",
                                  "startDateTimeISO": "2026-07-15T00:00:00.000Z",
                                  "endDateTimeISO": "2026-07-16T00:00:00.000Z", "reason": "travelling"}
    assert {r.headers["idempotency-key"] for r in received} == {"40000000000001:1", "40000000000001:2"}
