"""An aggregator enrolling its customers' devices through DERMS's aggregator API (F4, DERMS's side): what
`derbridge headend enroll`, the demo and the enroll benchmark drive.

It takes N devices of one cloud that the dataset marks as not enrolled, in file order; builds each record from
the dataset's CIS tables (person, account, premise, service point, service agreement) and the device itself,
as a bring-your-own, customer-owned thermostat; submits the records in batches; and polls until every batch
has its results. The same dataset gives the same records, message ids and batch ids, so a second run asks for
the same enrollments (DERMS returns the batches it holds; the program system knows the transactions).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2
import polars as pl

from derbridge.web.operator import checked

ENROLLMENT_SOURCE = "X1BY"  # bring your own
INSTALLATION_METHOD = "X1SI"  # the customer installed it
ASSET_OWNERSHIP = "W1CO"  # customer owned
ASSET_TYPE = "THERMOSTAT"  # what DERMS calls the clouds' devices; the hub translates it for the program system
DEFAULT_PROGRAM = "SMARTSTAT"
DEFAULT_BATCH = 500
ENROLLMENTS_PATH = "/api/aggregator/enrollments"

Progress = Callable[[int, int, int], None]
"""Called as (records submitted, records with results, records in all)."""


# ---- the dataset side: which devices, and their records ----

def dataset_tables(dataset_dir: Path) -> dict[str, Path]:
    """Each table's file, as the dataset's manifest names it."""
    manifest = json.loads((dataset_dir / "manifest.json").read_text())
    return {name: dataset_dir / table["file"] for name, table in manifest["tables"].items()}


def dataset_as_of(dataset_dir: Path) -> datetime:
    manifest = json.loads((dataset_dir / "manifest.json").read_text())
    return datetime.fromisoformat(manifest["asOf"]).astimezone(UTC)


def _scan(path: Path) -> pl.LazyFrame:
    return pl.scan_parquet(path) if path.suffix == ".parquet" else pl.scan_csv(path, infer_schema=False)


def candidates(dataset_dir: Path, head_end: str, count: int, online_only: bool = False) -> pl.DataFrame:
    """The first `count` devices of `head_end` not yet enrolled (and on line, if asked), with their customer,
    location and agreement."""
    tables = {name: _scan(path) for name, path in dataset_tables(dataset_dir).items()}
    enrolled = pl.col("enrolled").cast(pl.String).str.to_lowercase() == "true"
    online = pl.col("online").cast(pl.String).str.to_lowercase() == "true"
    wanted = (pl.col("headEndSystem") == head_end) & ~enrolled & (online if online_only else True)
    devices = (tables["devices"].filter(wanted)
               .select("headEndSystem", "nicId", "serialNo", "make", "model", "cisServicePointId").head(count))
    service_points = tables["service_points"].select("cisServicePointId", "cisPremiseId", "cisAccountId",
                                                     "locationId")
    premises = tables["premises"].select("cisPremiseId", "address1", "city", "county", "state", "postal", "country",
                                         "timeZone")
    accounts = tables["accounts"].select("cisAccountId", "cisPersonId", "division")
    persons = tables["persons"].select("cisPersonId", "name", "homePhone", "businessPhone", "email")
    agreements = (tables["service_agreements"].select("cisServicePointId", "cisServiceAgreementId")
                  .unique("cisServicePointId", keep="first", maintain_order=True))
    joined = devices
    for table, key in ((service_points, "cisServicePointId"), (premises, "cisPremiseId"),
                       (accounts, "cisAccountId"), (persons, "cisPersonId"), (agreements, "cisServicePointId")):
        joined = joined.join(table, on=key, how="left", maintain_order="left")
    return joined.collect()


def message_id(head_end: str, nic_id: str, program_code: str) -> str:
    """The record's id, and so the program system's transactionId: one per device and program."""
    return f"AGG-{head_end}-{nic_id}-{program_code}"


def enrollment_records(devices: pl.DataFrame, program_code: str, start: datetime) -> list[dict[str, Any]]:
    """One record per device, in the shape of DERMS's aggregator API (the F4 `enrollments[]` items)."""
    start_iso = start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    records = []
    for row in devices.iter_rows(named=True):
        records.append({
            "params": {"messageId": message_id(row["headEndSystem"], row["nicId"], program_code)},
            "enrollmentSource": ENROLLMENT_SOURCE,
            "customerInfo": _present(row, "cisPersonId", "cisAccountId", "name", "homePhone", "businessPhone",
                                     "email"),
            "programInfo": {**_present(row, "cisServiceAgreementId"), "programCode": program_code,
                            "startDateTimeISO": start_iso},
            "locationInfo": _present(row, "locationId", "division", "cisPremiseId", "cisServicePointId", "timeZone",
                                     "address1", "city", "county", "state", "postal", "country"),
            "assetInfo": {"installationMethod": INSTALLATION_METHOD, "assetOwnership": ASSET_OWNERSHIP,
                          "assetList": [{"sequence": 1, "specification": f"{row['make']}!{row['model']}",
                                         "assetType": ASSET_TYPE, **_present(row, "serialNo"), "nicId": row["nicId"],
                                         "headEndSystem": row["headEndSystem"]}]},
        })
    return records


