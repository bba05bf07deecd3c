"""Engine contract: what flows rely on from the durable engine, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

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
def waits_for_reply(timeout_s: float) -> object:
    return engine.wait_reply("reply", timeout_s)


@engine.workflow()
def sleeps(seconds: float) -> str:
    engine.sleep(seconds)
    return "woke"


@engine.workflow()
def fails_first_time(name: str) -> str:
    counted_step(name)
    if failing_once.pop(name, False):
        raise RuntimeError("target refused")
    return "ok"


failing_once: dict[str, bool] = {}


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


def test_a_flow_started_twice_with_one_key_runs_once(launched: str) -> None:
    name = unique("keyed", launched)
    engine.start(name, keyed_flow, name, 1)
    engine.start(name, keyed_flow, name, 2)
    assert engine.result(name, timeout_s=10) == 1
    assert runs[name] == 1
    assert engine.status(name) == "SUCCESS"


def test_a_correlated_reply_reaches_the_waiting_flow(launched: str) -> None:
    key = unique("reply", launched)
    engine.start(key, waits_for_reply, 10.0)
    engine.deliver_reply(key, "reply", {"status": "ONLINE"})
    assert engine.result(key, timeout_s=10) == {"status": "ONLINE"}


def test_waiting_for_a_reply_times_out_with_none(launched: str) -> None:
    key = unique("silent", launched)
    started = time.monotonic()
    engine.start(key, waits_for_reply, 0.3)
    assert engine.result(key, timeout_s=10) is None
    assert time.monotonic() - started >= 0.3


def test_durable_sleep_sleeps(launched: str) -> None:
    key = unique("sleep", launched)
    started = time.monotonic()
    assert engine.run(key, sleeps, 0.2) == "woke"
    assert time.monotonic() - started >= 0.2


def test_a_queue_runs_its_flows(launched: str) -> None:
    queue = unique("queue", launched)
    engine.register_queue(queue, concurrency=2)
    keys = [engine.enqueue(queue, unique(f"queued{i}", launched), keyed_flow, unique("q", launched), i)
            for i in range(5)]
    assert [engine.result(key, timeout_s=20) for key in keys] == [0, 1, 2, 3, 4]


def test_a_failed_flow_can_be_resubmitted(launched: str) -> None:
    key = unique("resubmit", launched)
    failing_once[key] = True
    with pytest.raises(RuntimeError, match="target refused"):
        engine.run(key, fails_first_time, key)
    assert engine.status(key) == "ERROR"
    forked = engine.resubmit(key, from_step=1)
    assert engine.result(forked, timeout_s=10) == "ok"
    assert runs[key] == 2


def test_a_cron_schedule_fires(launched: str) -> None:
    before = runs.get("tick", 0)
    engine.schedule(unique("every-second", launched), "* * * * * *", tick)
    deadline = time.monotonic() + 40
    while runs.get("tick", 0) == before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert runs.get("tick", 0) > before
