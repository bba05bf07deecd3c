"""A whole season across the three systems, each its own process on one shared clock: every event type, approvals,
opt-outs and unavailability with backfill, a cancellation, dispatch, outcomes and scores that move. Killed with
SIGKILL once each at seeded moments and restarted, the systems still finish the season, and their counts of
reservations, opt-outs and outcomes agree, with no message left undelivered in the hub."""

from __future__ import annotations

import io
import random
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from derbridge.config import Settings
from derbridge.scenario import season
from derbridge.scenario.demo import Scenario
from derbridge.scenario.season_steps import make_dataset
from tests.e2e.conftest import Systems

pytestmark = pytest.mark.e2e

CUSTOMERS = 800
SYSTEMS = ("derms", "dacs", "hub")


def test_the_season_demo_runs_every_step_and_prints_its_closing_table() -> None:
    finished = subprocess.run([sys.executable, "-m", "derbridge.cli", "demo", "--season", "--customers", "800"],
                              capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stdout[-4000:] + finished.stderr[-4000:]
    assert "every step succeeded" in finished.stdout
    assert "The season, event by event" in finished.stdout
    for event_type in ("ECONOMIC", "EMERGENCY", "RELIABILITY", "DEVICE-TEST"):
        assert finished.stdout.count(f"│ {event_type}") >= 2, f"two {event_type} events in the closing table"
    [stopped] = [line for line in finished.stdout.splitlines() if line.startswith("│ Storm line")]
    cells = [cell.strip() for cell in stopped.strip("│ ").split("│")]
    assert cells[2] == "CANCELLED" and cells[-1] == cells[4] != "0", "every reserved device of the stopped event D1CN"


def test_a_season_with_each_system_killed_once_reconciles(stack_settings: Settings, tmp_path: Path) -> None:
    dataset = make_dataset(tmp_path / "dataset", CUSTOMERS, season.SEED)
    clock_file = tmp_path / "clock"
    settings = stack_settings.with_overrides(clock_file=str(clock_file), headend_dataset=str(dataset),
                                             retry_initial_s=0.2, retry_max_interval_s=1.0, sender_poll_s=0.1)
    systems = Systems(settings)
    kills = seeded_kills(random.Random(20261207))
    killed: list[tuple[int, str]] = []

    def kill_and_restart(_title: str) -> None:
        step = len(scenario.results)
        if step in kills:
            systems.kill(kills[step])
            systems.start(kills[step])
            killed.append((step, kills[step]))

    scenario = Scenario(settings, Console(file=io.StringIO(), width=200), after_step=kill_and_restart)
    try:
        systems.start(*SYSTEMS)
        season.run_season(scenario, dataset, clock_file, CUSTOMERS / season.CUSTOMERS)
    finally:
        systems.stop_all()
    failed = [(title, detail) for title, ok, detail, _ in scenario.results if not ok]
    assert not failed, failed
    assert sorted(name for _, name in killed) == sorted(SYSTEMS), "each system was killed once"
    assert scenario.results[-1][0] == "The three systems agree"


def seeded_kills(rng: random.Random) -> dict[int, str]:
    """After which step (counted from 1) each system is killed: one each, past the set-up, apart."""
    steps = rng.sample(range(8, 30, 3), len(SYSTEMS))
    return dict(zip(steps, rng.sample(SYSTEMS, len(SYSTEMS)), strict=True))
