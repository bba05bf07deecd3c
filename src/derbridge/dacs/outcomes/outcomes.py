"""Applying DERMS's per-device event outcomes (F11) to the program system's event participations, set-based.

A message holds up to 1,000 outcomes (a file, any number). They are staged in a temporary table and written
with one INSERT … SELECT … ON CONFLICT DO UPDATE, whatever their number: never one statement per outcome.

- A participation held (reserved or not) takes the outcome, its participation window and its message; its
  reservation and opt-out are left as they are.
- A participation missing (DERMS called a device the program system never heard was reserved) is created
  unreserved, with the outcome, the device's id and subscription when the device is active here, and the
  program of the event's stages when the event is known.
- The same outcome again changes nothing (no row is rewritten); a later message for the same device replaces
  the outcome: the last one applied stands. Within one message, a device named twice takes its last outcome.

Loaded on first use (the endpoint imports it when the first outcomes arrive): it brings polars.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from derbridge.dacs.schema import (
    active_device_keys,
    controllable_devices,
    event_participations,
    program_events,
)
from derbridge.store.bulk import bulk_insert
from derbridge.store.locks import one_writer_at_a_time

OUTCOMES = ("D1SP", "D1ND", "D1IO", "D1ER", "D1CN")
"""Successful participation, non-responsive device, in-flight override, error, cancelled."""
KEY = ("event_external_id", "head_end_system", "nic_id")
OUTCOME_FIELDS = ("outcome", "outcome_message", "participation_start", "participation_end")
LOCK = "dacs.event_participations"


@dataclass(frozen=True)
class Outcome:
    """One device's outcome of one event, as DERMS reports it."""

    event_external_id: str
    head_end_system: str
    nic_id: str
    outcome: str
    participation_start: datetime | None
    participation_end: datetime | None
    message: str | None


@dataclass(frozen=True)
class Applied:
    """What one application did: outcomes received, participations created, updated, and left unchanged."""

    received: int
    created: int
    updated: int
    unchanged: int

    def describe(self) -> dict[str, int]:
        return {"received": self.received, "created": self.created, "updated": self.updated,
                "unchanged": self.unchanged}


staging = sa.MetaData()
staged_outcomes = sa.Table(
    "staged_outcomes", staging,
    *(sa.Column(name, event_participations.c[name].type, nullable=False) for name in KEY),
    *(sa.Column(name, event_participations.c[name].type, nullable=name != "outcome") for name in OUTCOME_FIELDS),
    prefixes=["TEMPORARY"],
)


def apply_outcomes(engine: Engine, outcomes: list[Outcome], now: datetime) -> Applied:
    """Apply one message's outcomes in one transaction."""
    with engine.begin() as connection:
        return apply_frame(connection, outcome_frame(outcomes), now)


def apply_frame(connection: Connection, outcomes: pl.DataFrame, now: datetime) -> Applied:
    """Apply outcomes (STAGED_SCHEMA's columns) inside the caller's transaction (a file's chunks share one)."""
    last = outcomes.unique(subset=list(KEY), keep="last", maintain_order=True)  # the last of a device wins
    if last.is_empty():
        return Applied(0, 0, 0, 0)
    one_writer_at_a_time(connection, LOCK)
    connection.execute(sa.text(f'DROP TABLE IF EXISTS "{staged_outcomes.name}"'))
    staged_outcomes.create(connection)
    try:
        bulk_insert(connection, staged_outcomes, last.select(list(STAGED_SCHEMA)))
        created = _missing(connection)
        changed = _upsert(connection, now)
    finally:
        staged_outcomes.drop(connection)
    return Applied(outcomes.height, created, changed - created, outcomes.height - changed)


MOMENT = pl.Datetime("us", "UTC")
STAGED_SCHEMA: dict[str, Any] = {**dict.fromkeys((*KEY, "outcome", "outcome_message"), pl.String),
                 "participation_start": MOMENT, "participation_end": MOMENT}


def outcome_frame(outcomes: list[Outcome]) -> pl.DataFrame:
    """The outcomes as the staging table's rows, for one bulk insert (COPY on PostgreSQL)."""
    return pl.DataFrame({
        "event_external_id": [o.event_external_id for o in outcomes],
        "head_end_system": [o.head_end_system for o in outcomes], "nic_id": [o.nic_id for o in outcomes],
        "outcome": [o.outcome for o in outcomes], "outcome_message": [o.message for o in outcomes],
        "participation_start": [o.participation_start for o in outcomes],
        "participation_end": [o.participation_end for o in outcomes],
    }, schema=STAGED_SCHEMA)


def _missing(connection: Connection) -> int:
    """How many staged outcomes have no participation yet."""
    s, p = staged_outcomes, event_participations
    held = sa.exists().where(*(p.c[name] == s.c[name] for name in KEY))
    return int(connection.execute(sa.select(sa.func.count()).select_from(s).where(~held)).scalar_one())


def _upsert(connection: Connection, now: datetime) -> int:
    """Insert the missing participations (unreserved) and update the others where the outcome differs; the
    number of rows written."""
    s, k, d, e = staged_outcomes, active_device_keys, controllable_devices, program_events
    program = (sa.select(sa.func.min(e.c.program_code)).where(e.c.event_external_id == s.c.event_external_id)
               .scalar_subquery())
    at = sa.literal(now, event_participations.c.updated_at.type)
    source = (sa.select(*(s.c[name] for name in (*KEY, *OUTCOME_FIELDS)), k.c.device_id, d.c.subscription_id,
                        program.label("program_code"), sa.false().label("reserved"), sa.false().label("opted_out"),
                        at.label("outcome_at"), at.label("updated_at"))
              .select_from(s.outerjoin(k, sa.and_(k.c.head_end_system == s.c.head_end_system,
                                                  k.c.nic_id == s.c.nic_id))
                           .outerjoin(d, d.c.device_id == k.c.device_id))
              .where(s.c.nic_id.is_not(None)))  # SQLite: an upsert's SELECT needs a WHERE to parse its ON CONFLICT
    columns = [*KEY, *OUTCOME_FIELDS, "device_id", "subscription_id", "program_code", "reserved", "opted_out",
               "outcome_at", "updated_at"]
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(event_participations).from_select(columns, source)
    stored = event_participations.c
    differs = sa.or_(*(stored[name].is_distinct_from(insert.excluded[name]) for name in OUTCOME_FIELDS))
    upsert = insert.on_conflict_do_update(
        index_elements=[stored[name] for name in KEY],
        set_={name: insert.excluded[name] for name in (*OUTCOME_FIELDS, "outcome_at", "updated_at")},
        where=differs).returning(stored.participation_id)
    return len(connection.execute(upsert).all())
