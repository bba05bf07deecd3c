"""The device registry's storage on SQLite and PostgreSQL: bulk syncs applied again after an interruption, and
registrations that race a change of mind."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from derbridge.benchmarks.enroll_bulk import load_cis, synthetic_rows
from derbridge.derms.headend.gateway import Gateway
from derbridge.derms.headend.model import DeviceStatus, Registration
from derbridge.derms.registry import bulk_sync
from derbridge.derms.registry.registration import reconcile_due
from derbridge.derms.schema import bulk_sync_rows, bulk_syncs, devices, subscriptions

NOW = datetime(2026, 1, 1, tzinfo=UTC)



def registry_state(db: Engine) -> list[tuple[object, ...]]:
    with db.connect() as connection:
        found = connection.execute(sa.select(devices.c.nic_id, devices.c.device_id, devices.c.subscription_id,
                                             devices.c.registration_wanted, devices.c.registration_due)
                                   .order_by(devices.c.nic_id)).all()
        found += connection.execute(sa.select(subscriptions.c.subscription_id, subscriptions.c.status)
                                    .order_by(subscriptions.c.subscription_id)).all()
    return [tuple(row) for row in found]


def test_a_bulk_sync_applied_again_after_an_interruption_leaves_the_same_registry(
        derms_db: Engine, database_url: str, tmp_path: Path) -> None:
    rows = synthetic_rows(500)
    load_cis(database_url, rows)
    file = tmp_path / "sync.parquet"
    rows.write_parquet(file)
    with derms_db.begin() as connection:
        connection.execute(sa.insert(bulk_syncs).values(
            bulk_sync_id="AGAIN", state=bulk_sync.RECEIVED, file=str(file), file_format="parquet", sha256="-",
            rows=500, rows_applied=0, rows_refused=0, received_at=NOW, updated_at=NOW))
    bulk_sync.apply_job(derms_db, "AGAIN")
    first = registry_state(derms_db)
    bulk_sync.apply_job(derms_db, "AGAIN")
    assert registry_state(derms_db) == first
    job = bulk_sync.find(derms_db, "AGAIN")
    assert job is not None and (job["state"], job["rowsApplied"] + job["rowsRefused"]) == ("REGISTERING", 500)
    unknown = rows.filter(pl.col("cisPersonId").str.slice(1).cast(pl.Int64) % 100 == 7).height  # not in the CIS
    assert unknown and job["rowsRefused"] == unknown
    with derms_db.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(bulk_sync_rows)).scalar() == 500
        assert connection.execute(sa.select(sa.func.count()).select_from(devices)).scalar() == 500 - unknown


class ChangingMind:
    """A head end that registers everything, while the program system takes the device out of service."""

    name = "ECOCLOUD"
    reporting_lag_s = 0.0

    def __init__(self, db: Engine) -> None:
        self.db = db
        self.deregistered: list[str] = []

    def latest_status(self, nic_ids: list[str]) -> list[DeviceStatus]:
        return [DeviceStatus(nic, True, True, NOW) for nic in nic_ids]

    def register(self, nic_ids: list[str]) -> list[Registration]:
        with self.db.begin() as connection:
            connection.execute(sa.update(devices).values(registration_wanted=False, registration_due=True))
        return [Registration(nic, True, True) for nic in nic_ids]

    def deregister(self, nic_ids: list[str]) -> list[Registration]:
        self.deregistered += nic_ids
        return [Registration(nic, False, True) for nic in nic_ids]


def test_a_device_whose_wanted_registration_changed_during_the_call_stays_due_and_is_put_right(
        derms_db: Engine) -> None:
    device = pl.DataFrame({"head_end_system": ["ECOCLOUD"], "nic_id": ["ECO-1"], "device_id": ["D1"],
                           "active": [True], "registration_status": ["NOT_REGISTERED"], "registration_wanted": [True],
                           "registration_due": [True], "last_message_id": ["M1"], "updated_at": [NOW]})
    with derms_db.begin() as connection:
        connection.execute(sa.insert(devices), device.to_dicts())
    head_end = ChangingMind(derms_db)
    gateway = Gateway([head_end])
    assert reconcile_due(derms_db, gateway) == 1
    with derms_db.connect() as connection:
        row = connection.execute(sa.select(devices)).one()
    assert (row.registration_status, row.registration_due) == ("REGISTERED", True)
    assert reconcile_due(derms_db, gateway) == 1
    with derms_db.connect() as connection:
        row = connection.execute(sa.select(devices)).one()
    assert (row.registration_status, row.registration_due, head_end.deregistered) == ("DEREGISTERED", False,
                                                                                      ["ECO-1"])
    assert reconcile_due(derms_db, gateway) == 0
