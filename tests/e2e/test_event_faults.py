"""Faults around events and reservations, three processes over real HTTP, on SQLite and PostgreSQL: the program
system down during a reservation, a device list sent twice, the hub killed with -9 in the middle of a transfer,
status changes arriving out of order. Each ends as if nothing had happened: one participation per device
reserved, the event in the state DERMS last gave it, no manual step."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx2
import pytest

from derbridge.clock import utcnow
from derbridge.config import Settings
from derbridge.web.auth import outbound_credential
from derbridge.web.client import make_client
from derbridge.web.operator import checked, operator_client, wait_for
from tests.e2e.conftest import Systems
from tests.events_stack import (
    TIMEOUT_S,
    create_event,
    hub_messages,
    participations,
    reservation,
    reserve,
    seed_fleet,
    wait_ack,
    wait_program_event,
)

pytestmark = pytest.mark.e2e
RESERVE_FILE = "/hub/files/from-derms/reserveDevice"


def as_derms(settings: Settings) -> httpx2.Client:
    """The hub as DERMS calls it."""
    return make_client(settings.url("hub"), outbound_credential(settings, "derms", "hub"), 30)


def reserved_nics(settings: Settings, event_id: str) -> list[str]:
    return sorted(p["nicId"] for p in participations(settings, event_id) if p["reserved"])


def chunks_retrying(settings: Settings, message_id: str) -> bool:
    return any(m["kind"] == "reservation-chunk" and m["status"] == "RETRYING" and m["attempts"] >= 2
               for m in hub_messages(settings, message_id, flow="F9"))


def test_a_reservation_made_while_the_program_system_is_down_arrives_when_it_returns(systems: Systems) -> None:
    settings = systems.settings
    seed_fleet(settings)
    systems.start("derms", "dacs", "hub")
    event_id = create_event(settings)["eventId"]
    wait_program_event(settings, event_id, "SCHEDULED")
    systems.stop("dacs")

    reserved = reserve(settings, event_id)
    wait_for(lambda: chunks_retrying(settings, reserved["messageId"]), TIMEOUT_S, "the chunk retried")
    assert reservation(settings, event_id)["deviceLists"][0]["ackType"] is None, "no ack before it is taken"

    systems.start("dacs")
    held = wait_program_event(settings, event_id, "SCHEDULED", reserved=reserved["devices"]["RESERVED"])
    assert held["participations"] == reserved["devices"]["RESERVED"]
    assert wait_ack(settings, event_id)["ackType"] == "SUCCESS"


def test_a_device_list_sent_twice_makes_no_second_participation(systems: Systems) -> None:
    settings = systems.settings
    seed_fleet(settings)
    systems.start("derms", "dacs", "hub")
    event_id = create_event(settings)["eventId"]
    wait_program_event(settings, event_id, "SCHEDULED")
    reserved = reserve(settings, event_id)
    wait_ack(settings, event_id)
    before = reserved_nics(settings, event_id)

    device_list = sent_device_list(settings, reserved["messageId"])
    with as_derms(settings) as hub:
        again = hub.put(device_list["path"], content=device_list["body"], headers={
            **device_list["headers"], "Idempotency-Key": f"F9:{reserved['messageId']}"})
        assert again.status_code == 200 and again.json()["responses"]["response"][0]["responseCode"] == "DUPLICATE"
        by_hand = hub.put(device_list["path"], content=device_list["body"], headers={
            **device_list["headers"], "Idempotency-Key": "sent-again-by-hand"})
        assert by_hand.status_code == 202, by_hand.text

    wait_for(lambda: [m["status"] for m in hub_messages(settings, reserved["messageId"], flow="F9")
                      if m["kind"] == "reservation"] == ["DELIVERED", "DELIVERED"], TIMEOUT_S,
             "the second transfer delivered")
    assert reserved_nics(settings, event_id) == before
    assert len(participations(settings, event_id)) == len(before)


def sent_device_list(settings: Settings, message_id: str) -> dict[str, Any]:
    """The file DERMS sent for a device list, as it sent it: path with its query, body, headers."""
    found = next(Path(settings.data_dir, "derms-files", "reservations").glob(f"{message_id}.csv"))
    body = found.read_bytes()
    query = reservation_query(settings, message_id)
    return {"path": f"{RESERVE_FILE}?{query}", "body": body,
            "headers": {"Content-Type": "text/csv", "X-Content-SHA256": hashlib.sha256(body).hexdigest()}}


def reservation_query(settings: Settings, message_id: str) -> str:
    [received] = [m for m in hub_messages(settings, message_id, flow="F9") if m["kind"] == "reservation"]
    with operator_client(settings, "hub") as hub:
        detail = checked(hub.get(f"/hub/api/messages/{received['id']}"))
    return urlencode(json.loads(detail["inbound_payload"])["parameters"])


def test_a_hub_killed_in_the_middle_of_a_transfer_delivers_it_once_when_it_restarts(systems: Systems) -> None:
    settings = systems.settings
    seed_fleet(settings, devices_per_transformer=8)
    systems.start("derms", "dacs", "hub")
    event_id = create_event(settings, targetKw=100.0)["eventId"]
    wait_program_event(settings, event_id, "SCHEDULED")
    systems.stop("dacs")
    reserved = reserve(settings, event_id)
    wait_for(lambda: chunks_retrying(settings, reserved["messageId"]), TIMEOUT_S, "the transfer under way")

    systems.kill("hub")
    systems.start("dacs")
    systems.start("hub")

    count = reserved["devices"]["RESERVED"]
    wait_program_event(settings, event_id, "SCHEDULED", reserved=count)
    assert wait_ack(settings, event_id)["ackType"] == "SUCCESS"
    assert len(participations(settings, event_id)) == count == len(set(reserved_nics(settings, event_id)))


def test_status_changes_arriving_out_of_order_and_repeated_end_in_the_last_state(systems: Systems) -> None:
    settings = systems.settings
    seed_fleet(settings)
    systems.start("dacs", "hub")
    start = (utcnow() + timedelta(hours=1)).replace(microsecond=0)
    event_id, stage_ids = "EV-OUT-OF-ORDER", ["EV-OUT-OF-ORDER-1", "EV-OUT-OF-ORDER-2"]

    def status(name: str) -> dict[str, Any]:
        return {"drmsInstanceId": "DERMS-1", "eventId": event_id, "status": name, "stageIds": stage_ids}

    def stage(number: int) -> dict[str, Any]:
        return {"drmsInstanceId": "DERMS-1", "eventId": event_id, "stageId": stage_ids[number], "programCode":
                "SMARTSTAT", "eventType": "RELIABILITY", "startDateTime": (start + timedelta(hours=number)).isoformat(),
                "endDateTime": (start + timedelta(hours=number + 1)).isoformat()}

    with as_derms(settings) as hub:
        for path, body in [("eventStatus", status("COMPLETED")), ("eventStatus", status("IN_PROGRESS")),
                           ("programEvent", stage(1)), ("eventStatus", status("COMPLETED")),
                           ("eventStatus", status("SCHEDULED")), ("programEvent", stage(0))]:
            checked(hub.post(f"/hub/from-derms/{path}", json=body))

    done = wait_program_event(settings, event_id, "COMPLETED")
    assert [(s["externalIdentifier"], s["programEventCategory"], s["status"]) for s in done["stages"]] == [
        (stage_ids[0], "X1RE", "COMPLETED"), (stage_ids[1], "X1RE", "COMPLETED")]
    wait_for(lambda: all(m["status"] == "DELIVERED" for m in hub_messages(settings, event_id, flow="F8")),
             TIMEOUT_S, "every change delivered")
    assert wait_program_event(settings, event_id, "COMPLETED")["status"] == "COMPLETED"
