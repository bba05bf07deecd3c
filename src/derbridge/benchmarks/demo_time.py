"""demo-time: wall time of `derbridge demo` on a fresh data directory, after install.

Baseline, same run: starting the interpreter and importing the CLI (`derbridge --help`).
"""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

TARGET_S = 20.0


def run(size: int | None, database: str | None) -> dict[str, Any]:
    baseline = timed([sys.executable, "-m", "derbridge.cli", "--help"])
    value = timed([sys.executable, "-m", "derbridge.cli", "demo"])
    return {"name": "demo-time", "value": round(value, 2), "unit": "s", "baseline": round(baseline, 2),
            "ratio": round(value / baseline, 2), "target": TARGET_S, "met": value <= TARGET_S}


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, timeout=300)
    return time.perf_counter() - started
