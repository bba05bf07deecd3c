"""Loading the CIS over HTTP into the running program system and DERMS: the CLI, the endpoints, bad files
refused naming the problem with nothing applied and the file kept."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner, Result

from derbridge.bootstrap import BackgroundSystems, local_settings
from derbridge.cli import app
from derbridge.dataset.generate import generate
from derbridge.scenario.processes import settings_env
from derbridge.web.auth import outbound_credential
from derbridge.web.client import CHECKSUM_HEADER, make_client
from derbridge.web.operator import checked, operator_client

CUSTOMERS = 200
PARQUET = "application/vnd.apache.parquet"
DACS_TABLES = ["rates", "persons", "accounts", "premises", "service_points", "service_agreements", "contacts"]
DERMS_TABLES = ["persons", "accounts", "premises", "service_points", "contacts"]


@pytest.fixture(scope="module")
def extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("extract")
    generate(out, CUSTOMERS, seed=5)
    return out


def cis(stack: BackgroundSystems, *args: str) -> Result:
    return CliRunner().invoke(app, ["cis", *args], env=settings_env(stack.settings))


@pytest.fixture(scope="module")
def loaded(running_stack: BackgroundSystems, extract: Path) -> Result:
    """The extract, loaded once into both systems of this module's stack."""
    return cis(running_stack, "import", str(extract))


def manifest(directory: Path) -> dict[str, Any]:
    return dict(json.loads((directory / "manifest.json").read_text())["tables"])


def rows(stack: BackgroundSystems, system: str) -> dict[str, int]:
    with operator_client(stack.settings, system) as client:
        return {table["table"]: table["rows"] for table in checked(client.get("/api/cis"))["tables"]}


def imports(stack: BackgroundSystems, system: str, table: str | None = None) -> list[dict[str, Any]]:
    with operator_client(stack.settings, system) as client:
        return list(checked(client.get("/api/cis/imports", params={"table": table} if table else {})))


# ---- the CLI -------------------------------------------------------------------------------------------------

def test_the_cli_loads_each_system_its_tables_parents_first(running_stack: BackgroundSystems, loaded: Result,
                                                            extract: Path) -> None:
    assert loaded.exit_code == 0, loaded.output
    expected = manifest(extract)
    assert rows(running_stack, "dacs") == {table: expected[table]["rows"] for table in DACS_TABLES}
    assert rows(running_stack, "derms") == {table: expected[table]["rows"] for table in DERMS_TABLES}
    assert list(rows(running_stack, "dacs")) == DACS_TABLES, "parents first"
    total = sum(expected[table]["rows"] for table in DACS_TABLES + DERMS_TABLES)
    assert f"{total:,}" in loaded.output.split("total")[-1]


def test_each_import_is_recorded_with_the_files_checksum_and_who_sent_it(running_stack: BackgroundSystems,
                                                                        loaded: Result, extract: Path) -> None:
    assert loaded.exit_code == 0
    [first, *_] = reversed(imports(running_stack, "derms", "contacts"))
    assert (first["sha256"], first["importedBy"]) == (manifest(extract)["contacts"]["sha256"], "operator")
    assert first["rows"] == first["inserted"] == manifest(extract)["contacts"]["rows"]


def test_loading_the_same_extract_again_changes_nothing(running_stack: BackgroundSystems, loaded: Result,
                                                       extract: Path) -> None:
    assert loaded.exit_code == 0
    again = cis(running_stack, "import", str(extract), "--system", "dacs", "--tables", "persons,accounts",
                "--tables", "contacts")
    assert again.exit_code == 0, again.output
    for table in ("persons", "accounts", "contacts"):
        latest = imports(running_stack, "dacs", table)[0]
        assert (latest["inserted"], latest["updated"], latest["unchanged"]) == (0, 0, latest["rows"])
    assert rows(running_stack, "dacs")["persons"] == CUSTOMERS


def test_status_shows_the_rows_of_every_table_in_each_system(running_stack: BackgroundSystems,
                                                             loaded: Result) -> None:
    assert loaded.exit_code == 0
    shown = cis(running_stack, "status")
    assert shown.exit_code == 0, shown.output
    [rates_line] = [line for line in shown.output.splitlines() if "rates" in line]
    assert "4" in rates_line and "—" in rates_line, "DERMS takes no rates"
    [persons_line] = [line for line in shown.output.splitlines() if "persons" in line]
    assert persons_line.count(f"{CUSTOMERS:,}") == 2


