"""outcomes-apply: seconds for the program system to apply N event outcomes from DERMS (target: 100,000 in
3 s, and at most 3× the baseline).

N devices are reserved for one event; their outcomes arrive as DERMS sends them, messages of 1,000, each read
as the endpoint reads it (the JSON body checked by its model) and applied in its own transaction. Baseline,
same run and database: a raw bulk update of the same rows (one executemany of an UPDATE by event and device
through the driver, one transaction), the least any application of these outcomes must cost.
"""

from __future__ import annotations

import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from derbridge.dacs.outcomes.api import PostEventOutcome
from derbridge.dacs.outcomes.outcomes import OUTCOMES, apply_outcomes
from derbridge.dacs.schema import event_participations
from derbridge.store.bulk import bulk_insert
from derbridge.store.db import make_engine
from derbridge.store.migrations import upgrade
from derbridge.store.testing import drop_postgres_database, fresh_postgres_database

DEFAULT_SIZE = 100_000
TARGET_S = 3.0
TARGET_RATIO = 3.0
PER_MESSAGE = 1000
EVENT = "EV-BENCH-1"
START = datetime(2026, 7, 15, 20, tzinfo=UTC)
HEAD_END = "ECOCLOUD"


def run(size: int | None, database: str | None) -> dict[str, Any]:
    size = size or DEFAULT_SIZE
    with tempfile.TemporaryDirectory(prefix="outcomes-apply-") as directory:
        url = fresh_postgres_database(database, "derbridge_bench") if database else \
            f"sqlite:///{Path(directory) / 'dacs.sqlite'}"
        engine = make_engine(url)
        try:
            upgrade("dacs", engine)
            _reserve(engine, size)
            bodies = [json.dumps(_message(start, min(start + PER_MESSAGE, size)))
                      for start in range(0, size, PER_MESSAGE)]
            value, applied = _timed(lambda: _apply(engine, bodies))
            baseline, _ = _timed(lambda: _raw_update(engine, size))
        finally:
            engine.dispose()
            if database:
                drop_postgres_database(url)
    ratio = value / baseline
    return {"name": "outcomes-apply", "value": round(value, 3), "unit": "s", "baseline": round(baseline, 3),
            "ratio": round(ratio, 2), "target": f"<= {TARGET_S} s and <= {TARGET_RATIO}x baseline",
            "met": value <= TARGET_S and ratio <= TARGET_RATIO, "size": size,
            "details": {"messages": len(bodies), "updated": applied, "database": "postgresql" if database
                        else "sqlite"}}


def _timed(work: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def _reserve(engine: Engine, size: int) -> None:
    now = datetime.now(UTC)
    frame = pl.DataFrame({"nic_id": [f"NIC-{n:09d}" for n in range(size)]}).with_columns(
        event_external_id=pl.lit(EVENT), head_end_system=pl.lit(HEAD_END), program_code=pl.lit("SMARTSTAT"),
        reserved=pl.lit(True), opted_out=pl.lit(False), updated_at=pl.lit(now).dt.convert_time_zone("UTC"))
    with engine.begin() as connection:
        bulk_insert(connection, event_participations, frame)


def _message(first: int, last: int) -> dict[str, Any]:
    end = START + timedelta(hours=2)
    return {"postOutcomeList": [
        {"eventExternalIdentifier": EVENT, "headEndSystem": HEAD_END, "nicId": f"NIC-{n:09d}",
         "outcome": OUTCOMES[n % len(OUTCOMES)], "participationStartDateTime": START.isoformat(),
         "participationEndDateTime": end.isoformat(), "errorMessage": "no answer" if n % 50 == 0 else None}
        for n in range(first, last)]}


def _apply(engine: Engine, bodies: list[str]) -> int:
    updated = 0
    for body in bodies:
        message = PostEventOutcome.model_validate_json(body)
        updated += apply_outcomes(engine, message.outcomes(), datetime.now(UTC)).updated
    return updated


def _raw_update(engine: Engine, size: int) -> None:
    """The same rows, another outcome each, in one executemany through the driver."""
    now = datetime.now(UTC)
    end = START + timedelta(hours=2)
    rows: list[tuple[Any, ...]] = [
        (OUTCOMES[(n + 1) % len(OUTCOMES)], None, START, end, now, now, EVENT, HEAD_END, f"NIC-{n:09d}")
        for n in range(size)]
    mark = "%s" if engine.dialect.name == "postgresql" else "?"
    if engine.dialect.name == "sqlite":
        rows = [(*row[:2], *(value.isoformat(" ") for value in row[2:6]), *row[6:]) for row in rows]
    statement = (f"UPDATE event_participations SET outcome = {mark}, outcome_message = {mark}, "
                 f"participation_start = {mark}, participation_end = {mark}, outcome_at = {mark}, "
                 f"updated_at = {mark} WHERE event_external_id = {mark} AND head_end_system = {mark} "
                 f"AND nic_id = {mark}")
    with engine.begin() as connection:
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.executemany(statement, rows)
        cursor.close()
        connection.execute(sa.text("SELECT 1"))
