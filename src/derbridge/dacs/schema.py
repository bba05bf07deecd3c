"""The program system's tables."""

from __future__ import annotations

import sqlalchemy as sa

from derbridge.store.outbox import outbox_columns
from derbridge.store.rejections import rejected_requests_table

metadata = sa.MetaData()

aggregators = sa.Table(
    "aggregators",
    metadata,
    sa.Column("aggregator_id", sa.String(14), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("start_date", sa.Date, nullable=False),
    sa.Column("end_date", sa.Date, nullable=True),
    sa.Column("contact_name", sa.String(100), nullable=False),
    sa.Column("contact_email", sa.String(254), nullable=True),
    sa.Column("contact_phone", sa.String(30), nullable=True),
    sa.Column("external_reference_id", sa.String(50), nullable=True),
    sa.Column("external_system", sa.String(50), nullable=True),
    sa.Column("program_offerings", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# The vendor's "sync request": an outbox row per change that must reach DERMS, acknowledged later.
sync_requests = sa.Table(
    "sync_requests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("sync_request_id", sa.String(14), nullable=False, unique=True),
    sa.Column("kind", sa.String(30), nullable=False),
    sa.Column("object_id", sa.String(14), nullable=False, index=True),
    *outbox_columns(),
    sa.Column("acked_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("ack_payload", sa.Text, nullable=True),
)

rejected_requests = rejected_requests_table(metadata)
