"""The daily score run as a task of the program system's runtime: every few seconds it asks the clock
(`clock.utcnow()`, so a moved shared clock moves it too) whether today's run is due (runs.run_if_due)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from derbridge.config import ConfigError, Settings
from derbridge.dacs.scores import runs
from derbridge.runtime.system import Task

CHECK_EVERY_S = 10.0


def score_destination(settings: Settings) -> runs.Destination:
    """The program system's own copies under its data directory, and the pickup directory when configured."""
    return runs.Destination(settings.data_dir / "files" / "dacs",
                            Path(settings.score_file_dir) if settings.score_file_dir else None)


def daily_score_run(settings: Settings) -> Task:
    if not 0 <= settings.score_run_hour <= 23:
        raise ConfigError(f"setting score_run_hour: {settings.score_run_hour} is not an hour of the day (0-23)")
    return Task("daily-score-run", CHECK_EVERY_S,
                partial(runs.run_if_due, destination=score_destination(settings), hour=settings.score_run_hour))
