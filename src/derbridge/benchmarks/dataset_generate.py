"""dataset-generate: seconds to generate N customers, against polars writing N random ints to Parquet.

The baseline is the floor for any generator that writes Parquet with polars: one file of N rows.
"""

from __future__ import annotations

import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import polars as pl

from derbridge.dataset.draws import Dice
from derbridge.dataset.generate import generate

DEFAULT_SIZE = 1_000_000
TARGET_SECONDS = 60.0


def run(size: int | None, database: str | None) -> dict[str, Any]:
    """database is not used: generation writes files only."""
    customers = size or DEFAULT_SIZE
    with tempfile.TemporaryDirectory(prefix="derbridge-dataset-") as scratch:
        baseline = seconds_to_write_random_ints(Path(scratch) / "baseline.parquet", customers)
        started = time.perf_counter()
        manifest = generate(Path(scratch) / "dataset", customers, seed=1)
        value = time.perf_counter() - started
    return {
        "name": "dataset-generate", "value": round(value, 2), "unit": "s", "baseline": round(baseline, 3),
        "ratio": round(value / baseline, 1), "target": TARGET_SECONDS, "met": value <= TARGET_SECONDS,
        "peak_rss_mb": peak_rss_mb(),
        "details": {"customers": customers, "rows": sum(table.rows for table in manifest.tables),
                    "megabytes": round(sum(table.bytes for table in manifest.tables) / 1e6, 1),
                    "slowest table": max(manifest.tables, key=lambda table: table.seconds).name},
    }


def seconds_to_write_random_ints(path: Path, rows: int) -> float:
    frame = pl.select(row=pl.int_range(rows)).select(value=Dice(seed=1).bits("baseline"))
    started = time.perf_counter()
    frame.write_parquet(path)
    return time.perf_counter() - started


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (Linux reports kilobytes)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
