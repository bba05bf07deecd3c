"""F8, F9 and F10 end to end over real HTTP between three processes: an operator creates an event in DERMS, sees
what it would reserve, reserves, and cancels; the program system holds a program event per stage, then one
participation per device reserved, then the event cancelled and nothing reserved; DERMS hears the hub's ack of
each device list."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from derbridge.clock import advance_shared_clock
from derbridge.config import Settings
from derbridge.web.operator import checked, operator_client
from tests.e2e.conftest import Systems
from tests.events_stack import (
    cancel,
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


def test_an_event_is_announced_reserved_and_cancelled_across_the_three_systems(systems: Systems) -> None:
    settings = systems.settings
    nics = seed_fleet(settings)
    systems.start("derms", "dacs", "hub")

    event = create_event(settings)
    event_id = event["eventId"]
    scheduled = wait_program_event(settings, event_id, "SCHEDULED")
    assert [(s["externalIdentifier"], s["programEventCategory"], s["status"]) for s in scheduled["stages"]] == [
        (stage["stageId"], "X1EM", "SCHEDULED") for stage in event["stages"]]

    what_if = reserve(settings, event_id, dryRun=True)
    assert (what_if["dryRun"], what_if["candidates"], what_if["targetMet"]) == (True, len(nics), True)
    assert reservation_absent(settings, event_id)

    reserved = reserve(settings, event_id)
    assert reserved["devices"]["RESERVED"] == what_if["reserved"], "the what-if said what the reservation did"
    wait_program_event(settings, event_id, "SCHEDULED", reserved=what_if["reserved"])
    held = participations(settings, event_id)
    assert sorted(p["nicId"] for p in held) == sorted(d["nicId"] for d in what_if["devices"]
                                                      if d["role"] == "RESERVED")
    assert all(p["reserved"] and p["programCode"] == "SMARTSTAT" for p in held)
    ack = wait_ack(settings, event_id)
    assert ack["ackType"] == "SUCCESS"
    transfer = sorted((m["kind"], m["businessKey"], m["status"])
                      for m in hub_messages(settings, reserved["messageId"], flow="F9"))
    assert transfer == [("reservation", reserved["messageId"], "DELIVERED"),  # acked to DERMS
                        ("reservation-chunk", f"{reserved['messageId']}:1", "DELIVERED")]

    cancelled = cancel(settings, event_id)
    assert cancelled["status"] == "CANCELLED"
    after = wait_program_event(settings, event_id, "CANCELLED", reserved=0)
    assert {stage["cancelReason"] for stage in after["stages"]} == {"forecast cooler"}
    assert reservation(settings, event_id)["status"] == "RELEASED"
    kinds = {m["kind"]: m["status"] for m in hub_messages(settings, event_id)}
    assert kinds["event-cancellation"] == "DELIVERED" and kinds["event-status"] == "DELIVERED"


def reservation_absent(settings: Settings, event_id: str) -> bool:
    with operator_client(settings, "derms") as derms:
        return derms.get(f"/api/events/{event_id}/reservation").status_code == 404


def test_moving_the_shared_clock_moves_an_event_through_its_states_in_both_systems(
        stack_settings: Settings, tmp_path: Path) -> None:
    settings = stack_settings.with_overrides(clock_file=str(tmp_path / "clock"))
    seed_fleet(settings)
    systems = Systems(settings)
    try:
        systems.start("derms", "dacs", "hub")
        event_id = create_event(settings, hours_ahead=1.0)["eventId"]
        wait_program_event(settings, event_id, "SCHEDULED")
        advance_shared_clock(Path(settings.clock_file), timedelta(hours=1, minutes=1))
        wait_program_event(settings, event_id, "IN_PROGRESS")
        advance_shared_clock(Path(settings.clock_file), timedelta(hours=2))
        wait_program_event(settings, event_id, "COMPLETED")
        with operator_client(settings, "derms") as derms:
            history = checked(derms.get(f"/api/events/{event_id}"))["history"]
        assert [(h["status"], h["actor"]) for h in history][-2:] == [("IN_PROGRESS", "scheduler"),
                                                                   ("COMPLETED", "scheduler")]
    finally:
        systems.stop_all()
