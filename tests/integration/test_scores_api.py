"""Device scores over real HTTP and the command line (the program system in-process): a bad formula is refused
422 naming the field and the position, unknown names are 404, a run on demand scores the seeded devices, and
`derbridge scores explain` shows why a device scored what it did."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from derbridge.bootstrap import BackgroundSystems
from derbridge.cli import app
from derbridge.store.db import make_engine
from derbridge.web.operator import checked, operator_client, wait_for
from tests.integration.conftest import cli_config, printed_json, stack_on
from tests.score_seed import Device, add_device, add_programs

CALLED, IDLE = Device(1), Device(2)
RULE_SET = {"rules": [{"name": "SC", "formula": "10 * AV + CU"}],
            "eligibility": [{"formula": "AV > 0", "reason": "NOT_AVAILABLE"}]}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundSystems]:
    """The program system alone (SQLite: storage is specified on both back ends in tests/contract), with two
    scored devices and a pickup directory for score files (test stacks have no daily run)."""
    pickup = tmp_path_factory.mktemp("pickup")
    for running in stack_on("sqlite", tmp_path_factory, ("dacs",), score_file_dir=str(pickup)):
        engine = make_engine(running.settings.database_url("dacs"))
        with engine.begin() as connection:
            add_programs(connection)
            add_device(connection, CALLED)
            add_device(connection, IDLE, registration="D1NR")
        engine.dispose()
        yield running


def dacs(stack: BackgroundSystems) -> Any:
    return operator_client(stack.settings, "dacs")


def test_a_bad_formula_is_refused_naming_the_field_and_the_position(stack: BackgroundSystems) -> None:
    body = {"name": "bad", "rules": [{"name": "REST", "formula": "DE / DP"}, {"name": "SC", "formula": "REST + CUU"}]}
    with dacs(stack) as client:
        refused = client.post("/api/score-rule-sets", json=body)
        missing = client.get("/api/score-rule-sets/bad")

    assert refused.status_code == 422
    assert refused.json()["errors"] == [{"field": "rules.1.formula", "type": "invalid_input",
                                         "message": "line 1, column 8: unknown variable 'CUU' (did you mean CU?)"}]
    assert missing.status_code == 404


def test_unknown_rule_sets_programs_devices_and_runs_are_not_found(stack: BackgroundSystems) -> None:
    with dacs(stack) as client:
        checked(client.post("/api/score-rule-sets", json={"name": "tenfold", **RULE_SET}))
        answers = [client.put("/api/score-rule-sets/nope", json=RULE_SET),
                   client.post("/api/score-rule-sets/tenfold/programs", json={"programCode": "NOPROGRAM"}),
                   client.post("/api/score-rule-sets/nope/test", json={"deviceId": CALLED.device_id}),
                   client.post("/api/score-rule-sets/tenfold/test", json={"deviceId": "D99"}),
                   client.get("/api/score-runs/12345678901234"),
                   client.get("/api/devices/D99/score"),
                   client.delete("/api/score-rule-sets/tenfold/programs/SMARTSTAT")]

    assert [answer.status_code for answer in answers] == [404] * len(answers)


def test_a_run_on_demand_scores_every_device_and_drops_the_file_for_pickup(stack: BackgroundSystems) -> None:
    with dacs(stack) as client:
        started = checked(client.post("/api/score-runs"))
        path = f"/api/score-runs/{started['runId']}"
        done = wait_for(lambda: (found := checked(client.get(path)))["status"] != "RUNNING" and found, 30,
                        "the score run")
        tried = checked(client.post("/api/score-rule-sets/DEFAULT/test", json={"deviceId": CALLED.device_id}))

    assert (started["status"], done["status"], done["devices"], done["eligible"]) == ("RUNNING", "DONE", 2, 1)
    assert (tried["score"], tried["eligible"], tried["variables"]["AV"]) == (100.0, True, 1.0)

    pickup = Path(stack.settings.score_file_dir)
    assert {done["fileName"], f"{done['fileName']}.sha256"} <= {path.name for path in pickup.iterdir()}


def test_the_latest_scores_are_listed_a_page_at_a_time_by_device_id(stack: BackgroundSystems) -> None:
    with dacs(stack) as client:
        started = checked(client.post("/api/score-runs"))
        wait_for(lambda: checked(client.get(f"/api/score-runs/{started['runId']}"))["status"] == "DONE", 30,
                 "the score run")
        first = checked(client.get("/api/device-scores", params={"limit": 1}))
        second = checked(client.get("/api/device-scores", params={"after": first[0]["deviceId"], "limit": 1}))
        past_the_end = checked(client.get("/api/device-scores", params={"after": second[0]["deviceId"]}))

    assert [page[0]["deviceId"] for page in (first, second)] == sorted([CALLED.device_id, IDLE.device_id])
    assert [page[0]["eligible"] for page in (first, second)] == [True, False]
    assert past_the_end == []

def run(stack: BackgroundSystems, tmp_path: Path, *args: str) -> Result:
    config = cli_config(stack.settings, tmp_path)
    return CliRunner().invoke(app, ["scores", *args, "--config", str(config)], env={"COLUMNS": "200"})


def test_the_command_line_runs_scores_and_explains_a_device(stack: BackgroundSystems, tmp_path: Path) -> None:
    ran = run(stack, tmp_path, "run", "--wait", "--json")
    explained = run(stack, tmp_path, "explain", IDLE.device_id)
    as_json = run(stack, tmp_path, "explain", IDLE.device_id, "--json")
    unknown = run(stack, tmp_path, "explain", "D99")

    assert ran.exit_code == 0, ran.output
    assert printed_json(ran.output)["status"] == "DONE"
    assert explained.exit_code == 0, explained.output
    assert "not eligible: NOT_AVAILABLE" in explained.output and "HEADROOM" in explained.output
    found = printed_json(as_json.output)
    assert (found["score"], found["eligible"], found["values"]["AV"]) == (0.0, False, 0.0)
    assert unknown.exit_code == 1 and "404" in unknown.output
