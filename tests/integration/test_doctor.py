"""`derbridge doctor` against the reference systems running on loopback: every line ✓ and exit 0 when the
peers, lookups and notification recipients are in order; exit 1 naming each failure when a peer is down,
a secret is wrong, a model of DERMS's registry has no mapping and the SMTP server refuses."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from derbridge.bootstrap import BackgroundSystems, free_port
from derbridge.cli import app
from derbridge.config import Settings
from derbridge.derms.schema import devices
from derbridge.store.db import make_engine
from derbridge.web.auth import credentials_path
from tests.integration.conftest import cli_config
from tests.notify_helpers import smtp_server, webhook_server
from tests.registry import enroll

SECRET = "doctor-webhook-secret"
MARKS = re.compile(r"^([✓✗–]) (\S.*?)\s{2,}(.*)$")


@pytest.fixture
def stack(stack_settings: Settings) -> Iterator[BackgroundSystems]:
    with BackgroundSystems(("hub", "dacs", "derms"), stack_settings) as running:
        yield running


def registry_holds(settings: Settings, specification: str, device_type: str, nic_ids: list[str]) -> None:
    """DERMS's registry with these devices, as enrollment syncs would have left them."""
    engine = make_engine(settings.database_url("derms"))
    enroll(engine, "SMARTSTAT", f"S{abs(hash(specification)) % 10**10:010d}", nic_ids)
    with engine.begin() as connection:
        connection.execute(sa.update(devices).where(devices.c.nic_id.in_(nic_ids))
                           .values(specification=specification, device_type=device_type))
    engine.dispose()


def doctor(config: Path) -> tuple[int, dict[str, tuple[str, str]]]:
    """The exit code and each check's mark and reason, by what it checks."""
    result = CliRunner().invoke(app, ["doctor", "--config", str(config)])
    lines = [MARKS.match(line) for line in result.output.splitlines()]
    return result.exit_code, {m.group(2): (m.group(1), m.group(3)) for m in lines if m}


def test_against_healthy_reference_systems_every_check_passes(stack: BackgroundSystems, tmp_path: Path) -> None:
    registry_holds(stack.settings, "ECOTHERM!ET300", "SMART-THERMOSTAT", ["ECO-DOC-1", "ECO-DOC-2"])
    registry_holds(stack.settings, "TSTAT-ECO-ET500", "SMART-THERMOSTAT", ["ECO-DOC-3"])
    with smtp_server() as mailbox, webhook_server() as hook:
        config = cli_config(stack.settings, tmp_path)
        config.write_text(config.read_text() + f'[notify]\ntechnical = ["ops@utility.example", "{hook.url}"]\n'
                          f'business = ["programs@utility.example"]\nsmtp_url = "{mailbox.url}"\n'
                          f'webhook_secret = "{SECRET}"\n')
        code, checks = doctor(config)
        assert {mark for mark, _why in checks.values()} == {"✓"}, checks
        assert code == 0
        assert len(mailbox.received) == 2 and len(hook.requests) == 1
    assert set(checks) == {
        "hub reachable", "hub credentials", "dacs reachable", "dacs credentials", "derms reachable",
        "derms credentials", "lookup routing", "lookup divisions", "lookup specifications", "lookup device types",
        "notify ops@utility.example", f"notify {hook.url}", "notify programs@utility.example"}
    assert "2 specifications of DERMS's registry (3 devices), each with a row" in checks["lookup specifications"][1]
    assert "ELEC-N → LEC-ELEC-N" in checks["lookup divisions"][1]


def test_a_broken_configuration_fails_naming_each_failure(stack: BackgroundSystems, tmp_path: Path) -> None:
    registry_holds(stack.settings, "ACME!ROCKET", "SMART-THERMOSTAT", ["ACME-1", "ACME-2"])
    credentials = json.loads(credentials_path(stack.settings).read_text())
    credentials["derms"]["hub"] = "not-the-secret"  # the hub would present a wrong secret to DERMS
    data_dir = tmp_path / "hub-side"
    data_dir.mkdir()
    (data_dir / "credentials.json").write_text(json.dumps(credentials))
    with smtp_server(refuse=True) as mailbox:
        config = tmp_path / "derbridge.toml"
        config.write_text(f'data_dir = "{data_dir}"\nhub_port = {stack.settings.hub_port}\n'
                          f'dacs_port = {free_port()}\nderms_port = {stack.settings.derms_port}\n'
                          f'notify_technical = "ops@utility.example"\nnotify_smtp_url = "{mailbox.url}"\n')
        code, checks = doctor(config)
    assert code == 1
    failed = {what: why for what, (mark, why) in checks.items() if mark == "✗"}
    assert set(failed) == {"dacs reachable", "derms credentials", "lookup specifications",
                           "notify ops@utility.example"}, checks
    assert "ConnectError" in failed["dacs reachable"]
    assert "401" in failed["derms credentials"]
    assert "ACME!ROCKET (2 devices)" in failed["lookup specifications"]
    assert "SMTP 550" in failed["notify ops@utility.example"]
    assert checks["hub credentials"][0] == checks["lookup routing"][0] == "✓"
