"""season-time: wall time of `derbridge demo --season` on a fresh data directory (the utility of 3,000
customers, or N with --size): set-up, eight events on the shared clock, the closing table.

Baseline, same run: starting the interpreter and importing the CLI (`derbridge --help`).
"""

from __future__ import annotations

import sys
from typing import Any

from derbridge.benchmarks.demo_time import timed

TARGET_S = 90.0
"""About a minute of wall time, as the season's issue asks; the margin is for a shared machine."""


def run(size: int | None, database: str | None) -> dict[str, Any]:
    baseline = timed([sys.executable, "-m", "derbridge.cli", "--help"])
    command = [sys.executable, "-m", "derbridge.cli", "demo", "--season"]
    value = timed(command + (["--customers", str(size)] if size else []))
    return {"name": "season-time", "value": round(value, 2), "unit": "s", "baseline": round(baseline, 2),
            "ratio": round(value / baseline, 2), "target": TARGET_S, "met": value <= TARGET_S,
            "size": size or 3_000}
