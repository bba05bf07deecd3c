"""The network over HTTP and the command line: the network imported by `derbridge network import`, DERMS's
import endpoint refusing a bad file naming its rows and keeping it, moves refused with the reason, an export
applied and asked about with `derbridge network where`, and the program system saying when it knows nothing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import httpx2
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner, Result

from derbridge.bootstrap import BackgroundSystems
from derbridge.cli import app
from derbridge.derms.schema import rejected_requests
from derbridge.store.db import make_engine
from derbridge.web.operator import checked, operator_client, wait_for
from tests.integration.conftest import cli_config
from tests.networks import write_network


@pytest.fixture(scope="module")
def config(running_stack: BackgroundSystems, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A configuration file that points the command line at the running stack."""
    return cli_config(running_stack.settings, tmp_path_factory.mktemp("cli"))


def run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["network", *args, "--config", str(config)], env={"COLUMNS": "200"})


@pytest.fixture(scope="module")
def network(running_stack: BackgroundSystems, config: Path, tmp_path_factory: pytest.TempPathFactory
            ) -> BackgroundSystems:
    """The small network, imported into DERMS by the command line."""
    imported = run(config, "import", str(write_network(tmp_path_factory.mktemp("network"))), "--json")
    assert imported.exit_code == 0, imported.output
    assert [r["inserted"] for r in json.loads(imported.output)] == [2, 3, 3, 3]
    return running_stack


def put(derms: httpx2.Client, table: str, body: bytes) -> dict[str, Any]:
    response = derms.put(f"/api/network/import/{table}", content=body,
                         headers={"Content-Type": "text/csv", "X-Content-SHA256": hashlib.sha256(body).hexdigest()})
    return {"status": response.status_code, **response.json()}


def test_a_bad_import_file_is_refused_naming_its_rows_and_kept(network: BackgroundSystems) -> None:
    body = (b"cisServicePointId,transformerId,feederId,substationId,effectiveStartDate\n"
            b"SP-20,T-1,F-1,S-1,2026-01-01\nSP-21,T-404,F-1,S-1,2026-01-01\n")
    with operator_client(network.settings, "derms") as derms:
        refused = put(derms, "service_point_locations", body)
        assert checked(derms.get("/api/network"))["servicePoints"] == 3
    assert refused["status"] == 422
    assert [(e["field"], e["rows"]) for e in refused["errors"]] == [("transformerId", [2])]
    engine = make_engine(network.settings.database_url("derms"))
    with engine.connect() as connection:
        kept = connection.execute(sa.select(rejected_requests).order_by(rejected_requests.c.id.desc())).first()
    engine.dispose()
    assert kept is not None and kept.path == "/api/network/import/service_point_locations"
    assert Path(json.loads(kept.body)["file"]).read_bytes() == body


def test_an_unknown_table_is_not_found(network: BackgroundSystems) -> None:
    with operator_client(network.settings, "derms") as derms:
        assert put(derms, "meters", b"a\n1\n")["status"] == 404


def test_moves_are_refused_with_their_reason(network: BackgroundSystems) -> None:
    with operator_client(network.settings, "derms") as derms:
        early = derms.post("/api/network/service-points/SP-2/moves",
                           json={"transformerId": "T-1", "effectiveDate": "2025-12-31"})
        unknown = derms.post("/api/network/transformers/T-404/moves",
                             json={"feederId": "F-1", "effectiveDate": "2026-02-01"})
        moved = checked(derms.post("/api/network/transformers/T-3/moves",
                                   json={"feederId": "F-1", "effectiveDate": "2026-02-01"}))
        connections = checked(derms.get("/api/network/service-points/SP-3"))["connections"]
    assert early.status_code == 422 and early.json()["errors"][0]["field"] == "effectiveDate"
    assert unknown.status_code == 404
    assert moved["servicePoints"] == 1
    assert [(c["feederId"], c["effectiveStart"]) for c in connections] == [("F-3", "2026-01-01"),
                                                                          ("F-1", "2026-02-01")]


def test_the_program_system_says_when_it_knows_no_location(network: BackgroundSystems) -> None:
    with operator_client(network.settings, "dacs") as dacs:
        missing = dacs.get("/api/service-points/SP-NOWHERE/network-location", params={"date": "2026-01-01"})
        history = checked(dacs.get("/api/service-points/SP-NOWHERE/network-locations"))
    assert missing.status_code == 404 and history == []


def test_the_command_line_exports_and_answers_where_a_service_point_was(network: BackgroundSystems,
                                                                       config: Path) -> None:
    exported = run(config, "export", "--full", "--json")
    assert exported.exit_code == 0, exported.output
    export_id = json.loads(exported.output)["exportId"]
    with operator_client(network.settings, "dacs") as dacs:
        wait_for(lambda: any(e["exportId"] == export_id for e in checked(dacs.get("/api/network-exports"))), 30,
                 "the export applied")
    where = run(config, "where", "SP-1", "--date", "2026-01-15", "--json")
    assert where.exit_code == 0, where.output
    assert json.loads(where.output)["location"]["transformerId"] == "T-1"
    refused = run(config, "move-service-point", "SP-1", "T-2", "--date", "2025-01-01")
    assert refused.exit_code == 1 and "effectiveDate" in refused.output
