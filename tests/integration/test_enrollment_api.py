"""The program system's enrollment API over HTTP: the hub's enroll call and an agent's, with bad input refused
field by field and nothing applied, refusals answered with their message, the documented duplicate, and the
agents' CLI."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from derbridge.bootstrap import BackgroundSystems
from derbridge.cli import app
from derbridge.dacs.schema import enrollments, rejected_requests
from derbridge.scenario.processes import settings_env
from derbridge.store.db import make_engine
from derbridge.web.operator import checked, operator_client
from tests.seed import Customer, add_customers, add_program

ENROLL = "/rest/apis/cross/digitalAssets/programEnrollments/enroll"
CUSTOMER = Customer(701)


@pytest.fixture(scope="module")
def dacs(running_stack: BackgroundSystems) -> Iterator[Any]:
    db = make_engine(running_stack.settings.database_url("dacs"))
    with db.begin() as connection:
        if connection.execute(sa.text("SELECT count(*) FROM programs")).scalar_one() == 0:
            add_program(connection)
        add_customers(connection, CUSTOMER)
    with operator_client(running_stack.settings, "dacs") as client:
        client.db = db  # type: ignore[attr-defined]
        yield client
    db.dispose()


def count(dacs: Any, table: sa.Table) -> int:
    with dacs.db.connect() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def changed(body: dict[str, Any], section: str, **values: Any) -> dict[str, Any]:
    result = copy.deepcopy(body)
    result[section].update(values)
    return result


GOOD = CUSTOMER.enroll_request("API-1")
BAD = [
    pytest.param(changed(GOOD, "assetInfo", installationMethod="X9XX"), {"assetInfo.installationMethod"},
                 id="unknown installation method"),
    pytest.param(changed(GOOD, "customerInfo", cisPersonId="9" * 31), {"customerInfo.cisPersonId"},
                 id="over-long person id"),
    pytest.param({**GOOD, "transactionId": "x" * 121}, {"transactionId"}, id="over-long transaction id"),
    pytest.param({k: v for k, v in GOOD.items() if k != "programInfo"}, {"programInfo"}, id="no program"),
    pytest.param(changed(GOOD, "programInfo", startDate="someday"), {"programInfo.startDate"}, id="bad date"),
]


@pytest.mark.parametrize(("body", "fields"), BAD)
def test_a_malformed_enroll_call_is_refused_by_field_and_kept_with_nothing_applied(
        dacs: Any, body: dict[str, Any], fields: set[str]) -> None:
    enrolled, kept = count(dacs, enrollments), count(dacs, rejected_requests)
    response = dacs.post(ENROLL, json=body)
    assert response.status_code == 422
    assert fields <= {error["field"] for error in response.json()["errors"]}
    assert count(dacs, enrollments) == enrolled
    assert count(dacs, rejected_requests) == kept + 1


def test_a_refused_enrollment_is_answered_with_its_message_and_kept(dacs: Any) -> None:
    body = changed(CUSTOMER.enroll_request("API-2"), "programInfo", programCode="NOSUCH")
    answer = checked(dacs.post(ENROLL, json=body))
    assert answer["status"] == "VAL-ERROR"
    assert answer["exception"]["messageNumber"] == 90011 and "NOSUCH" in answer["exception"]["comments"]
    found = checked(dacs.get(f"/api/enrollments/{answer['enrollmentId']}"))
    assert [h["status"] for h in found["history"]] == ["PENDING", "VAL-ERROR"]


def test_the_same_transaction_again_is_409_with_message_10589_and_the_existing_enrollment(dacs: Any) -> None:
    first = checked(dacs.post(ENROLL, json=CUSTOMER.enroll_request("API-3", devices=(("ECOCLOUD", "API-3"),))))
    again = dacs.post(ENROLL, json=CUSTOMER.enroll_request("API-3", devices=(("ECOCLOUD", "API-3"),)))
    assert again.status_code == 409
    assert again.json()["messageNumber"] == 10589 and again.json()["enrollmentId"] == first["enrollmentId"]


def test_an_agent_sees_enrollments_through_the_cli(running_stack: BackgroundSystems, dacs: Any) -> None:
    answer = checked(dacs.post("/api/enrollments", json=CUSTOMER.enroll_request(
        "API-4", devices=(("ECOCLOUD", "API-4"),))))
    env = settings_env(running_stack.settings)
    listed = CliRunner().invoke(app, ["enrollments", "list", "--account", CUSTOMER.account], env=env)
    assert listed.exit_code == 0, listed.output
    assert answer["enrollmentId"] in listed.output
    shown = CliRunner().invoke(app, ["enrollments", "show", answer["enrollmentId"], "--json"], env=env)
    assert shown.exit_code == 0 and '"DEVICE-SETUP"' in shown.output
    refused = CliRunner().invoke(app, ["enrollments", "unenroll", answer["enrollmentId"], "--reason", "LSSL"],
                                 env=env)
    assert refused.exit_code == 1 and "only ACTIVE" in refused.output
