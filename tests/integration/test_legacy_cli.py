"""`derbridge legacy` against running systems: a bad extract is refused naming the column and its rows, a
good one is loaded and, with --sync, sent to DERMS as one file whose ack registers every device."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner, Result

from derbridge.cli import app
from derbridge.dataset.generate import generate
from derbridge.scenario import utility as scenario
from tests.integration.conftest import cli_config, printed_json, stack_on


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("legacy-cli") / "dataset"
    generate(directory, 40, seed=12, thermostat_share=1.0)
    return directory


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory, dataset: Path) -> Iterator[Path]:
    """The systems (SQLite: the command line is a client; storage is tested on both back ends elsewhere) with
    the dataset's customers and programs, and a configuration file pointing at them."""
    for running in stack_on("sqlite", tmp_path_factory, headend_dataset=str(dataset)):
        scenario.load_customers(running.settings, dataset)
        scenario.set_up_programs(running.settings, *scenario.dataset_eligibility(dataset))
        yield cli_config(running.settings, tmp_path_factory.mktemp("cli"))


def run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["legacy", *args, "--config", str(config)], env={"COLUMNS": "200"})


def test_a_bad_extract_is_refused_naming_the_column_and_nothing_is_loaded(config: Path, dataset: Path,
                                                                          tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    pl.read_parquet(dataset / "enrolled_devices.parquet").with_columns(
        programCode=pl.lit("NOPROGRAM")).write_csv(bad)

    refused = run(config, "import", str(bad))

    assert refused.exit_code == 1
    assert "programCode" in refused.output
    assert printed_json(run(config, "imports", "--json").output) == []


def test_import_with_sync_loads_the_extract_and_waits_for_every_device_to_be_registered(config: Path,
                                                                                       dataset: Path) -> None:
    devices = pl.read_parquet(dataset / "enrolled_devices.parquet").height

    done = run(config, "import", str(dataset / "enrolled_devices.parquet"), "--sync", "--json")

    assert done.exit_code == 0, done.output
    acked = printed_json(done.output)
    assert (acked["status"], acked["devices"], acked["registered"]) == ("ACKED", devices, devices)
    [listed] = printed_json(run(config, "bulk-syncs", "--json").output)
    assert listed["bulkSyncId"] == acked["bulkSyncId"]
