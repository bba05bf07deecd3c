"""enroll-bulk: DERMS's share of a bulk initial sync of N enrolled devices, end to end (target: 1,000,000 in
40 s): the file PUT, checked, applied chunk by chunk, every device registered with its head end, and the ack
file written and queued for the hub.

DERMS runs in this process (its simulated clouds are in-process, and get a fleet holding every device). Five
devices belong to four customers; one customer in a hundred is missing from the CIS, so its rows are refused.
Baseline, same run: inserting the file's N rows into one table with bulk_insert, the floor of any apply.
Peak memory is sampled during the sync only (the benchmark's own frames are built before it starts); the time
spent inside the simulated clouds is reported apart (in production they are other systems).
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import psutil
import sqlalchemy as sa

from derbridge.bootstrap import BackgroundSystems, local_settings
from derbridge.clock import utcnow
from derbridge.dataset.fleets import HEAD_ENDS
from derbridge.derms.headend.model import DeviceStatus, Registration
from derbridge.derms.headend.simulator import CloudProfile, SimulatedCloud
from derbridge.derms.schema import customer_contacts, customers, service_locations
from derbridge.store.bulk import bulk_insert
from derbridge.store.db import make_engine
from derbridge.store.testing import drop_postgres_database, fresh_postgres_database
from derbridge.web.auth import outbound_credential
from derbridge.web.client import CHECKSUM_HEADER, make_client
from derbridge.web.operator import checked, operator_client, wait_for

DEFAULT_SIZE = 100_000
TARGET_S_PER_MILLION = 40.0
START = datetime(2025, 1, 1, tzinfo=UTC)

HEAD_END_SYSTEMS = tuple(head_end.name for head_end in HEAD_ENDS)


def run(size: int | None, database: str | None) -> dict[str, Any]:
    size = size or DEFAULT_SIZE
    with tempfile.TemporaryDirectory(prefix="enroll-bulk-") as scratch:
        directory = Path(scratch)
        settings = local_settings(directory / "data", log_level="warning")
        url = fresh_postgres_database(database, "derbridge_bench") if database else ""
        if url:
            settings = settings.with_overrides(derms_database_url=url)
        rows = synthetic_rows(size)
        file = directory / "enroll-sync.parquet"
        rows.write_parquet(file)
        baseline = baseline_seconds(rows, directory)
        stack = BackgroundSystems(("derms",), settings).start()
        try:
            load_cis(settings.database_url("derms"), rows)
            clouds = fill_fleets(stack, rows)
            del rows
            value, peak_mb, job = timed_sync(settings, file)
        finally:
            stack.stop()
            if url:
                drop_postgres_database(url)
    target = TARGET_S_PER_MILLION * size / 1_000_000
    return {"name": "enroll-bulk", "value": round(value, 2), "unit": "s", "baseline": round(baseline, 2),
            "ratio": round(value / baseline, 1), "target": round(target, 1), "met": value <= target, "size": size,
            "peak_rss_mb_during_sync": peak_mb, "rows_per_s": round(size / value),
            "inside_simulated_clouds_s": round(sum(cloud.seconds for cloud in clouds), 2),
            "details": {key: job[key] for key in ("rowsApplied", "rowsRefused", "registered", "notRegistered")}}


def synthetic_rows(size: int) -> pl.DataFrame:
    """N devices of 0.8 N customers across the three head ends, as the program system would export them."""
    device = pl.int_range(size, dtype=pl.Int64)
    owner = device * 4 // 5
    head_end = pl.lit(pl.Series(HEAD_END_SYSTEMS)).get(device % len(HEAD_END_SYSTEMS))
    return pl.select(
        syncRequestId=pl.lit("BENCH1"), subscriptionId=pl.format("S{}", owner), cisPersonId=pl.format("P{}", owner),
        contactId=pl.format("C{}", owner), cisAccountId=pl.format("A{}", owner), subscriptionType=pl.lit("DR"),
        status=pl.lit("ACTIVE"), programId=pl.lit("PRG1"), programCode=pl.lit("SMARTSTAT"),
        startDateTime=pl.lit(START), endDateTime=pl.lit(None, pl.Datetime("us", "UTC")), division=pl.lit("NORTH"),
        servicePointId=pl.format("X{}", owner), cisPremiseId=pl.format("PR{}", owner),
        cisServicePointId=pl.format("SP{}", owner), deviceId=pl.format("D{}", device),
        nicId=pl.format("N{}", device), headEndSystem=head_end, specification=pl.lit("TSTAT-ECO-ET300"),
        deviceType=pl.lit("SMART-THERMOSTAT"), installDateTime=pl.lit(datetime(2024, 6, 1, tzinfo=UTC)),
        isActive=pl.lit(True),
    )


def load_cis(url: str, rows: pl.DataFrame) -> None:
    """Every customer of the rows but one in a hundred."""
    people = (rows.select("cisPersonId", "contactId", "cisAccountId", "cisPremiseId", "cisServicePointId")
              .unique("cisPersonId").filter(pl.col("cisPersonId").str.slice(1).cast(pl.Int64) % 100 != 7))
    now = utcnow()
    engine = make_engine(url)
    with engine.begin() as connection:
        bulk_insert(connection, customers, people.select(cis_person_id="cisPersonId", name="cisPersonId",
                                                         imported_at=pl.lit(now)))
        bulk_insert(connection, customer_contacts, people.select(
            contact_id="contactId", cis_person_id="cisPersonId", kind=pl.lit("EMAIL"), value=pl.lit("x@example.org"),
            imported_at=pl.lit(now)))
        bulk_insert(connection, service_locations, people.select(
            cis_service_point_id="cisServicePointId", cis_premise_id="cisPremiseId", cis_account_id="cisAccountId",
            location_id="cisServicePointId", address1=pl.lit("1 Main St"), city=pl.lit("Springfield"),
            state=pl.lit("IL"), postal=pl.lit("62701"), country=pl.lit("USA"), time_zone=pl.lit("America/Chicago"),
            imported_at=pl.lit(now)))
    engine.dispose()


def fill_fleets(stack: BackgroundSystems, rows: pl.DataFrame) -> list[TimedCloud]:
    """Each simulated cloud holds every device of its head end; returns them, timed."""
    gateway = stack.running[0].config.app.state.services.gateway  # type: ignore[union-attr]
    clouds = []
    for name in HEAD_END_SYSTEMS:
        fleet = rows.filter(pl.col("headEndSystem") == name).select(
            "nicId", serialNo="deviceId", make=pl.lit("ECOTHERM"), model=pl.lit("ET300"), firmware=pl.lit("5.4.2"),
            online=pl.lit(True), lastSeenUtc=pl.lit(START))
        clouds.append(TimedCloud(SimulatedCloud(CloudProfile(name), fleet)))
        gateway.head_ends[name] = clouds[-1]
    return clouds


class TimedCloud:
    """A simulated cloud that counts the time spent inside it: the clouds' share, not DERMS's."""

    def __init__(self, cloud: SimulatedCloud) -> None:
        self.cloud = cloud
        self.name = cloud.name
        self.reporting_lag_s = cloud.reporting_lag_s
        self.seconds = 0.0

    def latest_status(self, nic_ids: list[str]) -> list[DeviceStatus]:
        return self.cloud.latest_status(nic_ids)

    def register(self, nic_ids: list[str]) -> list[Registration]:
        started = time.perf_counter()
        try:
            return self.cloud.register(nic_ids)
        finally:
            self.seconds += time.perf_counter() - started

    def deregister(self, nic_ids: list[str]) -> list[Registration]:
        return self.cloud.deregister(nic_ids)


def timed_sync(settings: Any, file: Path) -> tuple[float, float, dict[str, Any]]:
    """Seconds from the start of the PUT until the ack file is queued, and peak resident MB meanwhile."""
    body = file.read_bytes()
    digest = hashlib.sha256(body).hexdigest()
    sampler = _PeakMemory()
    sampler.start()
    started = time.perf_counter()
    with make_client(settings.url("derms"), outbound_credential(settings, "hub", "derms"), 600) as hub:
        checked(hub.put("/files/enroll-sync", params={"bulkSyncId": "BENCH1"}, content=body,
                        headers={CHECKSUM_HEADER: digest}))
    del body
    with operator_client(settings, "derms") as operator:
        job = wait_for(lambda: _finished(checked(operator.get("/api/bulk-syncs/BENCH1"))), 3600,
                       "the bulk sync to finish", interval_s=0.2)
    elapsed = time.perf_counter() - started
    sampler.stop()
    if job["state"] != "DONE":
        raise RuntimeError(f"the bulk sync failed: {job['error']}")
    return elapsed, sampler.peak_mb, job


def _finished(job: dict[str, Any]) -> dict[str, Any] | None:
    return job if job["state"] in ("DONE", "FAILED") else None


def baseline_seconds(rows: pl.DataFrame, directory: Path) -> float:
    engine = make_engine(f"sqlite:///{directory / 'baseline.sqlite'}")
    table = sa.Table("rows", sa.MetaData(), *(sa.Column(name, sa.Text) for name in rows.columns))
    table.create(engine)
    started = time.perf_counter()
    with engine.begin() as connection:
        bulk_insert(connection, table, rows.with_columns(pl.all().cast(pl.String)))
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed


class _PeakMemory:
    def __init__(self) -> None:
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        process = psutil.Process()
        while not self._stop.wait(0.1):
            self.peak_mb = max(self.peak_mb, round(process.memory_info().rss / 2**20, 1))
