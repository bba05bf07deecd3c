"""The events' tables, on DERMS's metadata (derms/schema.py lists them with the rest)."""

from __future__ import annotations

import sqlalchemy as sa

from derbridge.derms.schema import metadata

# One row per event. status: NEW, SCHEDULED, IN_PROGRESS, COMPLETED, CANCELLED (events/lifecycle.py).
# zone: ALL, SUBSTATIONS or FEEDERS; zone_ids the JSON list of the substations or feeders it covers.
events = sa.Table(
    "events",
    metadata,
    sa.Column("event_id", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("event_type", sa.String(12), nullable=False),
    sa.Column("program_code", sa.String(30), nullable=False, index=True),
    sa.Column("target_kw", sa.Float, nullable=False),
    sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("zone", sa.String(12), nullable=False),
    sa.Column("zone_ids", sa.Text, nullable=False),
    sa.Column("status", sa.String(12), nullable=False, index=True),
    sa.Column("needs_approval", sa.Boolean, nullable=False),
    sa.Column("approved_by", sa.String(100), nullable=True),
    sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("created_by", sa.String(100), nullable=False),
    sa.Column("cancel_reason", sa.String(254), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# An event's stages, contiguous from its start to its end; each becomes one program event in the program system.
event_stages = sa.Table(
    "event_stages",
    metadata,
    sa.Column("event_id", sa.String(40), primary_key=True),
    sa.Column("stage_id", sa.String(60), primary_key=True),
    sa.Column("sequence", sa.Integer, nullable=False),
    sa.Column("name", sa.String(40), nullable=False),
    sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
)

# Every status an event reached, when, and who or what moved it (an operator, or the scheduler).
event_history = sa.Table(
    "event_history",
    metadata,
    sa.Column("event_id", sa.String(40), primary_key=True),
    sa.Column("status", sa.String(12), primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("note", sa.String(254), nullable=True),
)
