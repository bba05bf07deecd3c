"""Dispatch and outcomes end to end, three processes over real HTTP, on SQLite and PostgreSQL: an event runs
through its stages on the shared clock, DERMS dispatches each stage to the reserved devices through the head
end, works out each device's outcome after the event and sends them through the hub; the program system holds
them on its participations, and its next score run scores the devices by them. The cloud in DERMS's process or
in its own. Faults: the hub killed with -9 while it delivers the outcomes, the program system down while they
are pending, DERMS killed with -9 during the event. An event stopped in progress from the command line."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from derbridge.bootstrap import free_port
from derbridge.cli import app
from derbridge.config import Settings
from derbridge.scenario.processes import SystemProcess, head_end_process
from derbridge.web.auth import outbound_credential
from derbridge.web.client import make_client
from derbridge.web.operator import checked, operator_client, wait_for
from tests.dispatch_stack import (
    FLEET_PROFILE,
    add_to_cloud,
    dispatch_stage,
    finish_event,
    move_clock_to,
    outcomes,
    performance,
    registered_in_program_system,
    run_stages,
    wait_collected,
    wait_outcomes_applied,
)
from tests.e2e.conftest import Systems
from tests.events_stack import TIMEOUT_S, create_event, hub_messages, reserve, seed_fleet, wait_program_event
from tests.integration.conftest import cli_config

pytestmark = pytest.mark.e2e


def stack(stack_settings: Settings, tmp_path: Path, headends: str = FLEET_PROFILE,
          cloud_url: str = "") -> tuple[Systems, list[str]]:
    settings = stack_settings.with_overrides(clock_file=str(tmp_path / "clock"), headends=headends)
    nics = seed_fleet(settings, devices_per_transformer=8)
    registered_in_program_system(settings)
    systems = Systems(settings)
    systems.start("derms", "dacs", "hub")
    add_to_cloud(settings, nics, cloud_url)
    return systems, nics


def reserved_event(settings: Settings) -> tuple[dict[str, object], int]:
    event = create_event(settings, hours_ahead=1.0, targetKw=100.0)
    event_id = str(event["eventId"])
    wait_program_event(settings, event_id, "SCHEDULED")
    held = reserve(settings, event_id)["devices"]["RESERVED"]
    wait_program_event(settings, event_id, "SCHEDULED", reserved=held)
    return event, held


def scores(settings: Settings, device_ids: list[str]) -> dict[str, dict[str, object]]:
    """A score run now, and each device's score and components from it."""
    with operator_client(settings, "dacs") as dacs:
        run = checked(dacs.post("/api/score-runs"))
        wait_for(lambda: checked(dacs.get(f"/api/score-runs/{run['runId']}"))["status"] != "RUNNING", TIMEOUT_S,
                 "the score run", interval_s=0.2)
        return {device: checked(dacs.get(f"/api/devices/{device}/score")) for device in device_ids}


def test_an_event_is_dispatched_its_outcomes_reach_the_program_system_and_change_the_scores(
        stack_settings: Settings, tmp_path: Path) -> None:
    systems, nics = stack(stack_settings, tmp_path)
    settings = systems.settings
    try:
        event, held = reserved_event(settings)
        event_id = str(event["eventId"])
        device_ids = [p["deviceId"] for p in outcomes_free_participations(settings, event_id)]
        before = scores(settings, device_ids)

        run_stages(settings, event)
        wait_program_event(settings, event_id, "COMPLETED")
        performed = wait_collected(settings, event_id)
        assert sum(performed["outcomes"].values()) == held == len(nics)
        assert {"D1SP", "D1IO"} <= set(performed["outcomes"]), performed["outcomes"]
        assert all(stage["dispatch"] == "SENT" and stage["devicesDispatched"] == held
                   for stage in performed["stages"])
        assert performed["stages"][1]["deliveredKw"] > 0

        sent = {o["nicId"]: o["outcome"] for o in outcomes(settings, event_id)}
        applied = wait_outcomes_applied(settings, event_id, sent)
        assert all(p["reserved"] for p in applied)
        [message] = hub_messages(settings, f"{event_id}-O1", flow="F11")
        assert message["status"] == "DELIVERED"

        after = scores(settings, device_ids)
        by_device = {p["deviceId"]: p["outcome"] for p in applied}
        for device, outcome in by_device.items():
            assert after[device]["values"]["CU"] == before[device]["values"]["CU"] + (outcome == "D1SP"), device
        successful = [device for device, outcome in by_device.items() if outcome == "D1SP"]
        assert all(after[d]["score"] != before[d]["score"] for d in successful)
    finally:
        systems.stop_all()


