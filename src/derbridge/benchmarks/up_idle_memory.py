"""up-idle-memory: resident memory of `derbridge up` (all three systems in one process) once idle.

Baseline, same run: a bare Python interpreter that imports nothing of ours.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

from derbridge.bootstrap import local_settings
from derbridge.scenario.processes import SystemProcess

TARGET_MB = 250.0
SETTLE_S = 3.0


def run(size: int | None, database: str | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="derbridge-bench-") as tmp:
        up = SystemProcess("hub", local_settings(Path(tmp)), command="up").start()
        try:
            time.sleep(SETTLE_S)
            value = psutil.Process(up.pid).memory_info().rss / 1e6
        finally:
            up.stop()
    baseline = _bare_python_rss_mb()
    return {"name": "up-idle-memory", "value": round(value, 1), "unit": "MB", "baseline": round(baseline, 1),
            "ratio": round(value / baseline, 2), "target": TARGET_MB, "met": value <= TARGET_MB}


def _bare_python_rss_mb() -> float:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])
    time.sleep(1.0)
    rss = psutil.Process(process.pid).memory_info().rss / 1e6
    process.kill()
    process.wait()
    return float(rss)
