"""The README's first command: `derbridge demo` runs the whole system — an aggregator's sync, then a small
utility's enrollments with status checks, syncs, an opt-out and a replacement — and succeeds."""

import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e


def test_the_demo_runs_every_step_and_exits_zero() -> None:
    finished = subprocess.run([sys.executable, "-m", "derbridge.cli", "demo"], capture_output=True, text=True,
                              timeout=120)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "every step succeeded" in finished.stdout
    assert finished.stdout.count("DELIVERED") == 4 + 7, "the aggregator's trail and the replaced thermostat's"
    assert "DERMS switches to the new score set" in finished.stdout, "F7: the scores reach DERMS"
    for flow in ("F3", "F4", "F5", "F6"):
        assert f"│ {flow}   │" in finished.stdout, f"{flow} is missing from the trails"
