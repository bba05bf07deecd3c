"""A small utility brought to life through the systems' own APIs: its customers loaded from a CIS extract into
both systems, its demand-response programs set up and approved, aggregators enrolling their customers'
devices. The demo, the end-to-end tests and the enrollment benchmarks all start from here, so they exercise
exactly what an operator would do."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import httpx2

from derbridge.config import Settings
from derbridge.scenario import cis_load as cis
from derbridge.web.auth import outbound_credential
from derbridge.web.client import make_client
from derbridge.web.operator import checked, operator_client, wait_for

PROGRAM_TYPE = {"description": "Smart thermostat demand response", "category": "DR", "deviceRequired": True,
                "preemptiveOptOutAllowed": True, "optOutCutoffMinutes": 60, "unavailabilityAllowed": True}
PROGRAM_TYPE_CODE = "DR-TSTAT"
PROGRAMS = {"SMARTSTAT": "Smart Thermostat Rewards", "PEAKREWARDS": "Peak Time Rewards"}
APPROVER = "derbridge scenario"


def load_customers(settings: Settings, dataset_dir: Path) -> dict[str, int]:
    """Every CIS table of the extract into each system that takes it; rows loaded per system."""
    files = cis.read_manifest(dataset_dir)
    loaded = {}
    for system in ("dacs", "derms"):
        with operator_client(settings, system, timeout_s=cis.IMPORT_TIMEOUT_S) as client:
            steps = cis.plan(files, {system: cis.tables_taken(client, system)}, None)
            loaded[system] = sum(int(cis.upload(client, step)["rows"]) for step in steps)
    return loaded


def set_up_programs(settings: Settings, specifications: list[str], rates: list[str],
                    start_date: str = "2025-01-01") -> list[str]:
    """The demand-response program type and its programs, eligible for every device model and rate, approved."""
    with operator_client(settings, "dacs") as dacs:
        if dacs.get(f"/api/program-types/{PROGRAM_TYPE_CODE}").status_code == 404:
            checked(dacs.post("/api/program-types", json={"programTypeCode": PROGRAM_TYPE_CODE, **PROGRAM_TYPE}))
        for code, name in PROGRAMS.items():
            if dacs.get(f"/api/programs/{code}").status_code != 404:
                continue
            checked(dacs.post("/api/programs", json={
                "programCode": code, "name": name, "programTypeCode": PROGRAM_TYPE_CODE, "startDate": start_date,
                "eligibleSpecifications": specifications, "eligibleRates": rates}))
            checked(dacs.post(f"/api/programs/{code}/status", json={"status": "PENDING_APPROVAL"}))
            checked(dacs.post(f"/api/programs/{code}/status", json={"status": "ACTIVE", "approvedBy": APPROVER}))
    return list(PROGRAMS)


def dataset_eligibility(dataset_dir: Path) -> tuple[list[str], list[str]]:
    """Every device specification and rate of the dataset: what its programs accept."""
    import polars as pl

    tables = {name: dataset_dir / entry.path.name for name, entry in cis.read_manifest(dataset_dir).items()}
    make_model = pl.read_csv(dataset_dir / "make_model.csv")
    rates_file = tables["rates"]
    rates = pl.read_parquet(rates_file) if rates_file.suffix == ".parquet" else pl.read_csv(rates_file)
    return sorted(make_model["specification"].unique()), sorted(rates["rateCode"].unique())


def aggregator_client(settings: Settings, timeout_s: float = 60.0) -> httpx2.Client:
    """DERMS as an aggregator reaches it: its aggregator API, with the aggregator credential."""
    return make_client(settings.url("derms"), outbound_credential(settings, "aggregator", "derms"), timeout_s)


def program_system_counts(settings: Settings) -> dict[str, dict[str, int]]:
    """Enrollments and sync requests by status, as the program system reports them."""
    with operator_client(settings, "dacs") as dacs:
        health = checked(dacs.get("/health"))
    return {"enrollments": dict(health["enrollments"]), "syncRequests": dict(health["syncRequests"])}


def settled(counts: dict[str, dict[str, int]], expected: int) -> bool:
    """`expected` enrollments are past validation and device setup, and every sync they wrote is acknowledged."""
    enrollments, syncs = counts["enrollments"], counts["syncRequests"]
    underway = sum(enrollments.get(status, 0) for status in ("PENDING", "DEVICE-SETUP"))
    unacknowledged = sum(syncs.get(status, 0) for status in ("PENDING", "SENT"))
    return sum(enrollments.values()) >= expected and not underway and not unacknowledged


def wait_until_settled(settings: Settings, expected: int, timeout_s: float,
                       poll_s: float = 0.25) -> dict[str, dict[str, int]]:
    def check() -> dict[str, dict[str, int]] | None:
        counts = program_system_counts(settings)
        return counts if settled(counts, expected) else None

    return wait_for(check, timeout_s, f"{expected} enrollments through device setup and sync", interval_s=poll_s)


def dataset_start(dataset_dir: Path) -> datetime:
    """The dataset's "as of" date: when its enrollments start (its agreements are in effect then)."""
    return datetime.fromisoformat(json.loads((dataset_dir / "manifest.json").read_text())["asOf"])
