"""`derbridge lookups` against a running hub: edits under the person named, bad files refused naming row and
column, export and import round trip, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from derbridge.bootstrap import BackgroundSystems
from derbridge.cli import app
from derbridge.hub.lookup_catalog import ASSET_SPEC, EVENT_TYPE
from tests.integration.conftest import cli_config


@pytest.fixture(scope="module")
def config(running_stack: BackgroundSystems, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A configuration file that points the command line at the running stack."""
    return cli_config(running_stack.settings, tmp_path_factory.mktemp("cli"))


def run(config: Path, *args: str) -> Result:
    command, *rest = args
    return CliRunner().invoke(app, ["lookups", command, *rest, "--config", str(config)], env={"COLUMNS": "200"})


def test_set_adds_a_row_the_hub_translates_with_and_history_names_the_person(config: Path) -> None:
    done = run(config, "set", ASSET_SPEC, "--key", "DERMS=ECOTHERM!ET900", "--value", "DACS=TSTAT-ECO-ET900",
               "--actor", "Dana Operator")
    assert done.exit_code == 0, done.output
    assert "add ECOTHERM!ET900" in done.output
    translated = run(config, "translate", ASSET_SPEC, "--from", "DERMS", "--key", "ECOTHERM!ET900", "--to", "DACS")
    assert translated.output.strip() == "TSTAT-ECO-ET900"
    history = run(config, "history", ASSET_SPEC, "--json")
    assert json.loads(history.output)[0]["person"] == "Dana Operator"


def test_a_bad_csv_is_refused_naming_row_and_column_and_nothing_changes(config: Path, tmp_path: Path) -> None:
    before = json.loads(run(config, "show", EVENT_TYPE, "--json").output)
    bad = tmp_path / "events.csv"
    bad.write_text("DERMS,DACS\nECONOMIC,X1EC\nSHED,\n")
    refused = run(config, "import", str(bad), "--name", EVENT_TYPE, "--replace")
    assert refused.exit_code == 1
    assert "rows.2.DACS" in refused.output and "empty" in refused.output
    assert json.loads(run(config, "show", EVENT_TYPE, "--json").output) == before


def test_export_then_import_changes_nothing(config: Path, tmp_path: Path) -> None:
    csv_file = tmp_path / f"{EVENT_TYPE}.csv"
    assert run(config, "export", EVENT_TYPE, "--format", "csv", "--out", str(csv_file)).exit_code == 0
    assert csv_file.read_text().startswith("DERMS,DACS\n")
    again = run(config, "import", str(csv_file), "--replace")
    assert again.exit_code == 0, again.output
    everything = tmp_path / "all.json"
    assert run(config, "export", "--out", str(everything)).exit_code == 0
    merged = run(config, "import", str(everything))
    assert merged.exit_code == 0 and ASSET_SPEC in merged.output


def test_list_and_show_print_tables(config: Path) -> None:
    listed = run(config, "list")
    assert listed.exit_code == 0 and EVENT_TYPE in listed.output and "DERMS*, DACS*" in listed.output
    shown = run(config, "show", EVENT_TYPE)
    assert shown.exit_code == 0 and "X1EM" in shown.output


@pytest.mark.parametrize(("args", "message"), [
    (("set", EVENT_TYPE, "--key", "DERMS", "--value", "DACS=X"), "COLUMN=VALUE"),
    (("export", "--format", "csv"), "holds one lookup"),
    (("show", "NoSuchLookup"), "no lookup 'NoSuchLookup'"),
    (("delete-row", EVENT_TYPE, "--key", "DERMS=NOT-THERE"), "no row has"),
])
def test_mistakes_end_with_a_clear_message_and_a_failing_exit_code(config: Path, args: tuple[str, ...],
                                                                   message: str) -> None:
    result = run(config, *args)
    assert result.exit_code != 0
    assert message in result.output
