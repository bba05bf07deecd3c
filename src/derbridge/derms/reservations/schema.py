"""The reservations' tables, on DERMS's metadata (derms/schema.py lists them with the rest)."""

from __future__ import annotations

import sqlalchemy as sa

from derbridge.derms.schema import metadata

# An event's reservation as it stands: RESERVED, or RELEASED (the event was cancelled). version counts the
# device lists sent for it (F9: the first reservation, then each update).
reservations = sa.Table(
    "reservations",
    metadata,
    sa.Column("event_id", sa.String(40), primary_key=True),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("seed", sa.Integer, nullable=False),
    sa.Column("target_kw", sa.Float, nullable=False),
    sa.Column("expected_kw", sa.Float, nullable=False),
    sa.Column("devices", sa.Integer, nullable=False),
    sa.Column("standby", sa.Integer, nullable=False),
    sa.Column("excluded", sa.Text, nullable=False),  # JSON: constraint → devices it left out
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("note", sa.String(300), nullable=True),  # why it falls short of its target, after drops
)

# Each device of a reservation: RESERVED, STANDBY (ranked, for backfill), RELEASED (dropped, or the event was
# cancelled) or OPTED_OUT. message_id: the device list (F9 message) that last changed it.
reservation_devices = sa.Table(
    "reservation_devices",
    metadata,
    sa.Column("event_id", sa.String(40), primary_key=True),
    sa.Column("head_end_system", sa.String(50), primary_key=True),
    sa.Column("nic_id", sa.String(100), primary_key=True),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("rank", sa.Integer, nullable=False),
    sa.Column("expected_kw", sa.Float, nullable=False),
    sa.Column("transformer_id", sa.String(30), nullable=True),
    sa.Column("feeder_id", sa.String(30), nullable=True),
    sa.Column("message_id", sa.String(60), nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# The device lists sent to the program system (F9), each one file through the hub, and the hub's ack of each.
reservation_messages = sa.Table(
    "reservation_messages",
    metadata,
    sa.Column("message_id", sa.String(60), primary_key=True),
    sa.Column("event_id", sa.String(40), nullable=False, index=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("reserved", sa.Integer, nullable=False),
    sa.Column("released", sa.Integer, nullable=False),
    sa.Column("file", sa.String(300), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ack_type", sa.String(10), nullable=True),  # SUCCESS, ERROR, FAILURE
    sa.Column("ack", sa.Text, nullable=True),
    sa.Column("acked_at", sa.DateTime(timezone=True), nullable=True),
)

# Standby devices a drop-and-backfill reserved, each with the update (F9 message) that added it.
reservation_backfills = sa.Table(
    "reservation_backfills",
    metadata,
    sa.Column("event_id", sa.String(40), primary_key=True),
    sa.Column("head_end_system", sa.String(50), primary_key=True),
    sa.Column("nic_id", sa.String(100), primary_key=True),
    sa.Column("message_id", sa.String(60), nullable=False),
    sa.Column("rank", sa.Integer, nullable=False),
    sa.Column("expected_kw", sa.Float, nullable=False),
    sa.Column("backfilled_at", sa.DateTime(timezone=True), nullable=False),
)