def outcomes_free_participations(settings: Settings, event_id: str) -> list[dict[str, object]]:
    from tests.events_stack import participations

    held = participations(settings, event_id)
    assert all(p["outcome"] is None for p in held)
    return held


def test_outcomes_pending_while_the_program_system_is_down_arrive_once_it_returns(
        stack_settings: Settings, tmp_path: Path) -> None:
    systems, _nics = stack(stack_settings, tmp_path)
    settings = systems.settings
    try:
        event, _held = reserved_event(settings)
        event_id = str(event["eventId"])
        run_stages(settings, event, finish=False)
        systems.stop("dacs")
        finish_event(settings, event)
        wait_collected(settings, event_id)
        wait_for(lambda: any(m["status"] == "RETRYING" for m in hub_messages(settings, f"{event_id}-O1", "F11")),
                 TIMEOUT_S, "the outcomes retried", interval_s=0.2)
        systems.start("dacs")
        wait_outcomes_applied(settings, event_id, {o["nicId"]: o["outcome"] for o in outcomes(settings, event_id)})
        wait_program_event(settings, event_id, "COMPLETED")
    finally:
        systems.stop_all()


def test_the_hub_killed_as_the_outcomes_go_applies_each_once(stack_settings: Settings, tmp_path: Path) -> None:
    systems, _nics = stack(stack_settings, tmp_path)
    settings = systems.settings
    try:
        event, _held = reserved_event(settings)
        event_id = str(event["eventId"])
        run_stages(settings, event, finish=False)
        systems.stop("dacs")  # holds the outcomes in the hub's delivery, between DERMS and the program system
        finish_event(settings, event)
        wait_collected(settings, event_id)
        wait_for(lambda: any(m["status"] == "RETRYING" for m in hub_messages(settings, f"{event_id}-O1", "F11")),
                 TIMEOUT_S, "the outcomes in delivery", interval_s=0.2)
        systems.kill("hub")
        systems.start("dacs", "hub")
        wait_outcomes_applied(settings, event_id, {o["nicId"]: o["outcome"] for o in outcomes(settings, event_id)})
        logged = hub_messages(settings, f"{event_id}-O1", flow="F11")
        assert [m["status"] for m in logged] == ["DELIVERED"], "one message, delivered once"
    finally:
        systems.stop_all()


