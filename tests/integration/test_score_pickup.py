"""The hub's scheduled pickup of score files (F7, for a program system that only drops them), from a local
directory, a real SFTP server and a real S3-compatible server (moto) on loopback: a complete file (its sidecar
there) reaches DERMS and is renamed Sent-…; a file whose sidecar disagrees is refused and renamed Error-…; a
file without its sidecar waits for the next run; a run that finds nothing says so. An SFTP server whose host key
is not known is refused."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import asyncssh
import boto3
import pytest
import sqlalchemy as sa
from moto.server import ThreadedMotoServer

from derbridge.bootstrap import BackgroundSystems, free_port
from derbridge.cli.hub.doctor_checks import pickup_checks
from derbridge.config import load_settings
from derbridge.hub.pickup.sftp import SftpDirectory
from derbridge.hub.schema import notification_events
from derbridge.store.db import make_engine
from derbridge.web.operator import checked, operator_client, wait_for
from tests.conftest import BACKENDS
from tests.integration.conftest import stack_on
from tests.sftp_server import SftpServer

HEADER = "deviceId,nicId,headEndSystem,programCode,subscriptionId,score,eligible,reason,computedAt,components\n"
TIMEOUT_S = 30
SOURCES = ("directory", "sftp", "s3")


class Place(Protocol):
    """Where the program system drops its files, as the test sees it."""

    def put(self, name: str, body: bytes) -> None: ...

    def exists(self, name: str) -> bool: ...

    def read(self, name: str) -> bytes: ...


class Directory:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def put(self, name: str, body: bytes) -> None:
        (self.directory / f".{name}.partial").write_bytes(body)
        (self.directory / f".{name}.partial").replace(self.directory / name)

    def exists(self, name: str) -> bool:
        return (self.directory / name).exists()

    def read(self, name: str) -> bytes:
        return (self.directory / name).read_bytes()


class Bucket:
    def __init__(self, client: Any, bucket: str, prefix: str) -> None:
        self.client, self.bucket, self.prefix = client, bucket, prefix

    def put(self, name: str, body: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=f"{self.prefix}{name}", Body=body)

    def exists(self, name: str) -> bool:
        listed = self.client.list_objects_v2(Bucket=self.bucket, Prefix=f"{self.prefix}{name}")
        return any(item["Key"] == f"{self.prefix}{name}" for item in listed.get("Contents", []))

    def read(self, name: str) -> bytes:
        return bytes(self.client.get_object(Bucket=self.bucket, Key=f"{self.prefix}{name}")["Body"].read())


@contextlib.contextmanager
def source(kind: str, root: Path) -> Iterator[tuple[Place, dict[str, Any]]]:
    """The drop place of `kind` and the hub's settings to pick up from it."""
    directory = root / "drop"
    directory.mkdir()
    if kind == "directory":
        yield Directory(directory), {"score_pickup_source": str(directory)}
    elif kind == "sftp":
        with SftpServer(root) as server:
            yield Directory(directory), {"score_pickup_source": server.url("drop"),
                                         "score_pickup_known_hosts": str(server.known_hosts)}
    else:
        port = free_port()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        try:
            keys = {"score_pickup_s3_endpoint": f"http://127.0.0.1:{port}", "score_pickup_s3_access_key": "test",
                    "score_pickup_s3_secret_key": "test-secret"}
            client = boto3.client("s3", endpoint_url=keys["score_pickup_s3_endpoint"], region_name="us-east-1",
                                  aws_access_key_id="test", aws_secret_access_key="test-secret")
            client.create_bucket(Bucket="utility-scores")
            yield Bucket(client, "utility-scores", "sdcse/"), {"score_pickup_source": "s3://utility-scores/sdcse",
                                                              **keys}
        finally:
            server.stop()


@pytest.fixture(scope="module", params=[(backend, kind) for backend in BACKENDS for kind in SOURCES],
                ids=lambda param: "-".join(param))
def pickup(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[BackgroundSystems, Place]]:
    """The hub and DERMS, the hub picking up from the place every 0.3 s."""
    backend, kind = request.param
    with source(kind, tmp_path_factory.mktemp("root")) as (place, settings):
        for running in stack_on(backend, tmp_path_factory, ("hub", "derms"), score_pickup_every_s=0.3, **settings):
            yield running, place


def drop(place: Place, stamp: str, sidecar: str | None = None, sidecar_too: bool = True) -> str:
    """A score file of one device computed at `stamp` (YYYYMMDDTHHMMSS) and its sidecar; its name."""
    at = f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[9:11]}:{stamp[11:13]}:{stamp[13:15]}.000Z"
    name = f"SDCSE_V1_{stamp}Z.csv"
    body = (HEADER + f"D1,N1,ECOCLOUD,SMARTSTAT,U1,42.5,true,,{at},SC=42.5\n").encode()
    place.put(name, body)
    if sidecar_too:
        place.put(f"{name}.sha256", f"{sidecar or hashlib.sha256(body).hexdigest()}  {name}\n".encode())
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


