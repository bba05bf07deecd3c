"""A small utility brought to life through the systems' own APIs: its customers loaded from a CIS extract into
both systems, its demand-response programs set up and approved, aggregators enrolling their customers'
devices. The demo, the end-to-end tests and the enrollment benchmarks all start from here, so they exercise
exactly what an operator would do."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2

from derbridge.cisload import client as cis
from derbridge.config import Settings
from derbridge.operator import checked, operator_client, wait_for
from derbridge.web.auth import outbound_credential
from derbridge.web.client import make_client

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


def enrollment_counts(settings: Settings) -> dict[str, int]:
    with operator_client(settings, "dacs") as dacs:
        return dict(checked(dacs.get("/health"))["enrollments"])


def registered_devices(settings: Settings) -> int:
    with operator_client(settings, "dacs") as dacs:
        return len(checked(dacs.get("/api/devices", params={"registration": "D1RE", "limit": 5000})))


def wait_until(settings: Settings, done: Callable[[dict[str, int]], bool], timeout_s: float, what: str,
               poll_s: float = 0.25) -> dict[str, int]:
    """Poll the program system's enrollment counts until `done` says so."""
    return wait_for(lambda: (lambda counts: counts if done(counts) else None)(enrollment_counts(settings)),
                    timeout_s, what, interval_s=poll_s)


def elapsed(since: float) -> float:
    return time.perf_counter() - since


def count_of(counts: dict[str, Any], *statuses: str) -> int:
    return sum(int(counts.get(status, 0)) for status in statuses)
