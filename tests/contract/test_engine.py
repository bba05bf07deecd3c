"""Engine contract: what the hub relies on from the durable engine, on SQLite and on PostgreSQL — a workflow
started twice under one key runs once, durable sleep, cron schedules."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from dbos import DBOS

from derbridge.hub import engine
from derbridge.store.testing import drop_postgres_database, fresh_postgres_database
from tests.conftest import BACKENDS, postgres_or_skip

runs: dict[str, int] = {}
lock = threading.Lock()


def count(name: str) -> int:
    with lock:
        runs[name] = runs.get(name, 0) + 1
        return runs[name]


@engine.step()
def counted_step(name: str) -> int:
    return count(name)


@engine.workflow()
def keyed_flow(name: str, value: int) -> int:
    counted_step(name)
    return value


@engine.workflow()
def sleeps(seconds: float) -> str:
    engine.sleep(seconds)
    return "woke"


@engine.workflow()
def tick(_scheduled: object, _actual: object) -> None:
    count("tick")


@pytest.fixture(scope="module", params=BACKENDS)
def launched(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "postgresql":
        url = fresh_postgres_database(postgres_or_skip(), "derbridge_engine")
    else:
        url = f"sqlite:///{Path(tmp_path_factory.mktemp('engine')) / 'engine.sqlite'}"
    engine.launch(url, executor_id="contract-tests", polling_interval_s=0.01)
    yield request.param
    engine.shutdown()
    if request.param == "postgresql":
        drop_postgres_database(url)


def unique(name: str, backend: str) -> str:
    return f"{name}-{backend}-{time.monotonic_ns()}"


def result_of(key: str) -> object:
    """The workflow's result once it has finished (read through DBOS itself: the hub never waits on one)."""
    return DBOS.retrieve_workflow(key).get_result(polling_interval_sec=0.02)


def eventually(condition: Callable[[], bool], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "the condition did not hold in time"
        time.sleep(0.05)


def test_a_flow_started_twice_with_one_key_runs_once(launched: str) -> None:
    name = unique("keyed", launched)
    assert engine.start(name, keyed_flow, name, 1) == name
    engine.start(name, keyed_flow, name, 2)
    assert result_of(name) == 1
    assert runs[name] == 1


def test_durable_sleep_sleeps_then_the_flow_goes_on(launched: str) -> None:
    key = unique("sleeps", launched)
    started = time.monotonic()
    engine.start(key, sleeps, 0.2)
    assert result_of(key) == "woke"
    assert time.monotonic() - started >= 0.2


def test_a_cron_schedule_fires(launched: str) -> None:
    before = runs.get("tick", 0)
    engine.schedule(unique("every-second", launched), "* * * * * *", tick)
    eventually(lambda: runs.get("tick", 0) > before, timeout_s=40)
