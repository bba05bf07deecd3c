"""The hub's scheduled pickup of score files (F7, for a program system that only drops them), from a local
directory and from a real SFTP server on loopback: a complete file (its sidecar there) reaches DERMS and is
renamed Sent-…; a file whose sidecar disagrees is refused and renamed Error-…; a file without its sidecar
waits; a run that finds nothing says so."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from derbridge.bootstrap import BackgroundSystems
from derbridge.hub.schema import notification_events
from derbridge.store.db import make_engine
from derbridge.web.operator import checked, operator_client, wait_for
from tests.conftest import BACKENDS
from tests.integration.conftest import stack_on
from tests.sftp_server import SftpServer

HEADER = "deviceId,nicId,headEndSystem,programCode,subscriptionId,score,eligible,reason,computedAt,components\n"
TIMEOUT_S = 30


@pytest.fixture(scope="module", params=[(backend, source) for backend in BACKENDS for source in ("directory", "sftp")],
                ids=lambda param: "-".join(param))
def pickup(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[BackgroundSystems, Path]]:
    """The hub and DERMS, the hub picking up from a directory: itself, or the same directory served by SFTP."""
    backend, kind = request.param
    root = tmp_path_factory.mktemp("root")
    directory = root / "drop"
    directory.mkdir()
    with contextlib.ExitStack() as stack:
        settings: dict[str, Any] = {"score_pickup_source": str(directory)}
        if kind == "sftp":
            server = stack.enter_context(SftpServer(root))
            settings = {"score_pickup_source": server.url("drop"), "score_pickup_known_hosts": str(server.known_hosts)}
        for running in stack_on(backend, tmp_path_factory, ("hub", "derms"), score_pickup_every_s=0.3, **settings):
            yield running, directory


def drop(directory: Path, stamp: str, sidecar: str | None = None, sidecar_too: bool = True) -> str:
    """A score file of one device computed at `stamp` (YYYYMMDDTHHMMSS) and its sidecar; its name."""
    at = f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[9:11]}:{stamp[11:13]}:{stamp[13:15]}.000Z"
    name = f"SDCSE_V1_{stamp}Z.csv"
    body = (HEADER + f"D1,N1,ECOCLOUD,SMARTSTAT,U1,42.5,true,,{at},SC=42.5\n").encode()
    (directory / f".{name}.partial").write_bytes(body)
    (directory / f".{name}.partial").replace(directory / name)
    if sidecar_too:
        (directory / f"{name}.sha256").write_text(f"{sidecar or hashlib.sha256(body).hexdigest()}  {name}\n")
    return name


def in_force(stack: BackgroundSystems, name: str) -> dict[str, Any]:
    with operator_client(stack.settings, "derms") as derms:
        return dict(wait_for(lambda: next((s for s in checked(derms.get("/api/score-sets"))
                                           if s["fileName"] == name and s["inForce"]), None), TIMEOUT_S, name))


def events(stack: BackgroundSystems, kind: str) -> list[Any]:
    engine = make_engine(stack.settings.database_url("hub"))
    try:
        with engine.connect() as connection:
            return list(connection.execute(sa.select(notification_events).where(
                notification_events.c.flow == "F7", notification_events.c.event == kind)))
    finally:
        engine.dispose()


def test_a_run_that_finds_nothing_says_so(pickup: tuple[BackgroundSystems, Path]) -> None:
    stack, _directory = pickup
    found = wait_for(lambda: events(stack, "no-file"), TIMEOUT_S, "a no-file event")
    assert "SDCSE_*.csv" in found[0].business_key


def test_a_complete_file_reaches_derms_and_is_renamed_sent(pickup: tuple[BackgroundSystems, Path]) -> None:
    stack, directory = pickup
    name = drop(directory, "20261201T020000")
    assert in_force(stack, name)["rows"] == 1
    wait_for(lambda: (directory / f"Sent-{name}").exists() and (directory / f"Sent-{name}.sha256").exists(),
             TIMEOUT_S, "renamed Sent-")
    assert not (directory / name).exists()
    with operator_client(stack.settings, "hub") as hub:
        [message] = checked(hub.get("/hub/api/messages", params={"key": name}))
    assert (message["flow"], message["kind"]) == ("F7", "device-scores")


def test_a_file_waits_for_its_sidecar_and_the_next_run_takes_it(pickup: tuple[BackgroundSystems, Path]) -> None:
    stack, directory = pickup
    name = drop(directory, "20261202T020000", sidecar_too=False)
    wait_for(lambda: len(events(stack, "no-file")) >= 2, TIMEOUT_S, "a run that left it")
    assert (directory / name).exists(), "without its sidecar the file may be incomplete: left alone"
    body = (directory / name).read_bytes()
    (directory / f"{name}.sha256").write_text(f"{hashlib.sha256(body).hexdigest()}  {name}\n")
    in_force(stack, name)
    wait_for(lambda: (directory / f"Sent-{name}").exists(), TIMEOUT_S, "renamed Sent-")


def test_a_file_its_sidecar_disagrees_with_is_refused_and_renamed_error(
        pickup: tuple[BackgroundSystems, Path]) -> None:
    stack, directory = pickup
    name = drop(directory, "20261203T020000", sidecar="0" * 64)
    wait_for(lambda: (directory / f"Error-{name}").exists() and (directory / f"Error-{name}.sha256").exists(),
             TIMEOUT_S, "renamed Error-")
    wait_for(lambda: events(stack, "intake-refused"), TIMEOUT_S, "an intake-refused event")
    with operator_client(stack.settings, "hub") as hub:
        rejected = checked(hub.get("/hub/api/messages", params={"status": "REJECTED", "flow": "F7"}))
        kept = checked(hub.get(f"/hub/api/messages/{rejected[0]['id']}"))
    assert name in str(kept) and "checksum_mismatch" in str(kept)
    with operator_client(stack.settings, "derms") as derms:
        assert all(s["fileName"] != name for s in checked(derms.get("/api/score-sets")))
