"""Device scores in the program system (F7), on SQLite and PostgreSQL, from participations seeded directly: each
variable counted as docs/scores.md defines it, the default rule's scores and reasons, a program's own rule set,
one device tried and explained as the run scored it, the score file and its checksum, and the run's counts."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from derbridge.dacs.schema import outbound_files
from derbridge.dacs.scores import explain, rule_sets, runs, score_file
from derbridge.dacs.scores.inputs import VARIABLES
from derbridge.dacs.scores.schedule import Destination
from derbridge.dacs.scores.variables import device_variables
from derbridge.store.db import reading
from tests.score_seed import Device, add_device, add_participation, add_programs, add_status_check, utc
from tests.seed import NOW

# NOW is Monday 23 November 2026, 12:00 UTC: 06:00 in Chicago, where every seeded premise is. The month began
# there on 1 November at 05:00 UTC, the week on 23 November at 06:00 UTC.
CALLED, NEVER, FAILING, UNREGISTERED, WEEKLY, NOT_YET, CAPPED, OVERRIDING = (
    Device(1), Device(2), Device(3), Device(4), Device(5, "PEAKWEEK"), Device(9), Device(10), Device(11))
REMOVED, UNSUBSCRIBED, DORMANT = Device(6), Device(7), Device(8, "DORMANT")
SCORED = (CALLED, NEVER, FAILING, UNREGISTERED, WEEKLY, NOT_YET, CAPPED, OVERRIDING)


@pytest.fixture
def dacs_db(dacs_db: Engine) -> Iterator[Engine]:
    """The migrated database (contract/conftest.py), seeded."""
    with dacs_db.begin() as connection:
        seed(connection)
    yield dacs_db


def seed(connection: Any) -> None:
    add_programs(connection)
    for device in (CALLED, NEVER, FAILING, WEEKLY, CAPPED, OVERRIDING, DORMANT):
        add_device(connection, device)
    add_device(connection, UNREGISTERED, registration="D1NR")
    add_device(connection, NOT_YET, start_at=utc(2026, 11, 24))
    add_device(connection, REMOVED, device_status="REMOVED")
    add_device(connection, UNSUBSCRIBED, subscription_status="INACTIVE")
    history = [
        (CALLED, "E1", utc(2026, 11, 1, 4), "D1SP"),  # 31 October, 23:00 in Chicago: last month
        (CALLED, "E2", utc(2026, 11, 1, 5, 30), "D1SP"),  # 1 November, 00:30 in Chicago
        (CALLED, "E3", utc(2026, 11, 20, 20), "D1SP"),  # ended 20 November 22:00: 2 days and 14 hours ago
        (CALLED, "E4", utc(2026, 11, 10, 20), "D1ND"),
        (CALLED, "E5", utc(2026, 11, 12, 20), "D1IO"),
        (CALLED, "E6", utc(2026, 8, 15, 20), "D1IO"),  # 100 days ago
        (CALLED, "E9", utc(2026, 11, 15, 20), "D1ER"),
        (WEEKLY, "W1", utc(2026, 11, 22, 20), "D1SP"),  # Sunday: last week
        (WEEKLY, "W2", utc(2026, 11, 23, 5), "D1SP"),  # Sunday 23:00 in Chicago: last week
        (WEEKLY, "W3", utc(2026, 11, 23, 7), "D1SP"),  # Monday 01:00 in Chicago, ended 09:00 UTC
        *((CAPPED, f"C{day}", utc(2026, 11, day, 18), "D1SP") for day in (2, 3, 4, 5)),
        *((OVERRIDING, f"O{day}", utc(2026, 10, day, 18), "D1IO") for day in (1, 2, 3)),
    ]
    for device, event, start, outcome in history:
        add_participation(connection, device, event, start, outcome)
    add_participation(connection, CALLED, "E7", utc(2026, 11, 14, 20), None, opted_out_at=utc(2026, 11, 13))
    add_participation(connection, CALLED, "E8", utc(2026, 7, 26, 20), None, opted_out_at=utc(2026, 7, 25))
    add_status_check(connection, FAILING, "SUCCESS", utc(2026, 11, 20))
    add_status_check(connection, FAILING, "FAILURE", utc(2026, 11, 22))
    add_status_check(connection, UNREGISTERED, "FAILURE", utc(2026, 11, 20))
    add_status_check(connection, UNREGISTERED, "SUCCESS", utc(2026, 11, 22))


def variables(engine: Engine, device: Device | None = None) -> dict[str, dict[str, Any]]:
    frame = device_variables(engine, NOW, device.device_id if device else None)
    return {row["device_id"]: row for row in frame.iter_rows(named=True)}


def test_every_active_device_of_an_active_subscription_of_an_active_program_is_scored_once(
        dacs_db: Engine) -> None:
    found = variables(dacs_db)

    assert sorted(found) == sorted(device.device_id for device in SCORED)
    assert found[WEEKLY.device_id]["program_code"] == "PEAKWEEK"
    assert found[CALLED.device_id]["subscription_id"] == CALLED.subscription


@pytest.mark.parametrize(("device", "expected"), [
    pytest.param(CALLED, {"AC": 1, "AV": 1, "CM": 1, "CU": 2, "CA": 4, "BR": 0.5, "DE": 2, "DP": 30, "OO": 1,
                          "IO": 1, "ND": 1}, id="successes this month in Chicago, 90-day opt-outs and overrides"),
    pytest.param(NEVER, {"AC": 1, "AV": 1, "CM": 1, "CU": 0, "CA": 4, "BR": 0, "DE": 365, "DP": 30, "OO": 0,
                         "IO": 0, "ND": 0}, id="never called"),
    pytest.param(FAILING, {"AV": 0, "CM": 0}, id="latest status check failed"),
    pytest.param(UNREGISTERED, {"AV": 0, "CM": 1}, id="not registered; a success after a failure"),
    pytest.param(NOT_YET, {"AV": 0, "CM": 1}, id="subscription not started"),
    pytest.param(WEEKLY, {"CU": 1, "CA": 2, "BR": 0.5, "DE": 0, "DP": 7}, id="weekly cycle from Monday, local"),
    pytest.param(CAPPED, {"CU": 4, "CA": 4, "BR": 1, "DE": 17}, id="cap reached"),
    pytest.param(OVERRIDING, {"IO": 3, "CU": 0}, id="three in-flight overrides"),
])
def test_each_variable_is_counted_as_documented(dacs_db: Engine, device: Device, expected: dict[str, float]) -> None:
    found = variables(dacs_db)[device.device_id]

    assert {name: found[name] for name in expected} == expected
    assert variables(dacs_db, device)[device.device_id] == found  # one device reads what the fleet reads


def test_a_program_without_a_cap_for_its_cycle_has_one_a_day(dacs_db: Engine) -> None:
    with dacs_db.begin() as connection:
        connection.execute(sa.text("UPDATE program_rules SET max_events_per_month = NULL"))

    found = variables(dacs_db, CALLED)[CALLED.device_id]

    assert (found["CA"], found["DP"], found["BR"]) == (30, 30, 2 / 30)


DEFAULT_EXPECTED = {
    CALLED: (11.76, True, None), NEVER: (100.0, True, None), FAILING: (0.0, False, "NOT_COMMUNICATING"),
    UNREGISTERED: (0.0, False, "NOT_AVAILABLE"), NOT_YET: (0.0, False, "NOT_AVAILABLE"),
    WEEKLY: (27.0, True, None), CAPPED: (11.33, False, "CAP_REACHED"),
    OVERRIDING: (25.0, False, "TOO_MANY_OVERRIDES"),
}


def run(engine: Engine, tmp_path: Path, pickup: bool = False) -> dict[str, Any]:
    destination = Destination(tmp_path / "files", tmp_path / "pickup" if pickup else None)
    return runs.run_now(engine, destination, "Pat Manager", NOW)


def stored(engine: Engine) -> dict[str, tuple[float, bool, str | None]]:
    with reading(engine) as connection:
        rows = connection.execute(sa.text("SELECT device_id, score, eligible, reason FROM device_scores")).all()
    return {row.device_id: (row.score, bool(row.eligible), row.reason) for row in rows}


def test_the_default_rule_scores_and_gives_reasons(dacs_db: Engine, tmp_path: Path) -> None:
    run(dacs_db, tmp_path)

    assert stored(dacs_db) == {device.device_id: expected for device, expected in DEFAULT_EXPECTED.items()}


CUSTOM = rule_sets.RuleSetCreate.model_validate({
    "name": "peak-weekly", "description": "Rested devices first",
    "rules": [{"name": "LEFT", "formula": "CA - CU"}, {"name": "SC", "formula": "10 * LEFT + SN[CU + 1]"}],
    "eligibility": [{"formula": "AV > 0 and LEFT > 1", "reason": "NEARLY_USED"}], "factors": {"SN": [3, 2, 1]}})


def test_a_program_with_its_own_rule_set_is_scored_by_it_and_the_others_by_the_default(
        dacs_db: Engine, tmp_path: Path) -> None:
    rule_sets.create(dacs_db, CUSTOM, "Pat Manager")
    rule_sets.attach(dacs_db, "peak-weekly", "PEAKWEEK", "Pat Manager")

    run(dacs_db, tmp_path)

    scores = stored(dacs_db)
    assert scores[WEEKLY.device_id] == (12.0, False, "NEARLY_USED")  # 10 * (2 - 1) + SN[2]
    assert scores[CALLED.device_id] == DEFAULT_EXPECTED[CALLED]


def test_a_device_tried_now_scores_what_the_run_stored(dacs_db: Engine, tmp_path: Path) -> None:
    rule_sets.create(dacs_db, CUSTOM, "Pat Manager")
    rule_sets.attach(dacs_db, "peak-weekly", "PEAKWEEK", "Pat Manager")
    run(dacs_db, tmp_path)

    for device in SCORED:
        tried = explain.trial(dacs_db, device.device_id, now=NOW)
        latest = explain.latest(dacs_db, device.device_id)
        assert (tried["score"], tried["eligible"], tried["reason"]) == stored(dacs_db)[device.device_id]
        assert tried["components"] == latest["components"]
        assert tried["ruleSet"] == ("peak-weekly" if device is WEEKLY else "DEFAULT")


def test_a_trial_explains_every_variable_and_step(dacs_db: Engine) -> None:
    tried = explain.trial(dacs_db, CALLED.device_id, "DEFAULT", now=NOW)

    assert set(tried["variables"]) == set(VARIABLES)
    assert tried["steps"]["HEADROOM"] == 0.5 and tried["steps"]["RELIABILITY"] == pytest.approx(0.45)
    assert tried["components"] == ("BR=0.5;DE=2;DP=30;ND=1;IO=1;OO=1;AV=1;CU=2;CM=1;CA=4;HEADROOM=0.5;"
                                   "REST=0.066667;RELIABILITY=0.45;SC=11.76")  # inputs as first used, then rules
    assert (tried["score"], tried["eligible"], tried["reason"]) == (11.76, True, None)


def test_the_score_file_has_one_row_per_scored_device_and_its_checksum_beside_it(dacs_db: Engine,
                                                                                  tmp_path: Path) -> None:
    done = run(dacs_db, tmp_path, pickup=True)

    name = done["fileName"]
    assert name == "SDCSE_V1_20261123T120000Z.csv"
    data = (tmp_path / "pickup" / name).read_bytes()
    assert data == (tmp_path / "files" / "scores" / name).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    assert (tmp_path / "pickup" / f"{name}.sha256").read_text() == f"{digest}  {name}\n"
    assert done["sha256"] == digest
    text = data.decode("utf-8")
    lines = text.split("\n")
    assert lines[0] == ",".join(score_file.COLUMNS) and lines[-1] == "" and "\r" not in text
    rows = pl.read_csv(data, schema=dict.fromkeys(score_file.COLUMNS, pl.String))
    assert rows["deviceId"].to_list() == sorted(device.device_id for device in SCORED)
    called = rows.row(by_predicate=pl.col("deviceId") == CALLED.device_id, named=True)
    assert called == {"deviceId": CALLED.device_id, "nicId": CALLED.nic, "headEndSystem": "ECOCLOUD",
                      "programCode": "SMARTSTAT", "subscriptionId": CALLED.subscription, "score": "11.76",
                      "eligible": "true", "reason": None, "computedAt": "2026-11-23T12:00:00.000Z",
                      "components": called["components"]}
    for row in rows.iter_rows(named=True):
        score, eligible, reason = DEFAULT_EXPECTED[next(d for d in SCORED if d.device_id == row["deviceId"])]
        parsed = explain.parse_components(row["components"])
        assert (float(row["score"]), row["eligible"] == "true", row["reason"]) == (score, eligible, reason)
        assert parsed["SC"] == score and set(parsed) >= {"AV", "CU", "DE", "HEADROOM", "SC"}


def test_a_run_counts_what_it_scored_and_queues_its_file_to_the_hub(dacs_db: Engine, tmp_path: Path) -> None:
    done = run(dacs_db, tmp_path)

    assert (done["status"], done["devices"], done["eligible"], done["ineligible"], done["programs"]) == (
        "DONE", 8, 3, 5, 2)
    assert done["reasons"] == {"CAP_REACHED": 1, "NOT_AVAILABLE": 2, "NOT_COMMUNICATING": 1,
                               "TOO_MANY_OVERRIDES": 1}
    assert done["requestedBy"] == "Pat Manager" and done["trigger"] == "DEMAND"
    with reading(dacs_db) as connection:
        [queued] = connection.execute(sa.select(outbound_files)).all()
    assert queued.message_key == f"device-scores:{done['runId']}"
    assert queued.path == (f"/hub/files/from-dacs/deviceScores?runId={done['runId']}"
                           "&computedAt=2026-11-23T12%3A00%3A00.000Z&rows=8")
    assert runs.runs(dacs_db)[0]["runId"] == done["runId"]
