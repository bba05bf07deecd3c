"""One in-process stack (hub, program system, DERMS on loopback) per back end, shared by a module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from derbridge.bootstrap import BackgroundSystems, local_settings
from derbridge.config import Settings
from derbridge.store.testing import drop_postgres_database, fresh_postgres_database
from tests.conftest import BACKENDS, FAST_RETRIES, postgres_or_skip


def stack_on(backend: str, tmp_path_factory: pytest.TempPathFactory, **overrides: Any) -> Iterator[BackgroundSystems]:
    """A running stack on `backend` with these settings changed; stopped and its databases dropped afterwards."""
    settings: Settings = local_settings(Path(tmp_path_factory.mktemp("stack")), **{**FAST_RETRIES, **overrides})
    urls: dict[str, str] = {}
    if backend == "postgresql":
        server = postgres_or_skip()
        urls = {f"{s}_database_url": fresh_postgres_database(server, f"derbridge_{s}")
                for s in ("hub", "dacs", "derms", "engine")}
        settings = settings.with_overrides(**urls)
    stack = BackgroundSystems(("hub", "dacs", "derms"), settings).start()
    yield stack
    stack.stop()
    for url in urls.values():
        drop_postgres_database(url)


@pytest.fixture(scope="module", params=BACKENDS)
def running_stack(request: pytest.FixtureRequest,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundSystems]:
    yield from stack_on(request.param, tmp_path_factory)
