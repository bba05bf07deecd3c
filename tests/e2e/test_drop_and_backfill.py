"""F12 and F13 meet F9 end to end over real HTTP between three processes: an agent's opt-out, and then a declared
window over another reserved device, each reach DERMS through the hub; DERMS drops the device from the event's
reservation and backfills from its standby list; the reservation update travels back through the hub, and the
program system holds the dropped device unreserved (the opted-out one flagged) and the standby device reserved."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from derbridge.cli import app
from derbridge.clock import utcnow
from derbridge.config import Settings
from derbridge.derms.optouts import store
from derbridge.store.db import make_engine
from derbridge.web.operator import checked, operator_client, wait_for
from tests.e2e.conftest import Systems
from tests.event_seed import add_program_type
from tests.events_stack import (
    HEAD_END,
    TIMEOUT_S,
    create_event,
    participations,
    reservation,
    reserve,
    seed_fleet,
    wait_ack,
    wait_program_event,
)
from tests.integration.conftest import cli_config

pytestmark = pytest.mark.e2e


@pytest.fixture
def wide_standby(stack_settings: Settings, tmp_path: Path) -> Settings:
    """A standby list as long as the reservation, so that each drop can be backfilled."""
    models = tmp_path / "models.toml"
    models.write_text("standby_share = 1.0\n")
    return stack_settings.with_overrides(reservation_models=str(models))


def with_opt_outs_allowed(settings: Settings) -> None:
    dacs = make_engine(settings.database_url("dacs"))
    with dacs.begin() as connection:
        add_program_type(connection)  # SMARTSTAT's type: pre-emptive opt-out and unavailability allowed
    dacs.dispose()


def roles(settings: Settings, event_id: str) -> dict[str, list[str]]:
    listed = reservation(settings, event_id)["listed"]
    return {role: [d["nicId"] for d in listed if d["status"] == role] for role in ("RESERVED", "STANDBY")}


def held(settings: Settings, event_id: str) -> dict[str, dict[str, Any]]:
    return {p["nicId"]: p for p in participations(settings, event_id)}


def test_an_opt_out_and_a_declared_window_are_dropped_and_backfilled_across_the_three_systems(
        wide_standby: Settings, tmp_path: Path) -> None:
    settings = wide_standby
    seed_fleet(settings)
    with_opt_outs_allowed(settings)
    systems = Systems(settings)
    try:
        systems.start("derms", "dacs", "hub")
        event_id = create_event(settings)["eventId"]
        wait_program_event(settings, event_id, "SCHEDULED")
        reserve(settings, event_id)
        before = roles(settings, event_id)
        reserved, standby = before["RESERVED"], before["STANDBY"]
        assert len(standby) >= 2, before
        wait_program_event(settings, event_id, "SCHEDULED", reserved=len(reserved))
        wait_ack(settings, event_id)

        with operator_client(settings, "dacs") as dacs:
            checked(dacs.post("/api/participations/opt-outs", json={
                "eventExternalIdentifier": event_id, "headEndSystem": HEAD_END, "nicId": reserved[0]}))
        assert wait_ack(settings, event_id, version=2)["ackType"] == "SUCCESS"
        after_opt_out = held(settings, event_id)
        assert (after_opt_out[reserved[0]]["reserved"], after_opt_out[reserved[0]]["optedOut"]) == (False, True)
        assert after_opt_out[standby[0]]["reserved"] is True
        assert sorted(nic for nic, p in after_opt_out.items() if p["reserved"]) == sorted(
            [*reserved[1:], standby[0]])

        device = after_opt_out[reserved[1]]["deviceId"]
        start = utcnow() + timedelta(hours=2)
        with operator_client(settings, "dacs") as dacs:
            checked(dacs.post("/api/unavailability", json={
                "deviceId": device, "start": start.isoformat(), "end": (start + timedelta(hours=4)).isoformat(),
                "reason": "travelling"}))
        assert wait_ack(settings, event_id, version=3)["ackType"] == "SUCCESS"
        after_window = held(settings, event_id)
        assert (after_window[reserved[1]]["reserved"], after_window[reserved[1]]["optedOut"]) == (False, False)
        assert sorted(nic for nic, p in after_window.items() if p["reserved"]) == sorted(
            [*reserved[2:], standby[0], standby[1]])

        with operator_client(settings, "derms") as derms:
            changes = checked(derms.get(f"/api/events/{event_id}/reservation/changes"))
        assert sorted((d["nicId"], d["cause"], d["outcome"]) for d in changes["drops"]) == sorted([
            (reserved[0], "OPTED_OUT", "DROPPED"), (reserved[1], "UNAVAILABLE_DECLARED", "DROPPED")])
        assert sorted(b["nicId"] for b in changes["backfills"]) == sorted(standby[:2])
        assert reservation(settings, event_id)["targetMet"] is True
        wait_for(lambda: wait_program_event(settings, event_id, "SCHEDULED", reserved=len(reserved)), TIMEOUT_S,
                 "the program system's count of reservations back where it was")

        shown = CliRunner().invoke(app, ["events", "show", event_id, "--config", str(cli_config(settings, tmp_path))],
                                   env={"COLUMNS": "250"})
        assert shown.exit_code == 0, shown.output
        assert "Dropped" in shown.output and "Backfilled from standby" in shown.output
        assert all(nic in shown.output for nic in [*reserved[:2], *standby[:2]])
    finally:
        systems.stop_all()


def opt_out(settings: Settings, event_id: str, *nics: str) -> None:
    with operator_client(settings, "dacs") as dacs:
        for nic in nics:
            checked(dacs.post("/api/participations/opt-outs", json={
                "eventExternalIdentifier": event_id, "headEndSystem": HEAD_END, "nicId": nic}))


def test_once_the_standby_list_is_used_up_a_drop_only_releases_and_the_reservation_falls_short(
        systems: Systems) -> None:
    settings = systems.settings
    seed_fleet(settings)
    with_opt_outs_allowed(settings)
    systems.start("derms", "dacs", "hub")
    event_id = create_event(settings)["eventId"]
    wait_program_event(settings, event_id, "SCHEDULED")
    reserve(settings, event_id)
    before = roles(settings, event_id)
    reserved, standby = before["RESERVED"], before["STANDBY"]
    assert 0 < len(standby) < len(reserved), before
    wait_ack(settings, event_id)

    opt_out(settings, event_id, *reserved[:len(standby)])
    wait_for(lambda: reservation(settings, event_id)["devices"].get("STANDBY", 0) == 0, TIMEOUT_S,
             "every standby device backfilled")
    last = reservation(settings, event_id)["version"]
    opt_out(settings, event_id, reserved[len(standby)])
    assert wait_ack(settings, event_id, version=last + 1)["ackType"] == "SUCCESS"

    shown = reservation(settings, event_id)
    assert shown["targetMet"] is False and "standby list exhausted" in shown["note"]
    assert shown["deviceLists"][-1]["reserved"] == 0 and shown["deviceLists"][-1]["released"] == 1
    now_held = held(settings, event_id)
    assert now_held[reserved[len(standby)]]["reserved"] is False
    assert sorted(nic for nic, p in now_held.items() if p["reserved"]) == sorted(
        [*reserved[len(standby) + 1:], *standby])


def test_a_drop_recorded_before_derms_stopped_is_backfilled_when_it_starts_again(systems: Systems) -> None:
    settings = systems.settings
    seed_fleet(settings)
    systems.start("derms", "dacs", "hub")
    event_id = create_event(settings)["eventId"]
    wait_program_event(settings, event_id, "SCHEDULED")
    reserve(settings, event_id)
    before = roles(settings, event_id)
    wait_ack(settings, event_id)

    systems.stop("derms")  # an opt-out recorded with its drop, then DERMS stopped before its task took the drop
    derms = make_engine(settings.database_url("derms"))
    try:
        recorded = store.record(derms, store.OptOut(event_id, HEAD_END, before["RESERVED"][0], None), utcnow())
    finally:
        derms.dispose()
    assert recorded.result == "accepted"
    systems.start("derms")

    assert wait_ack(settings, event_id, version=2)["ackType"] == "SUCCESS"
    now_held = held(settings, event_id)
    assert now_held[before["RESERVED"][0]]["reserved"] is False
    assert now_held[before["STANDBY"][0]]["reserved"] is True
