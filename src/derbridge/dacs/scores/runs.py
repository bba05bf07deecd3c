"""Score runs: every scored device's score computed at once, stored, written as the score file and queued to the
hub (F7); daily at a configured UTC hour, and on demand.

A run computes as of one instant, `computed_at` (whole seconds: the file's name and every row say it). It reads
the variables (variables.py) and scores each program's devices by its rule set or the default. Then, in one
transaction, it replaces the stored scores while the file is written (score_file.py) and a copy with its
checksum sidecar dropped into the pickup directory when one is configured, queues the file in `outbound_files`
(PUT to the hub with `Idempotency-Key: device-scores:<runId>`) and marks the run DONE with its counts and
timings. A fault marks it FAILED with the error and leaves the previous scores as they were.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import polars as pl
import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from derbridge.clock import as_utc, iso_utc, iso_z, utcnow
from derbridge.dacs import ids
from derbridge.dacs.schema import device_scores, outbound_files, score_runs
from derbridge.dacs.scores import score_file
from derbridge.dacs.scores.formula import RuleSet
from derbridge.dacs.scores.frames import score_frame
from derbridge.dacs.scores.inputs import WHOLE_NUMBERS
from derbridge.dacs.scores.rule_sets import Scoring, default_scoring, scoring_by_program
from derbridge.dacs.scores.schedule import Destination
from derbridge.dacs.scores.variables import IDENTITY, device_variables
from derbridge.errors import Conflict, NotFound
from derbridge.store.bulk import bulk_insert
from derbridge.store.db import reading
from derbridge.store.outbox import new_file_values

log = structlog.get_logger()
SCHEDULE, DEMAND = "SCHEDULE", "DEMAND"
RUNNING, DONE, FAILED = "RUNNING", "DONE", "FAILED"
HUB_PATH = "/hub/files/from-dacs/deviceScores"
STALE = timedelta(minutes=30)
"""A run RUNNING longer than this was cut short (the process stopped): the next run marks it FAILED."""
RUN_ID_DIGITS = 14


def start(engine: Engine, trigger: str, who: str, now: datetime | None = None,
          scheduled_day: date | None = None) -> str:
    """Record a new RUNNING run as of `now` in whole seconds, or of the second after the latest run's when that
    is later (each run's file has a name of its own); Conflict while another run is running."""
    asked_at = (now or utcnow()).replace(microsecond=0)
    run_id = ids.new_id(RUN_ID_DIGITS)
    try:
        with engine.begin() as connection:
            running = connection.execute(sa.select(score_runs.c.run_id, score_runs.c.computed_at).where(
                score_runs.c.status == RUNNING)).all()
            if any(asked_at - as_utc(row.computed_at) < STALE for row in running):
                raise Conflict(f"score run {running[0].run_id} is running; wait for it (`derbridge scores runs`)")
            connection.execute(sa.update(score_runs).where(score_runs.c.status == RUNNING).values(
                status=FAILED, error="interrupted: the program system stopped during the run", finished_at=asked_at))
            latest = connection.execute(sa.select(sa.func.max(score_runs.c.computed_at))).scalar_one_or_none()
            computed_at = asked_at if latest is None else max(asked_at, as_utc(latest) + timedelta(seconds=1))
            connection.execute(sa.insert(score_runs).values(
                run_id=run_id, trigger=trigger, scheduled_day=scheduled_day, status=RUNNING, requested_by=who,
                computed_at=computed_at, file_name=score_file.file_name(computed_at)))
    except IntegrityError as exc:  # another process started one at the same moment
        raise Conflict(f"another score run started at {iso_z(asked_at)}"
                       + (f" or ran for {scheduled_day} already" if scheduled_day else "")) from exc
    return run_id


def execute(engine: Engine, run_id: str, destination: Destination) -> dict[str, Any]:
    """Compute, write and queue a started run; FAILED with the error if anything goes wrong (raised again)."""
    try:
        return _execute(engine, run_id, destination)
    except Exception as exc:
        with engine.begin() as connection:
            connection.execute(sa.update(score_runs).where(score_runs.c.run_id == run_id).values(
                status=FAILED, error=f"{type(exc).__name__}: {exc}"[:2000], finished_at=utcnow()))
        log.exception("scores.run_failed", run_id=run_id)
        raise


def run_now(engine: Engine, destination: Destination, who: str, now: datetime | None = None) -> dict[str, Any]:
    return execute(engine, start(engine, DEMAND, who, now), destination)


def run_if_due(engine: Engine, destination: Destination, hour: int, now: datetime | None = None) -> str | None:
    """The daily schedule: once the clock has passed `hour` (UTC) on a day with no scheduled run yet, run one;
    its id, or None when none was due. Days the system did not see are not made up."""
    now = now or utcnow()
    if now.hour < hour:
        return None
    with reading(engine) as connection:
        if connection.execute(sa.select(score_runs.c.run_id).where(
                score_runs.c.scheduled_day == now.date())).first() is not None:
            return None
    try:
        run_id = start(engine, SCHEDULE, "schedule", now, scheduled_day=now.date())
    except Conflict:
        return None  # running already, or another process took today's run
    execute(engine, run_id, destination)
    return run_id


def score_devices(variables: pl.DataFrame, by_program: dict[str, Scoring], default: Scoring) -> pl.DataFrame:
    """IDENTITY, score, eligible, reason and components of every device, each scored by its program's rule set
    (the default for programs without one)."""
    groups: dict[str, tuple[Scoring, list[str]]] = {}
    for code, scoring in by_program.items():
        groups.setdefault(scoring.name, (scoring, []))[1].append(code)
    parts = [(scoring, pl.col("program_code").is_in(codes)) for scoring, codes in groups.values()]
    parts.append((default, ~pl.col("program_code").is_in(list(by_program))))
    return pl.concat([_scored_once_per_inputs(scoring.rule_set, variables.filter(which)) for scoring, which in parts])


def _scored_once_per_inputs(rule_set: RuleSet, devices: pl.DataFrame) -> pl.DataFrame:
    """Devices with the same inputs score the same, so each distinct set of inputs is scored and explained once
    (a fleet has far fewer than it has devices, and the components column is most of the work), then joined
    back to its devices in their order."""
    inputs = list(rule_set.inputs)
    outputs = ("score", "eligible", "reason")
    if not inputs:
        return _scored_and_explained(rule_set, devices).select(*IDENTITY, *outputs, "components")
    scored = _scored_and_explained(rule_set, devices.select(inputs).unique()).select(*inputs, *outputs, "components")
    return devices.select(*IDENTITY, *inputs).join(
        scored, on=inputs, how="left", nulls_equal=True, maintain_order="left").select(
        *IDENTITY, *outputs, "components")


def _scored_and_explained(rule_set: RuleSet, frame: pl.DataFrame) -> pl.DataFrame:
    return score_frame(rule_set, frame).with_columns(
        score_file.components(rule_set, WHOLE_NUMBERS).alias("components"))


def _execute(engine: Engine, run_id: str, destination: Destination) -> dict[str, Any]:
    """Score, then write the file (in a thread: polars and hashing leave Python free) while the scores are
    stored, and queue the file in the same transaction."""
    started = time.perf_counter()
    run = _run_row(engine, run_id)
    computed_at = as_utc(run.computed_at)
    scored, read_s = _scored(engine, computed_at)
    compute_s = time.perf_counter() - started - read_s
    path = destination.files_dir / "scores" / run.file_name
    with ThreadPoolExecutor(1, thread_name_prefix="score-file") as pool, engine.begin() as connection:
        written = pool.submit(_write_file, scored, computed_at, path, destination.pickup_dir)
        connection.execute(sa.delete(device_scores))
        bulk_insert(connection, device_scores, _stored(scored))
        rows, sha256 = written.result()
        query = urlencode({"runId": run_id, "computedAt": iso_z(computed_at), "rows": rows})
        connection.execute(sa.insert(outbound_files).values(
            message_key=f"device-scores:{run_id}", kind="device-scores",
            **new_file_values(f"{HUB_PATH}?{query}", path, sha256, score_file.CONTENT_TYPE)))
        seconds = time.perf_counter() - started
        connection.execute(sa.update(score_runs).where(score_runs.c.run_id == run_id).values(
            status=DONE, sha256=sha256, devices=rows, eligible=int(scored["eligible"].sum()),
            programs=scored["program_code"].n_unique(), reasons=json.dumps(_reasons(scored)),
            read_s=round(read_s, 3), compute_s=round(compute_s, 3), write_s=round(seconds - read_s - compute_s, 3),
            seconds=round(seconds, 3), finished_at=utcnow()))
    return get(engine, run_id)


def _scored(engine: Engine, computed_at: datetime) -> tuple[pl.DataFrame, float]:
    """Every device scored as of `computed_at`, and the seconds reading took."""
    started = time.perf_counter()
    variables = device_variables(engine, computed_at)
    with reading(engine) as connection:
        by_program = scoring_by_program(connection)
    read_s = time.perf_counter() - started
    return score_devices(variables, by_program, default_scoring()), read_s


def _write_file(scored: pl.DataFrame, computed_at: datetime, path: Path, pickup_dir: Path | None) -> tuple[int, str]:
    """The score file written, and dropped for pickup when configured: its rows and SHA-256."""
    rows = score_file.file_rows(scored, computed_at)
    sha256 = score_file.write(rows, path)
    if pickup_dir is not None:
        score_file.drop(path, sha256, pickup_dir)
    return rows.height, sha256


def _stored(scored: pl.DataFrame) -> pl.DataFrame:
    """The stored scores: the score as the file writes it (rounded to 6 digits, never below 0)."""
    return scored.select(
        "device_id", score_file.file_score(pl.col("score")), "eligible", "reason", "components")


def _reasons(scored: pl.DataFrame) -> dict[str, int]:
    counts = scored.filter(pl.col("reason").is_not_null()).group_by("reason").len().sort("reason")
    return {str(reason): int(n) for reason, n in counts.iter_rows()}


def runs(engine: Engine, limit: int = 50) -> list[dict[str, Any]]:
    """Score runs, newest first."""
    with reading(engine) as connection:
        rows = connection.execute(sa.select(score_runs).order_by(score_runs.c.computed_at.desc()).limit(limit))
        return [_shown(row) for row in rows]


def get(engine: Engine, run_id: str) -> dict[str, Any]:
    return _shown(_run_row(engine, run_id))


def latest_done(engine: Engine) -> dict[str, Any] | None:
    with reading(engine) as connection:
        row = connection.execute(sa.select(score_runs).where(score_runs.c.status == DONE)
                                 .order_by(score_runs.c.computed_at.desc()).limit(1)).first()
    return _shown(row) if row is not None else None


def _run_row(engine: Engine, run_id: str) -> Any:
    with reading(engine) as connection:
        row = connection.execute(sa.select(score_runs).where(score_runs.c.run_id == run_id)).first()
    if row is None:
        raise NotFound("score run", run_id)
    return row


def _shown(row: Any) -> dict[str, Any]:
    ineligible = None if row.devices is None or row.eligible is None else row.devices - row.eligible
    return {"runId": row.run_id, "trigger": row.trigger, "status": row.status, "requestedBy": row.requested_by,
            "computedAt": iso_z(row.computed_at), "scheduledDay": row.scheduled_day and row.scheduled_day.isoformat(),
            "fileName": row.file_name, "sha256": row.sha256, "devices": row.devices, "eligible": row.eligible,
            "ineligible": ineligible, "programs": row.programs,
            "reasons": json.loads(row.reasons) if row.reasons else {}, "readS": row.read_s,
            "computeS": row.compute_s, "writeS": row.write_s, "seconds": row.seconds, "error": row.error,
            "finishedAt": iso_utc(row.finished_at)}
