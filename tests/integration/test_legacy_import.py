"""Enrollments migrated from a legacy program system: the extract is checked whole and refused whole, naming
columns and rows; accepted, it becomes ACTIVE enrollments at once; its initial sync reaches DERMS as one file
through the hub, and DERMS's ack file sets every device's head-end registration in the program system."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa

from derbridge.bootstrap import BackgroundSystems
from derbridge.dacs.schema import controllable_devices, enrollments, rejected_requests
from derbridge.dataset.generate import generate
from derbridge.derms.schema import devices as derms_devices
from derbridge.scenario import utility as scenario
from derbridge.store.db import make_engine, reading
from derbridge.web.client import CHECKSUM_HEADER
from derbridge.web.operator import checked, operator_client, wait_for
from tests.conftest import BACKENDS
from tests.integration.conftest import stack_on

PARQUET = "application/vnd.apache.parquet"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("legacy") / "dataset"
    generate(directory, 60, seed=11, thermostat_share=1.0)
    return directory


@pytest.fixture(scope="module", params=BACKENDS)
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
          dataset: Path) -> Iterator[BackgroundSystems]:
    """The three systems with the dataset's customers, programs and head-end fleets."""
    for running in stack_on(request.param, tmp_path_factory, headend_dataset=str(dataset)):
        scenario.load_customers(running.settings, dataset)
        scenario.set_up_programs(running.settings, *scenario.dataset_eligibility(dataset))
        yield running


def extract(dataset: Path) -> pl.DataFrame:
    return pl.read_parquet(dataset / "enrolled_devices.parquet")


def as_parquet(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


def upload(stack: BackgroundSystems, body: bytes, content_type: str = PARQUET) -> Any:
    with operator_client(stack.settings, "dacs", timeout_s=60) as dacs:
        return dacs.put("/api/legacy/enrolled-devices", content=body, headers={
            "Content-Type": content_type, CHECKSUM_HEADER: hashlib.sha256(body).hexdigest()})


def legacy_enrollments(stack: BackgroundSystems) -> dict[str, str]:
    """Migrated enrollments by id, with their status."""
    engine = make_engine(stack.settings.database_url("dacs"))
    try:
        with reading(engine) as connection:
            return dict(connection.execute(sa.select(enrollments.c.enrollment_id, enrollments.c.status).where(
                enrollments.c.legacy_import_id.is_not(None))).tuples().all())
    finally:
        engine.dispose()


def rejected_count(stack: BackgroundSystems) -> int:
    engine = make_engine(stack.settings.database_url("dacs"))
    try:
        with reading(engine) as connection:
            return connection.execute(sa.select(sa.func.count()).select_from(rejected_requests)).scalar_one()
    finally:
        engine.dispose()


def errors_by_field(answer: Any) -> dict[str, dict[str, Any]]:
    assert answer.status_code == 422, answer.text
    return {error["field"]: error for error in answer.json()["errors"]}


def test_an_extract_with_bad_references_is_refused_whole_naming_each_column_and_its_rows(
        stack: BackgroundSystems, dataset: Path) -> None:
    frame = extract(dataset).with_row_index("n").with_columns(
        cisServiceAgreementId=pl.when(pl.col("n") == 1).then(pl.lit("NO-SUCH-SA"))
        .otherwise(pl.col("cisServiceAgreementId")),
        programCode=pl.when(pl.col("n").is_in([2, 4])).then(pl.lit("NOPROGRAM")).otherwise(pl.col("programCode")),
    ).drop("n")
    rejected_before = rejected_count(stack)

    errors = errors_by_field(upload(stack, as_parquet(frame)))

    assert errors["cisServiceAgreementId"]["rows"] == [2]
    assert errors["programCode"]["rows"] == [3, 5]
    assert errors["programCode"]["count"] == 2
    assert legacy_enrollments(stack) == {}
    assert rejected_count(stack) == rejected_before + 1


def test_an_extract_with_a_missing_value_is_refused_naming_the_column(stack: BackgroundSystems,
                                                                       dataset: Path) -> None:
    frame = extract(dataset).with_row_index("n").with_columns(
        nicId=pl.when(pl.col("n") == 0).then(None).otherwise(pl.col("nicId"))).drop("n")

    errors = errors_by_field(upload(stack, as_parquet(frame)))

    assert errors["nicId"]["rows"] == [1]
    assert legacy_enrollments(stack) == {}


def test_an_accepted_extract_becomes_active_enrollments_and_cannot_be_loaded_twice(
        stack: BackgroundSystems, dataset: Path) -> None:
    frame = extract(dataset)
    body = as_parquet(frame)

    imported = checked(upload(stack, body))

    assert imported["rows"] == frame.height
    migrated = legacy_enrollments(stack)
    assert len(migrated) == frame.height
    assert set(migrated.values()) == {"ACTIVE"}
    assert all(enrollment_id.startswith("L") for enrollment_id in migrated)
    again = errors_by_field(upload(stack, body))
    assert again["nicId"]["count"] == frame.height
    assert len(legacy_enrollments(stack)) == frame.height


def test_the_initial_sync_registers_every_device_at_derms_and_the_ack_reaches_the_program_system(
        stack: BackgroundSystems, dataset: Path) -> None:
    frame = extract(dataset)
    with operator_client(stack.settings, "dacs") as dacs:
        [last_import] = [i for i in checked(dacs.get("/api/legacy/imports")) if i["rows"] == frame.height]
        started = checked(dacs.post(f"/api/legacy/imports/{last_import['importId']}/sync"))

        def acked() -> dict[str, Any] | None:
            found = checked(dacs.get(f"/api/legacy/bulk-syncs/{started['bulkSyncId']}"))
            return found if found["status"] == "ACKED" else None

        done = wait_for(acked, 60, "DERMS's ack of the initial sync")

    assert started["devices"] == frame.height
    assert done["registered"] == frame.height
    assert registrations_at_the_program_system(stack) == {"D1RE": frame.height}
    assert devices_at_derms(stack) == set(frame["nicId"])


def registrations_at_the_program_system(stack: BackgroundSystems) -> dict[str, int]:
    engine = make_engine(stack.settings.database_url("dacs"))
    d = controllable_devices
    try:
        with reading(engine) as connection:
            return dict(connection.execute(
                sa.select(d.c.head_end_registration, sa.func.count()).where(d.c.device_id.like("L%"))
                .group_by(d.c.head_end_registration)).tuples().all())
    finally:
        engine.dispose()


def devices_at_derms(stack: BackgroundSystems) -> set[str]:
    engine = make_engine(stack.settings.database_url("derms"))
    try:
        with reading(engine) as connection:
            return set(connection.execute(sa.select(derms_devices.c.nic_id)).scalars())
    finally:
        engine.dispose()
