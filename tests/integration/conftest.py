"""One in-process stack (hub, program system, DERMS on loopback) per back end, shared by a module."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from derbridge.bootstrap import BackgroundSystems, local_settings
from derbridge.config import Settings
from derbridge.store.testing import drop_postgres_database, fresh_postgres_database
from tests.conftest import BACKENDS, FAST_RETRIES, postgres_or_skip


def stack_on(backend: str, tmp_path_factory: pytest.TempPathFactory,
             systems: tuple[str, ...] = ("hub", "dacs", "derms"), **overrides: Any) -> Iterator[BackgroundSystems]:
    """The systems running on `backend` with these settings changed (the others are not there: nothing listens
    on their ports); stopped and their databases dropped afterwards."""
    settings: Settings = local_settings(Path(tmp_path_factory.mktemp("stack")), **{**FAST_RETRIES, **overrides})
    urls: dict[str, str] = {}
    if backend == "postgresql":
        server = postgres_or_skip()
        urls = {f"{s}_database_url": fresh_postgres_database(server, f"derbridge_{s}")
                for s in ("hub", "dacs", "derms", "engine")}
        settings = settings.with_overrides(**urls)
    stack = BackgroundSystems(systems, settings).start()
    yield stack
    stack.stop()
    for url in urls.values():
        drop_postgres_database(url)


@pytest.fixture(scope="module", params=BACKENDS)
def running_stack(request: pytest.FixtureRequest,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundSystems]:
    yield from stack_on(request.param, tmp_path_factory)


def printed_json(output: str) -> Any:
    """The JSON a command printed, among the log lines the in-process stack writes to the same stream."""
    for match in re.finditer(r"^[\[{]", output, re.M):
        try:
            return json.JSONDecoder().raw_decode(output, match.start())[0]
        except json.JSONDecodeError:
            continue
    raise AssertionError(f"no JSON printed: {output!r}")


def cli_config(settings: Settings, directory: Path) -> Path:
    """A configuration file that points the command line at systems running with `settings`."""
    path = directory / "derbridge.toml"
    path.write_text(f'data_dir = "{settings.data_dir}"\nhub_port = {settings.hub_port}\n'
                    f'dacs_port = {settings.dacs_port}\nderms_port = {settings.derms_port}\n')
    return path