def stack_with_cloud_process(stack_settings: Settings, tmp_path: Path, response_rate: str,
                             override_rate: str) -> tuple[Systems, list[str], SystemProcess, str]:
    """The three systems with ECOCLOUD in a process of its own (seeded, no device off line): the systems, the
    fleet, the cloud's process and its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = stack_settings.with_overrides(clock_file=str(tmp_path / "clock"))
    cloud = head_end_process(settings, "ECOCLOUD", port, "--seed", "5", "--response-rate", response_rate,
                             "--override-rate", override_rate, "--offline-rate", "0").start()
    systems, nics = stack(stack_settings, tmp_path, f"ECOCLOUD url={url}, NESTLIKE, HOMEGRID", url)
    return systems, nics, cloud, url


def test_a_cloud_in_its_own_process_is_dispatched_and_reports_over_http(stack_settings: Settings,
                                                                       tmp_path: Path) -> None:
    systems, nics, cloud, _url = stack_with_cloud_process(stack_settings, tmp_path, "0.7", "0.5")
    settings = systems.settings
    try:
        event, held = reserved_event(settings)
        event_id = str(event["eventId"])
        run_stages(settings, event)
        performed = wait_collected(settings, event_id)
        assert sum(performed["outcomes"].values()) == held == len(nics)
        assert {"D1SP", "D1IO"} <= set(performed["outcomes"]), performed["outcomes"]
        assert performed["stages"][1]["deliveredKw"] > 0
        wait_outcomes_applied(settings, event_id, {o["nicId"]: o["outcome"] for o in outcomes(settings, event_id)})
    finally:
        systems.stop_all()
        cloud.stop()


def test_derms_killed_during_an_event_dispatches_each_stage_once_after_its_restart(
        stack_settings: Settings, tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = stack_settings.with_overrides(clock_file=str(tmp_path / "clock"))
    cloud = head_end_process(settings, "ECOCLOUD", port, "--seed", "5").start()
    systems, nics = stack(stack_settings, tmp_path, f"ECOCLOUD url={url}, NESTLIKE, HOMEGRID", url)
    settings = systems.settings
    try:
        event, held = reserved_event(settings)
        event_id = str(event["eventId"])
        dispatch_stage(settings, event, 0)
        systems.kill("derms")
        move_clock_to(settings, datetime.fromisoformat(event["stages"][1]["start"]) + timedelta(minutes=1))
        systems.start("derms")
        wait_for(lambda: performance(settings, event_id)["stages"][1]["dispatch"] == "SENT", TIMEOUT_S,
                 "the second stage dispatched after the restart", interval_s=0.1)
        dispatch_stage(settings, event, 2)
        finish_event(settings, event)
        performed = wait_collected(settings, event_id)
        assert [stage["dispatch"] for stage in performed["stages"]] == ["SENT", "SENT", "SENT"]
        assert sum(performed["outcomes"].values()) == held == len(nics)
        with make_client(url, outbound_credential(settings, "operator", "headend"), 10) as cloud_api:
            assert checked(cloud_api.get("/fleet"))["ordersDispatched"] == 3, "one order per stage, none twice"
        wait_outcomes_applied(settings, event_id, {o["nicId"]: o["outcome"] for o in outcomes(settings, event_id)})
    finally:
        systems.stop_all()
        cloud.stop()


def test_an_event_stopped_from_the_command_line_ends_the_clouds_orders_and_every_device_is_cancelled(
        stack_settings: Settings, tmp_path: Path) -> None:
    """Cancelled in progress: the program system keeps the reservations (F1CN alone), the cloud in its own
    process ends the orders at the stop (no quarter hour curtailed from then), every device D1CN in both
    systems."""
    systems, nics, cloud, url = stack_with_cloud_process(stack_settings, tmp_path, "1.0", "0")
    settings = systems.settings
    try:
        event, held = reserved_event(settings)
        event_id = str(event["eventId"])
        dispatch_stage(settings, event, 0)
        dispatch_stage(settings, event, 1)
        stopped_at = datetime.fromisoformat(event["stages"][1]["start"]) + timedelta(minutes=20)  # type: ignore[index]
        move_clock_to(settings, stopped_at)
        config = cli_config(settings, tmp_path)
        said = CliRunner().invoke(app, ["events", "cancel", event_id, "--reason", "feeder fault", "--config",
                                        str(config)], env={"COLUMNS": "200"})
        assert said.exit_code == 0 and "It had started" in said.output, said.output
        wait_program_event(settings, event_id, "CANCELLED", reserved=held)

        move_clock_to(settings, stopped_at + timedelta(minutes=30))
        performed = wait_collected(settings, event_id)
        assert performed["outcomes"] == {"D1CN": held}
        assert [stage["dispatch"] for stage in performed["stages"]] == ["SENT", "STOPPED", "MISSED"]
        wait_outcomes_applied(settings, event_id, dict.fromkeys(nics, "D1CN"))
        with make_client(url, outbound_credential(settings, "derms", "headend"), 10) as gateway:
            reported = checked(gateway.post("/gateway/telemetry", json={
                "nicIds": nics, "startISO": stopped_at.isoformat(),
                "endISO": (stopped_at + timedelta(minutes=30)).isoformat()}))
        after = [state for at, state in zip(reported["intervalStartISO"], reported["state"], strict=True)
                 if datetime.fromisoformat(at) >= stopped_at]
        assert after and set(after) == {"NORMAL"}, "the cloud ended the orders at the stop"
    finally:
        systems.stop_all()
        cloud.stop()