def test_a_file_that_differs_from_its_manifest_is_never_sent(running_stack: BackgroundSystems, loaded: Result,
                                                             extract: Path, tmp_path: Path) -> None:
    assert loaded.exit_code == 0
    copy = Path(shutil.copytree(extract, tmp_path / "extract"))
    with (copy / "contacts.parquet").open("ab") as file:
        file.write(b"!")
    before = len(imports(running_stack, "dacs"))
    refused = cis(running_stack, "import", str(copy))
    assert refused.exit_code == 1
    assert "contacts.parquet does not match manifest.json" in refused.output
    assert len(imports(running_stack, "dacs")) == before, "not even the tables before it were sent"


def test_a_refused_file_stops_the_cli_naming_its_rows_and_columns(running_stack: BackgroundSystems, loaded: Result,
                                                                  extract: Path, tmp_path: Path) -> None:
    assert loaded.exit_code == 0
    copy = Path(shutil.copytree(extract, tmp_path / "extract"))
    accounts = pl.read_parquet(copy / "accounts.parquet").with_columns(cisPersonId=pl.lit("NOBODY"))
    accounts.write_parquet(copy / "accounts.parquet")
    entries = json.loads((copy / "manifest.json").read_text())
    entries["tables"]["accounts"].update(bytes=(copy / "accounts.parquet").stat().st_size,
                                         sha256=hashlib.sha256((copy / "accounts.parquet").read_bytes()).hexdigest())
    (copy / "manifest.json").write_text(json.dumps(entries))
    refused = cis(running_stack, "import", str(copy), "--system", "derms", "--tables", "accounts,premises")
    assert refused.exit_code == 1
    assert "derms answered 422 Invalid file" in refused.output
    assert "cisPersonId" in refused.output and "NOBODY" in refused.output
    assert "1, 2, 3" in refused.output, "the first rows are named"
    assert len(imports(running_stack, "derms", "premises")) == 1, "loading stopped at the refused file"


# ---- bad files over HTTP -------------------------------------------------------------------------------------

