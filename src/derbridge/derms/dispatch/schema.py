"""The dispatch tables, on DERMS's metadata (derms/schema.py lists them with the rest)."""

from __future__ import annotations

import sqlalchemy as sa

from derbridge.derms.schema import metadata

# One row per stage whose start has come: PENDING (its devices are written, the head ends not yet all asked:
# asked again after a restart, the stage id keying the order), SENT, or MISSED (the stage had ended before the
# scheduler saw it start). An event cancelled in progress turns its running stages STOPPING (the head ends to be
# told to end its orders), then STOPPED, and its stages not sent MISSED.
stage_dispatches = sa.Table(
    "stage_dispatches",
    metadata,
    sa.Column("stage_id", sa.String(60), primary_key=True),
    sa.Column("event_id", sa.String(40), nullable=False, index=True),
    sa.Column("status", sa.String(10), nullable=False, index=True),
    sa.Column("devices", sa.Integer, nullable=False),
    sa.Column("accepted", sa.Integer, nullable=True),
    sa.Column("planned_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
)

# Each device of a stage's dispatch and its head end's answer: PENDING, then ACCEPTED, OFFLINE, REFUSED or ERROR.
dispatch_devices = sa.Table(
    "dispatch_devices",
    metadata,
    sa.Column("stage_id", sa.String(60), primary_key=True),
    sa.Column("head_end_system", sa.String(50), primary_key=True),
    sa.Column("nic_id", sa.String(100), primary_key=True),
    sa.Column("event_id", sa.String(40), nullable=False, index=True),
    sa.Column("requested_kw", sa.Float, nullable=False),
    sa.Column("feeder_id", sa.String(30), nullable=True),
    sa.Column("result", sa.String(10), nullable=False),
    sa.Column("message", sa.String(254), nullable=True),
)

# An event's outcomes, worked out once (after its end and its head ends' reporting lag) and queued to the hub in
# the same transaction: `messages` messages of up to 1,000, or the file `file_id`.
outcome_runs = sa.Table(
    "outcome_runs",
    metadata,
    sa.Column("event_id", sa.String(40), primary_key=True),
    sa.Column("outcomes", sa.Integer, nullable=False),
    sa.Column("messages", sa.Integer, nullable=False),
    sa.Column("file_id", sa.String(60), nullable=True),
    sa.Column("unreachable", sa.Text, nullable=False),  # JSON: head end → why its telemetry could not be read
    sa.Column("collected_at", sa.DateTime(timezone=True), nullable=False),
)

# Each device's outcome of an event (F11 codes), as sent.
event_outcomes = sa.Table(
    "event_outcomes",
    metadata,
    sa.Column("event_id", sa.String(40), primary_key=True),
    sa.Column("head_end_system", sa.String(50), primary_key=True),
    sa.Column("nic_id", sa.String(100), primary_key=True),
    sa.Column("outcome", sa.String(4), nullable=False),
    sa.Column("start_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("end_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("error_message", sa.String(100), nullable=True),
    sa.Column("message_id", sa.String(60), nullable=True),
)

# What each stage delivered, per feeder ("" for devices on no known feeder), from telemetry against each
# device's own baseline (dispatch/performance.py), written with the outcomes.
stage_performance = sa.Table(
    "stage_performance",
    metadata,
    sa.Column("stage_id", sa.String(60), primary_key=True),
    sa.Column("feeder_id", sa.String(30), primary_key=True),
    sa.Column("event_id", sa.String(40), nullable=False, index=True),
    sa.Column("dispatched_kw", sa.Float, nullable=False),
    sa.Column("delivered_kw", sa.Float, nullable=False),
    sa.Column("baseline_kw", sa.Float, nullable=False),
    sa.Column("devices", sa.Integer, nullable=False),
)
