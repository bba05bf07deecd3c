"""up-idle-memory: resident memory of `derbridge up` (all three systems in one process) once idle.

Baseline, same run: a bare Python interpreter that imports nothing of ours.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

from derbridge.bootstrap import local_settings
from derbridge.operator import operator_client, wait_for
from derbridge.processes import settings_env

TARGET_MB = 250.0
SETTLE_S = 3.0


def run(size: int | None, database: str | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="derbridge-bench-") as tmp:
        settings = local_settings(Path(tmp))
        env = {**os.environ, **settings_env(settings)}
        process = subprocess.Popen([sys.executable, "-m", "derbridge.cli", "up"], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            with operator_client(settings, "hub", 2) as hub:
                wait_for(lambda: _healthy(hub), 60, "derbridge up")
            time.sleep(SETTLE_S)
            value = psutil.Process(process.pid).memory_info().rss / 1e6
        finally:
            process.terminate()
            process.wait(timeout=30)
    baseline = _bare_python_rss_mb()
    return {"name": "up-idle-memory", "value": round(value, 1), "unit": "MB", "baseline": round(baseline, 1),
            "ratio": round(value / baseline, 2), "target": TARGET_MB, "met": value <= TARGET_MB}


def _healthy(client: Any) -> bool:
    try:
        return bool(client.get("/health").status_code == 200)
    except Exception:
        return False


def _bare_python_rss_mb() -> float:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])
    time.sleep(1.0)
    rss = psutil.Process(process.pid).memory_info().rss / 1e6
    process.kill()
    process.wait()
    return float(rss)