def parquet(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


def new_persons(**changes: Any) -> pl.DataFrame:
    frame = pl.DataFrame({"cisPersonId": ["NEW0000001", "NEW0000002", "NEW0000003"],
                          "name": ["Ash,Ann", "Oak,Bo", "Elm,Cy"], "homePhone": [None, None, None],
                          "businessPhone": [None, None, None], "email": [None, None, None]},
                         schema_overrides={"homePhone": pl.String, "businessPhone": pl.String, "email": pl.String})
    return frame.with_columns(**{name: pl.Series(values) for name, values in changes.items()})


BadFile = tuple[str, bytes, str, dict[str, str]]
GOOD = parquet(new_persons())
BAD_FILES: dict[str, Callable[[], BadFile]] = {
    "missing column": lambda: ("persons", parquet(new_persons().drop("name")), PARQUET, {}),
    "over-long value": lambda: ("persons", parquet(new_persons(name=["x" * 255, "Oak,Bo", "Elm,Cy"])), PARQUET, {}),
    "null key": lambda: ("persons", parquet(new_persons(cisPersonId=["NEW0000001", None, "NEW0000003"])),
                         PARQUET, {}),
    "duplicate key": lambda: ("persons", parquet(new_persons(cisPersonId=["NEW0000001"] * 3)), PARQUET, {}),
    "dangling reference": lambda: ("accounts", parquet(pl.DataFrame({
        "cisAccountId": ["NEWACCOUNT"], "cisPersonId": ["NOBODY"], "division": ["ELEC-N"], "rateCode": ["E-RES"]})),
        PARQUET, {}),
    "wrong content type": lambda: ("persons", GOOD, "application/json", {}),
    "corrupt Parquet": lambda: ("persons", GOOD[: len(GOOD) // 2], PARQUET, {}),
    "checksum mismatch": lambda: ("persons", GOOD, PARQUET, {CHECKSUM_HEADER: "0" * 64}),
}
EXPECTED = {"missing column": (422, "name"), "over-long value": (422, "name"), "null key": (422, "cisPersonId"),
            "duplicate key": (422, "cisPersonId"), "dangling reference": (422, "cisPersonId"),
            "wrong content type": (415, "header.content-type"), "corrupt Parquet": (400, "body"),
            "checksum mismatch": (422, f"header.{CHECKSUM_HEADER}")}


@pytest.mark.parametrize("system", ["dacs", "derms"])
@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_file_is_refused_naming_the_problem_with_nothing_applied_and_the_file_kept(
        running_stack: BackgroundSystems, loaded: Result, system: str, case: str) -> None:
    assert loaded.exit_code == 0
    table, body, content_type, headers = BAD_FILES[case]()
    status, field = EXPECTED[case]
    before_rows, before_imports = rows(running_stack, system), len(imports(running_stack, system))
    with operator_client(running_stack.settings, system) as client:
        answer = client.put(f"/api/cis/{table}", content=body, headers={"Content-Type": content_type, **headers})
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        problem = answer.json()
        assert field in {error["field"] for error in problem["errors"]}, problem
        [kept] = [entry for entry in checked(client.get("/api/cis/rejected"))
                  if entry["id"] == problem["rejectedUploadId"]]
    assert (kept["status"], kept["path"], kept["sha256"]) == (status, f"/api/cis/{table}",
                                                              hashlib.sha256(body).hexdigest())
    assert kept["errors"] == problem["errors"]
    assert Path(kept["file"]).read_bytes() == body, "the refused file is kept as it came"
    assert rows(running_stack, system) == before_rows, "nothing applied"
    assert len(imports(running_stack, system)) == before_imports


def test_a_csv_file_is_taken_like_parquet(running_stack: BackgroundSystems, loaded: Result) -> None:
    assert loaded.exit_code == 0
    body = new_persons(cisPersonId=["CSV0000001", "CSV0000002", "CSV0000003"]).write_csv().encode()
    with operator_client(running_stack.settings, "derms") as client:
        answer = checked(client.put("/api/cis/persons", content=body,
                                    headers={"Content-Type": "text/csv; charset=utf-8",
                                             CHECKSUM_HEADER: hashlib.sha256(body).hexdigest()}))
    assert (answer["format"], answer["inserted"], answer["updated"]) == ("csv", 3, 0)
    assert not list((running_stack.settings.data_dir / "uploads" / "derms" / "incoming").iterdir()), \
        "an applied file is not kept"


def test_only_an_operator_may_import_and_a_stranger_leaves_nothing_behind(running_stack: BackgroundSystems) -> None:
    settings = running_stack.settings
    hub_credential = outbound_credential(settings, "hub", "dacs")
    with make_client(settings.url("dacs"), hub_credential, 10) as as_hub, make_client(settings.url("dacs")) as nobody:
        assert as_hub.put("/api/cis/persons", content=GOOD, headers={"Content-Type": PARQUET}).status_code == 403
        assert nobody.put("/api/cis/persons", content=GOOD, headers={"Content-Type": PARQUET}).status_code == 401
    with operator_client(settings, "dacs") as client:
        assert all(entry["receivedBy"] == "operator" for entry in checked(client.get("/api/cis/rejected")))
    assert not list((settings.data_dir / "uploads" / "dacs" / "incoming").iterdir())


def test_an_unknown_table_is_404_naming_the_tables_a_system_takes(running_stack: BackgroundSystems) -> None:
    with operator_client(running_stack.settings, "derms") as client:
        answer = client.put("/api/cis/service_agreements", content=GOOD, headers={"Content-Type": PARQUET})
    assert answer.status_code == 404
    assert "persons, accounts, premises, service_points, contacts" in answer.json()["detail"]


def test_a_table_no_system_takes_is_named_before_anything_is_sent(running_stack: BackgroundSystems, loaded: Result,
                                                                  extract: Path) -> None:
    assert loaded.exit_code == 0
    refused = cis(running_stack, "import", str(extract), "--system", "derms", "--tables", "persons,rates")
    assert refused.exit_code == 1
    assert "no system here imports rates" in refused.output


def test_a_system_that_is_not_running_is_named(tmp_path: Path) -> None:
    settings = local_settings(tmp_path)
    result = CliRunner().invoke(app, ["cis", "status", "--system", "derms"], env=settings_env(settings))
    assert result.exit_code == 1
    assert f"cannot reach derms at {settings.url('derms')}" in result.output
