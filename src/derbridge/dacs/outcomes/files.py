"""An outcome file (F11 for more than a message holds): checked whole, then applied in one transaction, in
chunks, by the same set-based application as a message. Loaded on first use: it brings polars."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl
from sqlalchemy.engine import Engine

from derbridge.dacs.outcomes.outcomes import OUTCOMES, STAGED_SCHEMA, Applied, apply_frame
from derbridge.tables.check import read_checked
from derbridge.tables.spec import FileColumn, FileFormat, FileSpec

CHUNK_ROWS = 50_000
OUTCOME_FILE = FileSpec("event outcomes", (
    FileColumn("eventExternalIdentifier", max_length=60, required=True),
    FileColumn("headEndSystem", max_length=50, required=True),
    FileColumn("nicId", max_length=100, required=True),
    FileColumn("outcome", required=True, allowed=OUTCOMES),
    FileColumn("participationStartDateTime", "datetime", optional=True),
    FileColumn("participationEndDateTime", "datetime", optional=True),
    FileColumn("errorMessage", max_length=100, optional=True),
))
AS_STAGED = {"eventExternalIdentifier": "event_external_id", "headEndSystem": "head_end_system",
             "nicId": "nic_id", "outcome": "outcome", "errorMessage": "outcome_message",
             "participationStartDateTime": "participation_start", "participationEndDateTime": "participation_end"}


def apply_file(engine: Engine, path: Path, fmt: FileFormat, now: datetime) -> Applied:
    """Every value checked first (a bad file is refused naming columns and rows, nothing applied), then the
    outcomes applied in order, all or nothing."""
    checked = read_checked(OUTCOME_FILE, path, fmt)
    frame = checked.select(pl.col(name).alias(AS_STAGED[name]) if name in checked.columns
                           else pl.lit(None).alias(AS_STAGED[name]) for name in AS_STAGED)
    frame = frame.cast(pl.Schema(STAGED_SCHEMA))
    totals = Applied(0, 0, 0, 0)
    with engine.begin() as connection:
        for chunk in frame.iter_slices(CHUNK_ROWS):
            applied = apply_frame(connection, chunk, now)
            totals = Applied(totals.received + applied.received, totals.created + applied.created,
                             totals.updated + applied.updated, totals.unchanged + applied.unchanged)
    return totals
