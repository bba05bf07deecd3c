"""An operator's walk through `derbridge events` and `derbridge program-events` against running systems: create
an event that needs approval, approve it, see what would be reserved, reserve, see it in the program system,
cancel it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from derbridge.cli import app
from derbridge.clock import utcnow
from derbridge.config import Settings
from tests.events_stack import participations, seed_fleet, wait_ack, wait_program_event
from tests.integration.conftest import cli_config, printed_json, stack_on


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Settings]]:
    """The three systems (SQLite: the command line is a client) with a fleet, and a configuration file."""
    for running in stack_on("sqlite", tmp_path_factory):
        seed_fleet(running.settings)
        yield cli_config(running.settings, tmp_path_factory.mktemp("cli")), running.settings


def run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(app, [*args, "--config", str(config)], env={"COLUMNS": "200"})


def test_create_approve_what_if_reserve_and_cancel_from_the_command_line(stack: tuple[Path, Settings]) -> None:
    config, settings = stack
    start = (utcnow() + timedelta(hours=3)).replace(microsecond=0)
    end = start + timedelta(hours=2)
    created = run(config, "events", "create", "--name", "Heat wave", "--program", "SMARTSTAT", "--target-kw", "3",
                  "--type", "EMERGENCY", "--start", start.isoformat(), "--end", end.isoformat(),
                  "--feeder", "F-1", "--feeder", "F-2", "--needs-approval", "--json")
    assert created.exit_code == 0, created.output
    event = printed_json(created.output)
    event_id = event["eventId"]
    assert (event["status"], event["zone"]) == ("NEW", {"kind": "FEEDERS", "ids": ["F-1", "F-2"]})

    approved = run(config, "events", "approve", event_id, "--by", "Lee Chen")
    assert approved.exit_code == 0 and "SCHEDULED, approved by Lee Chen" in approved.output
    wait_program_event(settings, event_id, "SCHEDULED")

    what_if = run(config, "events", "reserve", event_id, "--dry-run")
    assert what_if.exit_code == 0, what_if.output
    assert "OUTSIDE_ZONE" in what_if.output and "Expected kW by feeder" in what_if.output
    planned = printed_json(run(config, "events", "reserve", event_id, "--dry-run", "--json").output)
    assert {entry["constraint"]: entry["devices"] for entry in planned["excluded"]} == {"OUTSIDE_ZONE": 4}

    reserved = run(config, "events", "reserve", event_id)
    assert reserved.exit_code == 0, reserved.output
    wait_program_event(settings, event_id, "SCHEDULED", reserved=planned["reserved"])
    wait_ack(settings, event_id)
    shown = run(config, "events", "show", event_id)
    assert "ack SUCCESS" in shown.output and "Lee Chen" in shown.output

    listed = printed_json(run(config, "program-events", "list", "--json").output)
    assert [(e["eventExternalIdentifier"], e["reserved"]) for e in listed] == [(event_id, planned["reserved"])]
    in_program_system = run(config, "program-events", "show", event_id)
    assert in_program_system.exit_code == 0 and f"{planned['reserved']} reserved" in in_program_system.output

    performance = run(config, "events", "performance", event_id, "--feeders")
    assert performance.exit_code == 0, performance.output
    assert "NOT_YET" in performance.output and "outcomes: not yet" in performance.output
    assert "F-1" in performance.output and "F-2" in performance.output
    before = printed_json(run(config, "events", "performance", event_id, "--json").output)
    assert before["reservedKw"] > 0 and before["outcomesCollected"] is False
    assert [stage["name"] for stage in before["stages"]] == ["RAMP_UP", "SUSTAIN", "RAMP_DOWN"]
    assert run(config, "events", "performance", "EV0000000000").exit_code == 1
    live = printed_json(run(config, "events", "performance", event_id, "--live", "--json").output)
    assert live["live"] and {stage["deliveredKw"] for stage in live["stages"]} == {None}, "nothing started yet"

    cancelled = run(config, "events", "cancel", event_id, "--reason", "forecast cooler")
    assert cancelled.exit_code == 0 and "CANCELLED (forecast cooler)" in cancelled.output
    assert "It had started" not in cancelled.output
    wait_program_event(settings, event_id, "CANCELLED", reserved=0)
    assert not any(p["reserved"] for p in participations(settings, event_id))


def test_a_refused_event_names_its_fields(stack: tuple[Path, Settings]) -> None:
    config, _settings = stack
    start = (utcnow() + timedelta(hours=3)).replace(microsecond=0)
    refused = run(config, "events", "create", "--name", "X", "--program", "NOPE", "--target-kw", "3",
                  "--start", start.isoformat(), "--end", (start + timedelta(hours=1)).isoformat(),
                  "--substation", "S-9")
    assert refused.exit_code == 1
    assert "programCode" in refused.output and "zone.ids.0" in refused.output
