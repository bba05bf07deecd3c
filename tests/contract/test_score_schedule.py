"""Score runs on a schedule and on demand, on SQLite and PostgreSQL: once a day when the clock passes the
configured UTC hour (the shared clock moves it, no sleeping), never two at once, and a fault leaves a FAILED
run and the previous scores."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from derbridge.clock import ManualClock, use_clock
from derbridge.config import ConfigError, Settings
from derbridge.dacs.schema import device_scores
from derbridge.dacs.scores import runs
from derbridge.dacs.scores.schedule import Destination, score_tasks
from derbridge.errors import Conflict
from derbridge.store.db import reading
from tests.score_seed import Device, add_device, add_programs, utc

HOUR = 2


@pytest.fixture
def dacs_db(dacs_db: Engine) -> Iterator[Engine]:
    """The migrated database (contract/conftest.py), seeded."""
    with dacs_db.begin() as connection:
        add_programs(connection)
        add_device(connection, Device(1))
    yield dacs_db


@pytest.fixture
def clock() -> Iterator[ManualClock]:
    manual = ManualClock(utc(2026, 11, 23, 1, 59))
    previous = use_clock(manual)
    yield manual
    use_clock(previous)


def test_the_schedule_runs_once_a_day_after_the_hour(dacs_db: Engine, clock: ManualClock, tmp_path: Path) -> None:
    destination = Destination(tmp_path)

    before = runs.run_if_due(dacs_db, destination, HOUR)
    clock.advance(timedelta(minutes=1))
    first = runs.run_if_due(dacs_db, destination, HOUR)
    clock.advance(timedelta(hours=5))
    again = runs.run_if_due(dacs_db, destination, HOUR)
    clock.advance(timedelta(days=1))
    next_day = runs.run_if_due(dacs_db, destination, HOUR)

    assert before is None and again is None and first is not None and next_day is not None
    done = {run["runId"]: run for run in runs.runs(dacs_db)}
    assert (done[first]["trigger"], done[first]["status"], done[first]["computedAt"]) == (
        "SCHEDULE", "DONE", "2026-11-23T02:00:00.000Z")
    assert (done[first]["scheduledDay"], done[next_day]["scheduledDay"]) == ("2026-11-23", "2026-11-24")


def test_a_run_is_refused_while_another_runs_and_an_interrupted_one_is_failed_later(
        dacs_db: Engine, clock: ManualClock, tmp_path: Path) -> None:
    started = runs.start(dacs_db, runs.DEMAND, "Pat")

    with pytest.raises(Conflict):
        runs.start(dacs_db, runs.DEMAND, "Lee", clock.advance(timedelta(seconds=5)))
    clock.advance(runs.STALE)
    done = runs.run_now(dacs_db, Destination(tmp_path), "Lee")

    assert runs.get(dacs_db, started)["status"] == "FAILED" and done["status"] == "DONE"


def test_runs_in_one_second_are_computed_a_second_apart_so_each_file_has_its_own_name(
        dacs_db: Engine, clock: ManualClock, tmp_path: Path) -> None:
    first = runs.run_now(dacs_db, Destination(tmp_path), "Pat")
    second = runs.run_now(dacs_db, Destination(tmp_path), "Pat", clock.now() + timedelta(microseconds=5))

    assert (first["computedAt"], second["computedAt"]) == ("2026-11-23T01:59:00.000Z", "2026-11-23T01:59:01.000Z")
    assert (tmp_path / "scores" / first["fileName"]).exists() and (tmp_path / "scores" / second["fileName"]).exists()


def test_a_run_that_fails_is_failed_and_leaves_the_previous_scores(dacs_db: Engine, clock: ManualClock,
                                                                   tmp_path: Path) -> None:
    runs.run_now(dacs_db, Destination(tmp_path), "Pat")
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the pickup directory should be")
    clock.advance(timedelta(seconds=1))

    with pytest.raises(OSError):
        runs.run_now(dacs_db, Destination(tmp_path, pickup_dir=blocked), "Pat")

    latest = runs.runs(dacs_db)[0]
    assert latest["status"] == "FAILED" and "FileExistsError" in latest["error"]
    with reading(dacs_db) as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(device_scores)).scalar_one() == 1


def test_the_program_system_runs_the_schedule_as_a_task_unless_it_is_off(tmp_path: Path) -> None:
    [task] = score_tasks(Settings(data_dir=tmp_path))

    assert (task.name, task.every_s) == ("daily-score-run", 10.0)
    assert score_tasks(Settings(data_dir=tmp_path, score_run_hour=-1)) == []
    with pytest.raises(ConfigError):
        score_tasks(Settings(data_dir=tmp_path, score_run_hour=24))


def test_the_task_runs_todays_run_once_the_shared_clock_passes_the_hour(
        dacs_db: Engine, clock: ManualClock, tmp_path: Path) -> None:
    [task] = score_tasks(Settings(data_dir=tmp_path, score_run_hour=HOUR))

    before = task.run(dacs_db)
    clock.advance(timedelta(minutes=1))

    assert before is None and task.run(dacs_db) is not None and task.run(dacs_db) is None
