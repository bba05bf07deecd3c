"""Shared fixtures: the two storage back ends, fresh settings per test, PostgreSQL skipped with a reason."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from derbridge.bootstrap import PORT_RANGE_VARIABLE, local_settings, port_range
from derbridge.config import Settings
from derbridge.store.testing import drop_postgres_database, fresh_postgres_database, server_reachable

# The machine's PostgreSQL by default; DERBRIDGE_TEST_POSTGRES_URL names another, or "" to skip those tests.
POSTGRES_URL = os.environ.get("DERBRIDGE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKENDS = ["sqlite", "postgresql"]
# Test stacks: fast retries, and no daily score run (whether it fires would depend on the hour the tests run).
FAST_RETRIES = {"retry_initial_s": 0.2, "retry_max_interval_s": 1.0, "sender_poll_s": 0.1, "log_level": "warning",
                "score_run_hour": -1}


def _a_port_band_per_worker() -> None:
    """Each pytest-xdist worker draws ports from a band of its own (its systems' subprocesses inherit it), so a
    port one worker has chosen and not yet bound is never chosen by the other."""
    worker, workers = os.environ.get("PYTEST_XDIST_WORKER", ""), os.environ.get("PYTEST_XDIST_WORKER_COUNT", "")
    if not worker.startswith("gw") or not workers:
        return
    low, high = port_range()
    width = (high - low) // int(workers)
    start = low + int(worker.removeprefix("gw")) * width
    os.environ[PORT_RANGE_VARIABLE] = f"{start}-{start + width}"


_a_port_band_per_worker()


def postgres_or_skip() -> str:
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL tests are off: DERBRIDGE_TEST_POSTGRES_URL is empty")
    reason = server_reachable(POSTGRES_URL)
    if reason:
        pytest.skip(f"PostgreSQL at DERBRIDGE_TEST_POSTGRES_URL is unreachable: {reason}")
    return POSTGRES_URL


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql":
        postgres_or_skip()
    return str(request.param)


@pytest.fixture
def database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """One empty database on the back end under test."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.sqlite'}"
        return
    url = fresh_postgres_database(POSTGRES_URL, "derbridge_test")
    yield url
    drop_postgres_database(url)


@pytest.fixture
def stack_settings(backend: str, tmp_path: Path) -> Iterator[Settings]:
    """Settings for a private three-system stack on free ports, on the back end under test."""
    settings = local_settings(tmp_path / "data", **FAST_RETRIES)
    created: list[str] = []
    if backend == "postgresql":
        urls = {f"{s}_database_url": fresh_postgres_database(POSTGRES_URL, f"derbridge_{s}")
                for s in ("hub", "dacs", "derms", "engine")}
        created = list(urls.values())
        settings = settings.with_overrides(**urls)
    yield settings
    for url in created:
        drop_postgres_database(url)
