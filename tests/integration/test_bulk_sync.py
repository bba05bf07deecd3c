"""Bulk initial sync at DERMS: a file of already-enrolled devices applied in the background, rows of unknown
customers refused one by one, devices registered with their head ends, the ack sent back as a file."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import polars as pl
import pytest
import sqlalchemy as sa

from derbridge.derms.schema import bulk_sync_rows, devices, rejected_requests, subscriptions
from derbridge.web.client import CHECKSUM_HEADER
from derbridge.web.operator import wait_for
from tests.conftest import BACKENDS
from tests.integration.registry_helpers import Derms, ack_file_row, add_customer, checked, derms_alone, fleet_device


@pytest.fixture(scope="module", params=BACKENDS)
def derms(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Derms]:
    yield from derms_alone(request, tmp_path_factory)


def row(sync: str, subscription: str, person: str, device_id: str, nic: str, **changes: Any) -> dict[str, Any]:
    return {"syncRequestId": sync, "subscriptionId": subscription, "cisPersonId": person, "contactId": f"C{person}",
            "cisAccountId": f"A{person}", "subscriptionType": "DR", "status": "ACTIVE", "programId": "PRG1",
            "programCode": "SMARTSTAT", "startDateTime": "2025-01-01T00:00:00Z", "endDateTime": None,
            "division": "NORTH", "servicePointId": f"X{person}", "cisPremiseId": f"PR{person}",
            "cisServicePointId": f"SP{person}", "deviceId": device_id, "nicId": nic, "headEndSystem": "ECOCLOUD",
            "specification": "TSTAT-ECO-ET300", "deviceType": "SMART-THERMOSTAT",
            "installDateTime": "2024-06-01T00:00:00Z", "isActive": True, **changes}


def as_parquet(rows: list[dict[str, Any]]) -> bytes:
    buffer = io.BytesIO()
    pl.DataFrame(rows).write_parquet(buffer)
    return buffer.getvalue()


def as_csv(rows: list[dict[str, Any]]) -> bytes:
    return pl.DataFrame(rows).write_csv().encode()


def put(derms: Derms, bulk_sync_id: str, body: bytes) -> Any:
    return derms.hub.put("/files/enroll-sync", params={"bulkSyncId": bulk_sync_id}, content=body,
                         headers={CHECKSUM_HEADER: hashlib.sha256(body).hexdigest()})


def known(derms: Derms, *people: str) -> None:
    for person in people:
        add_customer(derms.db, person, f"C{person}", f"A{person}", f"SP{person}")


def acked(derms: Derms, bulk_sync_id: str) -> tuple[pl.DataFrame, dict[str, list[str]]]:
    """The ack file DERMS queued for the hub, and the summary in its path."""
    queued = ack_file_row(derms.db, bulk_sync_id)
    described = json.loads(queued.payload)
    path = urlsplit(queued.path)
    assert path.path == "/hub/files/from-derms/enrollSyncAck"
    return pl.read_parquet(described["file"]), parse_qs(path.query)


def test_good_rows_are_applied_and_registered_and_unknown_customers_refused_row_by_row(derms: Derms) -> None:
    known(derms, "BP1", "BP2")
    rows = [row("B1", "BS1", "BP1", "BD1", "ECO-B1"), row("B1", "BS1", "BP1", "BD2", "ECO-B2"),
            row("B1", "BS2", "BP2", "BD3", "ECO-B3", isActive=False),
            row("B1", "BS3", "NOBODY", "BD4", "ECO-B4"),
            row("B1", "BS1", "BP1", "BD5", "ECO-B5-NOT-IN-FLEET")]
    for nic in ("ECO-B1", "ECO-B2", "ECO-B3", "ECO-B4"):
        derms.cloud("ECOCLOUD").add_device(fleet_device(nic))
    job = checked(put(derms, "BULK1", as_parquet(rows)), 202)
    assert (job["bulkSyncId"], job["rows"], job["format"]) == ("BULK1", 5, "parquet")
    ack, summary = acked(derms, "BULK1")
    assert ack.columns == ["deviceId", "headEndRegistration", "message"]
    assert ack["deviceId"].to_list() == ["BD1", "BD2", "BD3", "BD4", "BD5"]
    assert ack["headEndRegistration"].to_list() == ["D1RE", "D1RE", "D1NR", "D1NR", "D1NR"]
    assert "cisPersonId NOBODY is not known from the CIS" in ack["message"][3]
    assert "has no device ECO-B5-NOT-IN-FLEET" in ack["message"][4]
    assert summary == {"bulkSyncId": ["BULK1"], "rows": ["5"], "registered": ["2"], "deregistered": ["0"],
                       "notRegistered": ["3"], "refused": ["1"]}
    assert derms.cloud("ECOCLOUD").is_registered("ECO-B1") and not derms.cloud("ECOCLOUD").is_registered("ECO-B3")
    done = checked(derms.operator.get("/api/bulk-syncs/BULK1"))
    assert (done["state"], done["rowsApplied"], done["rowsRefused"], done["registered"]) == ("DONE", 4, 1, 2)
    with derms.db.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(subscriptions).where(
            subscriptions.c.subscription_id.in_(["BS1", "BS2", "BS3"]))).scalar() == 2
        assert connection.execute(sa.select(devices.c.device_id).where(devices.c.nic_id == "ECO-B4")).first() is None
        assert connection.execute(sa.select(sa.func.count()).select_from(bulk_sync_rows)).scalar() == 0


def test_a_repeated_bulk_sync_is_answered_200_and_not_applied_again(derms: Derms) -> None:
    known(derms, "BP6")
    derms.cloud("ECOCLOUD").add_device(fleet_device("ECO-B6"))
    first = as_parquet([row("B6", "BS6", "BP6", "BD6", "ECO-B6")])
    checked(put(derms, "BULK6", first), 202)
    acked(derms, "BULK6")
    again = checked(put(derms, "BULK6", as_parquet([row("B6", "BS6", "BP6", "BD6", "ECO-B6", programCode="X")])),
                    200)
    assert again["state"] == "DONE"
    with derms.db.connect() as connection:
        assert connection.execute(sa.select(subscriptions.c.program_code).where(
            subscriptions.c.subscription_id == "BS6")).scalar() == "SMARTSTAT"


def test_a_csv_file_is_taken_like_a_parquet_file(derms: Derms) -> None:
    known(derms, "BP7")
    derms.cloud("NESTLIKE").add_device(fleet_device("18B4307"))
    body = as_csv([row("B7", "BS7", "BP7", "BD7", "18B4307", headEndSystem="NESTLIKE", isActive="true",
                       startDateTime="2025-01-01T00:00:00+02:00")])
    assert checked(put(derms, "BULK7", body), 202)["format"] == "csv"
    ack, _summary = acked(derms, "BULK7")
    assert ack.rows() == [("BD7", "D1RE", "")]
    started = checked(derms.operator.get("/api/subscriptions", params={"limit": 1000}))
    assert {s["subscriptionId"]: s["startDateTime"] for s in started}["BS7"] == "2024-12-31T22:00:00.000Z"


def test_a_bad_file_is_refused_naming_each_column_and_its_rows_and_nothing_is_applied(derms: Derms) -> None:
    known(derms, "BP8")
    rows = [row("B8", "BS8", "BP8", "BD8", "ECO-B8"), row("B8", "BS8", "BP8", "BD9", "N" * 101),
            row("B8", "BS8", "BP8", "BD10", "ECO-B10", installDateTime="last year", status="PAUSED")]
    response = put(derms, "BULK8", as_csv(rows))
    assert response.status_code == 422
    errors = {(e["field"], e["type"]): e for e in response.json()["errors"]}
    assert errors[("nicId", "too_long")]["rows"] == [2]
    assert errors[("installDateTime", "not_a_datetime")]["rows"] == [3]
    assert errors[("status", "not_allowed")]["rows"] == [3]
    assert errors[("subscriptionId", "inconsistent")]["rows"] == [1, 2, 3]
    assert derms.operator.get("/api/bulk-syncs/BULK8").status_code == 404
    with derms.db.connect() as connection:
        assert connection.execute(sa.select(devices).where(devices.c.nic_id == "ECO-B8")).first() is None
        kept = connection.execute(sa.select(rejected_requests.c.body).where(
            rejected_requests.c.path == "/files/enroll-sync").order_by(rejected_requests.c.id.desc())).scalar()
    assert kept.startswith("file ") and Path(kept.split()[1]).exists()


def test_a_file_without_a_column_is_refused_naming_it(derms: Derms) -> None:
    rows = [{k: v for k, v in row("B9", "BS9", "BP9", "BD11", "ECO-B11").items() if k != "isActive"}]
    response = put(derms, "BULK9", as_parquet(rows))
    assert response.status_code == 422
    assert [(e["field"], e["type"]) for e in response.json()["errors"]] == [("isActive", "missing_column")]


def test_a_file_giving_a_device_twice_is_refused_naming_both_rows(derms: Derms) -> None:
    rows = [row("B10", "BS10", "BP10", "BD12", "ECO-B12"), row("B10", "BS10", "BP10", "BD13", "ECO-B12")]
    response = put(derms, "BULK10", as_parquet(rows))
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert (error["field"], error["type"], error["rows"]) == ("headEndSystem+nicId", "duplicate_key", [1, 2])
    assert error["values"] == ["ECOCLOUD+ECO-B12"]


def test_a_bulk_sync_id_that_cannot_name_a_file_is_refused(derms: Derms) -> None:
    response = put(derms, "../etc", as_parquet([row("B11", "BS11", "BP11", "BD14", "ECO-B14")]))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "query.bulkSyncId"


def test_progress_is_visible_while_a_bulk_sync_runs(derms: Derms) -> None:
    known(derms, "BP12")
    rows = [row("B12", "BS12", "BP12", f"BD12-{n}", f"ECO-B12-{n}") for n in range(50)]
    checked(put(derms, "BULK12", as_parquet(rows)), 202)
    done = wait_for(lambda: (lambda job: job if job["state"] == "DONE" else None)(
        checked(derms.operator.get("/api/bulk-syncs/BULK12"))), 60, "bulk sync BULK12 done")
    assert (done["rows"], done["rowsApplied"], done["notRegistered"]) == (50, 50, 50)
    assert "BULK12" in {job["bulkSyncId"] for job in checked(derms.operator.get("/api/bulk-syncs"))}
