"""When and where score runs happen: the daily run as a task of the program system's runtime, which every few
seconds asks the clock (`clock.utcnow()`, so a moved shared clock moves it too) whether today's run is due
(runs.run_if_due); and where a run's files go. Scoring loads polars, so runs.py is imported only when a run is
due: the program system starts without it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from derbridge.config import ConfigError, Settings
from derbridge.runtime.system import Task

CHECK_EVERY_S = 10.0


@dataclass(frozen=True)
class Destination:
    """Where a run's files go: the program system's own copies (the outbox's), and the pickup directory."""

    files_dir: Path
    pickup_dir: Path | None = None


def score_destination(settings: Settings) -> Destination:
    """The program system's own copies under its data directory, and the pickup directory when configured."""
    return Destination(settings.data_dir / "files" / "dacs",
                       Path(settings.score_file_dir) if settings.score_file_dir else None)


def score_tasks(settings: Settings) -> list[Task]:
    """The daily run after `score_run_hour` (UTC), or nothing when it is -1 (runs on demand only)."""
    if not -1 <= settings.score_run_hour <= 23:
        raise ConfigError(f"setting score_run_hour: {settings.score_run_hour} is not an hour of the day (0-23), "
                          "nor -1 (no daily run)")
    if settings.score_run_hour == -1:
        return []
    destination, hour = score_destination(settings), settings.score_run_hour

    def run_if_due(engine: Engine) -> str | None:
        from derbridge.dacs.scores import runs

        return runs.run_if_due(engine, destination, hour)

    return [Task("daily-score-run", CHECK_EVERY_S, run_if_due)]