def _present(row: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: row[name] for name in names if row.get(name) not in (None, "")}


def batches(records: list[dict[str, Any]], size: int) -> list[dict[str, Any]]:
    """The records cut into batches, each with an id drawn from its records (the same records, the same id)."""
    cut = []
    for start in range(0, len(records), size):
        chunk = records[start:start + size]
        ids = "\n".join(record["params"]["messageId"] for record in chunk)
        head_end = chunk[0]["assetInfo"]["assetList"][0]["headEndSystem"]
        digest = hashlib.sha256(ids.encode()).hexdigest()[:16]
        cut.append({"batchId": f"AGG-{head_end[:20]}-{digest}", "records": chunk})
    return cut


# ---- the DERMS side: submit, then poll ----

@dataclass
class EnrollmentRun:
    """What became of the records an aggregator submitted."""

    requested: int
    """How many devices were asked for (the dataset may have had fewer)."""
    batches: list[dict[str, Any]] = field(default_factory=list)
    """Each batch as DERMS describes it, with its per-record results."""
    seconds: float = 0.0

    @property
    def records(self) -> int:
        return sum(batch["records"] for batch in self.batches)

    @property
    def enrolled(self) -> int:
        return sum(batch["enrolled"] for batch in self.batches)

    @property
    def awaiting(self) -> int:
        return sum(batch["awaiting"] for batch in self.batches)

    def refused_by_reason(self) -> list[tuple[str, int]]:
        """Refusals counted by the program system's message number (or text), most frequent first."""
        reasons: Counter[str] = Counter()
        for batch in self.batches:
            for result in batch.get("results", []):
                if result["responseCode"] not in (None, "SUCCESS"):
                    reasons[_reason(result)] += 1
        return reasons.most_common()


def _reason(result: dict[str, Any]) -> str:
    text = (result.get("messageText") or "").strip()
    if result.get("messageNumber") is not None:
        return f"{result['responseCode']} {result['messageCategory'] or 0}/{result['messageNumber']}: {text}"[:160]
    return f"{result['responseCode']}: {text or 'no reason given'}"[:160]


def enroll(derms: httpx2.Client, records: list[dict[str, Any]], batch_size: int = DEFAULT_BATCH, *,
           progress: Progress | None = None, poll_s: float = 0.5, timeout_s: float = 600.0) -> EnrollmentRun:
    """Submit the records in batches to DERMS (a client with the aggregator credential), then poll each batch
    until it has results or `timeout_s` has passed; the run says what was enrolled and what was refused."""
    started = time.monotonic()
    report = progress or (lambda submitted, settled, total: None)
    run = EnrollmentRun(len(records))
    cut = batches(records, batch_size)
    submitted = 0
    pending: dict[str, int] = {}
    for batch in cut:
        held = checked(derms.post(ENROLLMENTS_PATH, json=batch))
        pending[held["batchId"]] = held["records"]
        submitted += held["records"]
        report(submitted, 0, len(records))
    settled = 0
    deadline = started + timeout_s
    while pending and time.monotonic() < deadline:
        for batch_id in list(pending):
            state = checked(derms.get(f"{ENROLLMENTS_PATH}/{batch_id}", params={"results": "false"}))
            if state["status"] != "SUBMITTED":
                settled += pending.pop(batch_id)
        report(submitted, settled, len(records))
        if pending:
            time.sleep(poll_s)
    run.batches = [checked(derms.get(f"{ENROLLMENTS_PATH}/{batch['batchId']}")) for batch in cut]
    run.seconds = time.monotonic() - started
    return run


def enroll_dataset_devices(derms: httpx2.Client, dataset_dir: Path, head_end: str, count: int,
                           batch_size: int = DEFAULT_BATCH, program_code: str = DEFAULT_PROGRAM,
                           start: datetime | None = None, *, progress: Progress | None = None,
                           poll_s: float = 0.5, timeout_s: float = 600.0) -> EnrollmentRun:
    """The whole aggregator in one call: up to `count` devices of `head_end` not yet enrolled, their records,
    submitted to DERMS and followed until every batch has results (or `timeout_s` has passed)."""
    devices = candidates(dataset_dir, head_end, count)
    records = enrollment_records(devices, program_code, start or dataset_as_of(dataset_dir))
    run = enroll(derms, records, batch_size, progress=progress, poll_s=poll_s, timeout_s=timeout_s)
    run.requested = count
    return run