def test_a_run_that_finds_nothing_says_so(pickup: tuple[BackgroundSystems, Place]) -> None:
    stack, _place = pickup
    found = wait_for(lambda: events(stack, "no-file"), TIMEOUT_S, "a no-file event")
    assert "SDCSE_*.csv" in found[0].business_key


def test_a_complete_file_reaches_derms_and_is_renamed_sent(pickup: tuple[BackgroundSystems, Place]) -> None:
    stack, place = pickup
    name = drop(place, "20261201T020000")
    assert in_force(stack, name)["rows"] == 1
    wait_for(lambda: place.exists(f"Sent-{name}") and place.exists(f"Sent-{name}.sha256"), TIMEOUT_S,
             "renamed Sent-")
    assert not place.exists(name)
    with operator_client(stack.settings, "hub") as hub:
        [message] = checked(hub.get("/hub/api/messages", params={"key": name}))
    assert (message["flow"], message["kind"]) == ("F7", "device-scores")
    completed = wait_for(lambda: [e for e in events(stack, "completion") if e.business_key == name], TIMEOUT_S,
                         "a completion event")
    assert completed[0].message_id == message["id"]


def test_a_file_waits_for_its_sidecar_and_the_next_run_takes_it(pickup: tuple[BackgroundSystems, Place]) -> None:
    stack, place = pickup
    name = drop(place, "20261202T020000", sidecar_too=False)
    before = len(events(stack, "no-file"))
    wait_for(lambda: len(events(stack, "no-file")) > before, TIMEOUT_S, "a run that left it")
    assert place.exists(name), "without its sidecar the file may be incomplete: left alone"
    place.put(f"{name}.sha256", f"{hashlib.sha256(place.read(name)).hexdigest()}  {name}\n".encode())
    in_force(stack, name)
    wait_for(lambda: place.exists(f"Sent-{name}"), TIMEOUT_S, "renamed Sent-")


def test_a_file_its_sidecar_disagrees_with_is_refused_and_renamed_error(
        pickup: tuple[BackgroundSystems, Place]) -> None:
    stack, place = pickup
    name = drop(place, "20261203T020000", sidecar="0" * 64)
    wait_for(lambda: place.exists(f"Error-{name}") and place.exists(f"Error-{name}.sha256"), TIMEOUT_S,
             "renamed Error-")
    wait_for(lambda: events(stack, "intake-refused"), TIMEOUT_S, "an intake-refused event")
    with operator_client(stack.settings, "hub") as hub:
        rejected = checked(hub.get("/hub/api/messages", params={"status": "REJECTED", "flow": "F7"}))
        kept = checked(hub.get(f"/hub/api/messages/{rejected[0]['id']}"))
    assert name in str(kept) and "checksum_mismatch" in str(kept)
    with operator_client(stack.settings, "derms") as derms:
        assert all(s["fileName"] != name for s in checked(derms.get("/api/score-sets")))


@pytest.mark.parametrize(("known_hosts", "listed"), [("", False), ("server", True), ("none", True)])
def test_an_sftp_server_whose_host_key_is_not_known_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, known_hosts: str, listed: bool) -> None:
    """By default the host key must be in the hub's user's own known_hosts; `none` alone turns the check off."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # a user who knows no host
    (tmp_path / "drop").mkdir()
    (tmp_path / "drop" / "SDCSE_V1_20261201T020000Z.csv").write_text(HEADER)
    with SftpServer(tmp_path) as server:
        settings = load_settings(env={"DERBRIDGE_SCORE_PICKUP_SOURCE": server.url("drop"),
                                      "DERBRIDGE_SCORE_PICKUP_KNOWN_HOSTS": str(server.known_hosts)
                                      if known_hosts == "server" else known_hosts})
        place = SftpDirectory.from_settings(settings)
        if listed:
            assert place.names() == ["SDCSE_V1_20261201T020000Z.csv"]
        else:
            with pytest.raises(asyncssh.HostKeyNotVerifiable):
                place.names()


def test_the_doctor_lists_the_pickup_place_as_the_hub_would(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "drop").mkdir()
    drop(Directory(tmp_path / "drop"), "20261201T020000")
    with SftpServer(tmp_path) as server:
        known = load_settings(env={"DERBRIDGE_SCORE_PICKUP_SOURCE": server.url("drop"),
                                   "DERBRIDGE_SCORE_PICKUP_KNOWN_HOSTS": str(server.known_hosts)})
        [listed] = pickup_checks(known)
        [refused] = pickup_checks(known.with_overrides(score_pickup_known_hosts=""))
    assert (listed.ok, listed.what) == (True, "score pickup")
    assert "1 file(s) matching SDCSE_*.csv waiting" in listed.why
    assert refused.ok is False and "HostKeyNotVerifiable" in refused.why
    assert "drop-secret" not in refused.why, "the URL's password is never shown"
    assert pickup_checks(known.with_overrides(score_pickup_source="")) == []
