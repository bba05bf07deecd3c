"""A cloud in a process of its own, asked over HTTP: the same answers as in-process, and any fault of the whole
request is the head end being unavailable, answered per device by the gateway."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx2
import pytest
import uvicorn

from derbridge.bootstrap import free_port, local_settings
from derbridge.config import ConfigError, Settings
from derbridge.derms.headend.client import HttpHeadEnd
from derbridge.derms.headend.gateway import Gateway
from derbridge.derms.headend.model import HeadEndUnavailable
from derbridge.derms.headend.service import create_app
from derbridge.derms.headend.setup import parse_headends
from derbridge.derms.headend.simulator import DATASET_AS_OF, CloudProfile, SimulatedCloud
from derbridge.web.auth import outbound_credential
from derbridge.web.operator import wait_for
from tests.unit.test_headend import NOW, fleet


@dataclass
class ServedCloud:
    settings: Settings
    cloud: SimulatedCloud
    url: str

    def head_end(self, credential: str | None = None) -> HttpHeadEnd:
        given = outbound_credential(self.settings, "derms", "headend") if credential is None else credential
        return HttpHeadEnd(self.cloud.name, self.url, given, timeout_s=5.0)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServedCloud]:
    settings = local_settings(tmp_path)
    devices = fleet(("ECO-1", True, DATASET_AS_OF - timedelta(minutes=3)),
                    ("ECO-2", False, DATASET_AS_OF - timedelta(days=2)))
    cloud = SimulatedCloud(CloudProfile("ECOCLOUD", reporting_lag_s=1.5), devices, clock=lambda: NOW)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(cloud, settings), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    wait_for(lambda: server.started, 15, "the cloud to listen")
    yield ServedCloud(settings, cloud, f"http://127.0.0.1:{port}")
    server.should_exit = True
    thread.join(timeout=15)


def test_statuses_over_http_are_the_clouds_own_and_carry_its_reporting_lag(served: ServedCloud) -> None:
    head_end = served.head_end()
    assert head_end.reporting_lag_s == 0.0, "nothing is known before the cloud has answered"
    answers = head_end.latest_status(["ECO-1", "ECO-2", "ECO-404"])
    assert answers == served.cloud.latest_status(["ECO-1", "ECO-2", "ECO-404"])
    assert [(a.known, a.online) for a in answers] == [(True, True), (True, False), (False, False)]
    assert answers[1].last_seen == NOW - timedelta(days=2)
    assert head_end.reporting_lag_s == 1.5
    head_end.close()


def test_registrations_over_http_change_what_the_cloud_holds(served: ServedCloud) -> None:
    head_end = served.head_end()
    assert [(r.nic_id, r.ok) for r in head_end.register(["ECO-1", "ECO-404"])] == [("ECO-1", True),
                                                                                   ("ECO-404", False)]
    assert served.cloud.is_registered("ECO-1")
    assert [r.registered for r in head_end.deregister(["ECO-1"])] == [False]
    assert not served.cloud.is_registered("ECO-1")
    head_end.close()


def test_a_wrong_credential_makes_the_head_end_unavailable_naming_the_answer(served: ServedCloud) -> None:
    head_end = served.head_end("derms:not-the-secret")
    with pytest.raises(HeadEndUnavailable, match="HTTP 401"):
        head_end.latest_status(["ECO-1"])
    head_end.close()


def test_an_operator_may_change_the_fleet_but_the_gateway_credential_may_not(served: ServedCloud) -> None:
    device = {"nicId": "ECO-9", "serialNo": "E9", "make": "ECOTHERM", "model": "ET500"}
    with httpx2.Client(base_url=served.url, auth=httpx2.BasicAuth(
            *outbound_credential(served.settings, "derms", "headend").split(":", 1))) as gateway:
        assert gateway.post("/fleet/devices", json=device).status_code == 403
    operator = outbound_credential(served.settings, "operator", "headend")
    with httpx2.Client(base_url=served.url, auth=httpx2.BasicAuth(*operator.split(":", 1))) as client:
        assert client.post("/fleet/devices", json=device).status_code == 201
        assert client.put("/fleet/devices/ECO-1/online", json={"online": False}).json()["online"] is False
        assert client.put("/fleet/devices/ECO-404/online", json={"online": False}).status_code == 404
        statistics = client.get("/fleet").json()
    assert (statistics["devices"], statistics["online"], statistics["reportingLagS"]) == (3, 1, 1.5)


def test_a_cloud_that_does_not_listen_is_unavailable_for_each_of_its_devices(tmp_path: Path) -> None:
    head_end = HttpHeadEnd("NESTLIKE", f"http://127.0.0.1:{free_port()}", "derms:x", timeout_s=2.0)
    with pytest.raises(HeadEndUnavailable, match="Connect"):
        head_end.latest_status(["N-1"])
    answers = Gateway([head_end]).latest_status([("NESTLIKE", "N-1"), ("NESTLIKE", "N-2")])
    assert [a.message.startswith("NESTLIKE unavailable: ") for a in answers.values()] == [True, True]
    head_end.close()


@pytest.mark.parametrize(("status", "body"), [(503, b"down for maintenance"), (200, b"not json"),
                                              (200, b'{"devices": [{"nicId": "OTHER", "known": true}]}')])
def test_a_broken_answer_is_the_head_end_being_unavailable(status: int, body: bytes) -> None:
    transport = httpx2.MockTransport(lambda request: httpx2.Response(status, content=body))
    head_end = HttpHeadEnd("HOMEGRID", "http://cloud.invalid", "derms:x", transport=transport)
    with pytest.raises(HeadEndUnavailable):
        head_end.register(["H-1"])
    head_end.close()


def test_the_headends_setting_names_each_cloud_and_where_it_runs() -> None:
    entries = parse_headends("ECOCLOUD lag=2 status_failure_rate=0.1 seed=7, NESTLIKE url=http://127.0.0.1:8481,"
                             " HOMEGRID,")
    assert [(e.name, e.url) for e in entries] == [("ECOCLOUD", ""), ("NESTLIKE", "http://127.0.0.1:8481"),
                                                  ("HOMEGRID", "")]
    assert entries[0].profile == CloudProfile("ECOCLOUD", reporting_lag_s=2.0, status_failure_rate=0.1, seed=7)


@pytest.mark.parametrize(("text", "named"), [
    ("ECOCLOUD speed=3", "unknown option 'speed'"),
    ("ECOCLOUD lag", "not key=value"),
    ("ECOCLOUD lag=soon", "not a number"),
    ("ECOCLOUD status_failure_rate=1.5", "out of range"),
    ("ECOCLOUD url=http://x lag=1", "profile where it runs"),
    ("ECOCLOUD, ECOCLOUD", "more than once"),
    ("ECO/CLOUD", "not a head-end system name"),
])
def test_a_bad_headends_setting_is_refused_naming_the_problem(text: str, named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        parse_headends(text)
