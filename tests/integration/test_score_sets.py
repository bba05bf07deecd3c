"""DERMS takes the program system's score file (F7): checked whole, loaded as a new set, then switched to; the
previous set in force until then; a repeated file a DUPLICATE; a bad file refused with nothing applied."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner, Result

from derbridge.cli import app
from derbridge.derms.scores import sets
from derbridge.web.client import CHECKSUM_HEADER
from derbridge.web.operator import wait_for
from tests.conftest import BACKENDS
from tests.integration.conftest import cli_config, printed_json
from tests.integration.registry_helpers import Derms, checked, derms_alone

DAY1, DAY2 = "2026-11-23T02:00:00.000Z", "2026-11-24T02:00:00.000Z"
HEADER = "deviceId,nicId,headEndSystem,programCode,subscriptionId,score,eligible,reason,computedAt,components\n"


@pytest.fixture(scope="module", params=BACKENDS)
def derms(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Derms]:
    yield from derms_alone(request, tmp_path_factory)


def score_csv(computed_at: str, rows: list[tuple[str, str, bool, str]]) -> bytes:
    """(nicId, score, eligible, reason) rows of one head end."""
    lines = [f"D{n:011d},{nic},ECOCLOUD,SMARTSTAT,U{n:013d},{score},{str(eligible).lower()},{reason},{computed_at},"
             f"SC={score}\n" for n, (nic, score, eligible, reason) in enumerate(rows, start=1)]
    return (HEADER + "".join(lines)).encode()


def put(derms: Derms, body: bytes, computed_at: str, **params: Any) -> Any:
    return derms.hub.put("/files/device-scores", params={"computedAt": computed_at, **params}, content=body,
                         headers={CHECKSUM_HEADER: hashlib.sha256(body).hexdigest(), "Content-Type": "text/csv"})


def in_force(derms: Derms) -> str | None:
    """The id of the set in force, or None while DERMS holds none."""
    found = derms.operator.get("/api/score-sets/current")
    return None if found.status_code == 404 else str(checked(found)["setId"])


def wait_in_force(derms: Derms, file_name: str) -> dict[str, Any]:
    return wait_for(lambda: next((s for s in checked(derms.operator.get("/api/score-sets"))
                                  if s["fileName"] == file_name and s["inForce"]), None), 30, f"{file_name} in force")


def test_a_file_becomes_the_set_in_force_and_a_later_day_replaces_it(derms: Derms) -> None:
    first = checked(put(derms, score_csv(DAY1, [("N1", "72.5", True, ""), ("N2", "0", False, "NOT_AVAILABLE")]),
                        DAY1, runId="1", rows=2), 202)
    assert (first["responseCode"], first["scoreSet"]["fileName"]) == ("RECEIVED", "SDCSE_V1_20261123T020000Z.csv")
    wait_in_force(derms, "SDCSE_V1_20261123T020000Z.csv")
    [row] = checked(derms.operator.get("/api/devices/ECOCLOUD/N2/score"))
    assert (row["score"], row["eligible"], row["reason"]) == (0.0, False, "NOT_AVAILABLE")

    checked(put(derms, score_csv(DAY2, [("N1", "10", True, ""), ("N2", "55.25", True, "")]), DAY2), 202)
    second = wait_in_force(derms, "SDCSE_V1_20261124T020000Z.csv")
    assert (second["rows"], second["eligible"], second["state"]) == (2, 2, "IN_FORCE")
    with derms.db.connect() as connection:
        current = sets.current_scores(connection).sort("nic_id")
    assert current.select("nic_id", "score", "eligible").rows() == [("N1", 10.0, True), ("N2", 55.25, True)]
    states = {s["fileName"]: s["state"] for s in checked(derms.operator.get("/api/score-sets"))}
    assert states["SDCSE_V1_20261123T020000Z.csv"] == "REPLACED"


def test_the_same_file_again_is_a_duplicate_and_another_under_its_name_is_refused(derms: Derms) -> None:
    at = "2026-11-25T02:00:00.000Z"
    body = score_csv(at, [("N1", "1", True, "")])
    checked(put(derms, body, at), 202)
    wait_in_force(derms, "SDCSE_V1_20261125T020000Z.csv")
    again = checked(put(derms, body, at), 200)
    assert again["responseCode"] == "DUPLICATE"
    other = put(derms, score_csv(at, [("N1", "2", True, "")]), at)
    assert other.status_code == 409, other.text


@pytest.mark.parametrize(("body", "fields"), [
    (score_csv(DAY1, [("N9", "-1", True, ""), ("N8", "1e3", False, "")]), {"score", "reason"}),
    ((HEADER.replace(",components", "") + "D1,N1,ECOCLOUD,SMARTSTAT,U1,1,true,,2026-11-23T02:00:00.000Z\n")
     .encode(), {"components"}),
    (score_csv(DAY1, [("N1", "1", True, ""), ("N1", "2", True, "")]).replace(b"U0000000000002", b"U0000000000001"),
     {"headEndSystem+nicId+subscriptionId"}),
    (score_csv("2026-11-20T02:00:00.000Z", [("N1", "1", True, "")]), {"computedAt"}),
])
def test_a_bad_file_is_refused_naming_its_columns_and_nothing_is_applied(derms: Derms, body: bytes,
                                                                        fields: set[str]) -> None:
    before = in_force(derms)
    refused = put(derms, body, "2026-11-26T02:00:00.000Z")
    assert refused.status_code == 422, refused.text
    assert {error["field"] for error in refused.json()["errors"]} >= fields
    assert all(error["rows"] for error in refused.json()["errors"] if error["type"] != "missing_column")
    assert in_force(derms) == before
    assert all(s["fileName"] != "SDCSE_V1_20261126T020000Z.csv" for s in checked(derms.operator.get("/api/score-sets")))


def test_a_file_shorter_than_its_sender_said_is_refused(derms: Derms) -> None:
    at = "2026-11-27T02:00:00.000Z"
    refused = put(derms, score_csv(at, [("N1", "1", True, "")]), at, rows=2)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["type"] == "row_count"


def test_a_body_altered_on_the_way_is_refused_by_its_checksum(derms: Derms) -> None:
    at = "2026-11-28T02:00:00.000Z"
    body = score_csv(at, [("N1", "1", True, "")])
    refused = derms.hub.put("/files/device-scores", params={"computedAt": at}, content=body[:-5],
                            headers={CHECKSUM_HEADER: hashlib.sha256(body).hexdigest()})
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["type"] == "checksum_mismatch"


def test_parquet_as_the_hub_delivers_it_is_taken_too(derms: Derms) -> None:
    at = "2026-11-29T02:00:00.000Z"
    frame = pl.read_csv(score_csv(at, [("N7", "3.5", True, "")]), infer_schema=False)
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    checked(put(derms, buffer.getvalue(), at, fileSha256="a" * 64), 202)
    wait_in_force(derms, "SDCSE_V1_20261129T020000Z.csv")
    [row] = checked(derms.operator.get("/api/devices/ECOCLOUD/N7/score"))
    assert (row["score"], row["fileName"]) == (3.5, "SDCSE_V1_20261129T020000Z.csv")


def test_the_command_line_lists_sets_shows_the_one_in_force_and_a_devices_score(derms: Derms, tmp_path: Path) -> None:
    at = "2026-11-30T02:00:00.000Z"
    checked(put(derms, score_csv(at, [("N5", "61.5", True, ""), ("N6", "0", False, "CAP_REACHED")]), at), 202)
    wait_in_force(derms, "SDCSE_V1_20261130T020000Z.csv")
    config = cli_config(derms.settings, tmp_path)

    def run(*args: str) -> Result:
        return CliRunner().invoke(app, ["score-sets", *args, "--config", str(config)], env={"COLUMNS": "200"})

    listed, shown, device, unknown = (run("list", "--json"), run("show"), run("device", "ECOCLOUD", "N6", "--json"),
                                      run("device", "ECOCLOUD", "NOPE"))
    assert listed.exit_code == 0, listed.output
    assert next(s for s in printed_json(listed.output) if s["inForce"])["fileName"] == "SDCSE_V1_20261130T020000Z.csv"
    assert shown.exit_code == 0 and "SDCSE_V1_20261130T020000Z.csv" in shown.output, shown.output
    [row] = printed_json(device.output)
    assert (row["score"], row["eligible"], row["reason"]) == (0.0, False, "CAP_REACHED")
    assert unknown.exit_code != 0
