"""score-file: F7 end to end, each system its own process: a score file of N rows (default 1,000,000) queued in
the program system's outbound files, PUT to the hub by its sender, checked and mapped by the hub, delivered to
DERMS, checked whole there, loaded as a new score set and switched to.

Set-up, not timed: the file (layout v1, realistic components) written by polars and the systems started.
Timed: from queueing the file in the program system until DERMS's set is in force. Reported beside it: where
the time went (program system → hub recorded, hub → DERMS checked and kept, DERMS loading and switching) and
each process's peak resident memory, sampled. Baseline, same run: the same rows bulk-loaded into an empty
table of a DERMS database of the same kind (`bulk_insert`: COPY on PostgreSQL, many rows per INSERT on SQLite;
the median of three), the least DERMS must do to hold them.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import polars as pl
import sqlalchemy as sa

from derbridge.benchmarks.bulk_import import PeakMemory
from derbridge.benchmarks.f3_sync import postgres_urls
from derbridge.bootstrap import local_settings
from derbridge.clock import iso_z
from derbridge.dacs.schema import outbound_files
from derbridge.dacs.scores import score_file
from derbridge.derms.scores.schema import score_set_rows
from derbridge.scenario.processes import running
from derbridge.store.bulk import bulk_insert
from derbridge.store.db import make_engine
from derbridge.store.migrations import upgrade
from derbridge.store.outbox import new_file_values
from derbridge.store.testing import drop_postgres_database, fresh_postgres_database
from derbridge.web.operator import checked, operator_client, wait_for

DEFAULT_SIZE = 1_000_000
TARGET_S = 10.0
TARGET_RATIO = 3.0
TARGET_PEAK_MB = 600.0
HUB_PATH = "/hub/files/from-dacs/deviceScores"
COMPUTED_AT = datetime(2026, 11, 23, 2, tzinfo=UTC)


def run(size: int | None, database: str | None) -> dict[str, Any]:
    size = size or DEFAULT_SIZE
    with tempfile.TemporaryDirectory(prefix="derbridge-bench-") as tmp:
        rows = file_rows(size)
        path = Path(tmp) / "scores" / score_file.file_name(COMPUTED_AT)
        sha256 = score_file.write(rows, path)
        baseline = baseline_s(Path(tmp), rows, database)
        value, details = transfer_s(Path(tmp), path, sha256, size, database)
    ratio = value / baseline
    peak = max(details["peak_rss_mb"].values())
    return {"name": "score-file", "value": round(value, 2), "unit": "s", "baseline": round(baseline, 2),
            "ratio": round(ratio, 2), "peak_rss_mb": peak,
            "target": f"<= {TARGET_S:g} s at 1M, <= {TARGET_RATIO:g}x the baseline, <= {TARGET_PEAK_MB:g} MB a process",
            "met": value <= TARGET_S * max(size, 100_000) / DEFAULT_SIZE and ratio <= TARGET_RATIO
            and peak <= TARGET_PEAK_MB, "size": size, "details": details}


def file_rows(size: int) -> pl.DataFrame:
    """N devices as the program system's file gives them: a tenth not eligible, components like the default
    rule set's."""
    n = pl.int_range(0, size, eager=True)
    ineligible = n % 10 == 0
    return pl.DataFrame({"n": n}).select(
        deviceId=pl.format("D{}", pl.col("n").cast(pl.String).str.zfill(11)),
        nicId=pl.format("ECO-{}", pl.col("n").cast(pl.String).str.zfill(12)),
        headEndSystem=pl.lit("ECOCLOUD"), programCode=pl.lit("SMARTSTAT"),
        subscriptionId=pl.format("U{}", pl.col("n").cast(pl.String).str.zfill(13)),
        score=pl.when(ineligible).then(pl.lit("0")).otherwise(pl.format(
            "{}.{}", (pl.col("n") * 37) % 10000 // 100, ((pl.col("n") * 37) % 100).cast(pl.String).str.zfill(2))),
        eligible=pl.when(ineligible).then(pl.lit("false")).otherwise(pl.lit("true")),
        reason=pl.when(ineligible).then(pl.lit("NOT_COMMUNICATING")),
        computedAt=pl.lit(iso_z(COMPUTED_AT)),
        components=pl.lit("BR=0.5;DE=2;DP=30;ND=1;IO=1;OO=1;AV=1;CU=2;CM=1;CA=4;HEADROOM=0.5;REST=0.066667;"
                          "RELIABILITY=0.45;SC=11.76"))


def transfer_s(tmp: Path, path: Path, sha256: str, size: int, database: str | None) -> tuple[float, dict[str, Any]]:
    settings = local_settings(tmp / "data", log_level="warning", sender_poll_s=0.1, score_run_hour=-1)
    if database:
        settings = settings.with_overrides(**postgres_urls(database))
    with running(settings, ("derms", "hub", "dacs")) as systems:
        dacs_db = make_engine(settings.database_url("dacs"))
        query = urlencode({"runId": "1", "computedAt": iso_z(COMPUTED_AT), "rows": size})
        with PeakMemory(systems) as memory, operator_client(settings, "derms", timeout_s=600) as derms, \
                operator_client(settings, "hub") as hub:
            started = time.perf_counter()
            with dacs_db.begin() as connection:
                connection.execute(sa.insert(outbound_files).values(
                    message_key="device-scores:1", kind="device-scores",
                    **new_file_values(f"{HUB_PATH}?{query}", path, sha256, score_file.CONTENT_TYPE)))
            name = score_file.file_name(COMPUTED_AT)
            held = wait_for(lambda: next((s for s in checked(derms.get("/api/score-sets", params={"limit": 5}))
                                          if s["inForce"] and s["fileName"] == name), None), 900,
                            "the score set in force", interval_s=0.05)
            seconds = time.perf_counter() - started
            [message] = checked(hub.get("/hub/api/messages", params={"key": held["fileName"]}))
        dacs_db.dispose()
    queued = started_at(started, seconds, held["inForceAt"])
    return seconds, {
        "rows": held["rows"], "eligible": held["eligible"], "file_mb": round(path.stat().st_size / 1e6, 1),
        "dacs_to_hub_recorded_s": _since(queued, message["receivedAt"]),
        "hub_to_derms_kept_s": _between(message["receivedAt"], held["receivedAt"]),
        "derms_load_and_switch_s": _between(held["receivedAt"], held["inForceAt"]),
        "peak_rss_mb": memory.peaks}


def started_at(started: float, seconds: float, in_force_at: str) -> datetime:
    """When the file was queued, on the systems' clock: the set's time in force less the seconds measured."""
    from datetime import timedelta

    del started
    return datetime.fromisoformat(in_force_at.replace("Z", "+00:00")) - timedelta(seconds=seconds)


def _since(earlier: datetime, later: str) -> float:
    return round((datetime.fromisoformat(later.replace("Z", "+00:00")) - earlier).total_seconds(), 2)


def _between(earlier: str, later: str) -> float:
    return _since(datetime.fromisoformat(earlier.replace("Z", "+00:00")), later)


def baseline_s(tmp: Path, rows: pl.DataFrame, database: str | None, runs: int = 3) -> float:
    """The same rows into an empty table shaped like DERMS's score rows (no index), through `bulk_insert`, in a
    database of the same kind; the median of `runs`."""
    frame = rows.select(
        set_id=pl.lit("baseline"), head_end_system="headEndSystem", nic_id="nicId", device_id="deviceId",
        subscription_id="subscriptionId", program_code="programCode", score=pl.col("score").cast(pl.Float64),
        eligible=pl.col("eligible") == "true", reason="reason", components="components")
    return statistics.median(_one_baseline(tmp, frame, database, run) for run in range(runs))


def _one_baseline(tmp: Path, frame: pl.DataFrame, database: str | None, run: int) -> float:
    url = fresh_postgres_database(database, "bench_baseline") if database else f"sqlite:///{tmp}/baseline-{run}.sqlite"
    engine = make_engine(url)
    try:
        upgrade("derms", engine)
        table = sa.Table("baseline_rows", sa.MetaData(), *(sa.Column(c.name, c.type) for c in score_set_rows.c))
        table.create(engine)
        started = time.perf_counter()
        with engine.begin() as connection:
            bulk_insert(connection, table, frame)
        return time.perf_counter() - started
    finally:
        engine.dispose()
        if database:
            drop_postgres_database(url)
