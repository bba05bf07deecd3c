"""DERMS's tables."""

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
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("effective_start", sa.DateTime(timezone=True), nullable=False),
    sa.Column("effective_end", sa.DateTime(timezone=True), nullable=True),
    sa.Column("contact_name", sa.String(100), nullable=False),
    sa.Column("contact_email", sa.String(254), nullable=True),
    sa.Column("contact_phone", sa.String(30), nullable=True),
    sa.Column("external_reference_id", sa.String(50), nullable=True),
    sa.Column("external_system", sa.String(50), nullable=True),
    sa.Column("program_codes", sa.Text, nullable=False),
    sa.Column("last_message_id", sa.String(14), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# Every program-system message applied once: a repeat is answered, not applied again.
received_messages = sa.Table(
    "received_messages",
    metadata,
    sa.Column("message_id", sa.String(40), primary_key=True),
    sa.Column("kind", sa.String(30), nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
)

# DERMS's outbound messages to the hub (acknowledgements and later flows).
outbound_messages = sa.Table(
    "outbound_messages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("message_key", sa.String(60), nullable=False, unique=True),
    sa.Column("kind", sa.String(30), nullable=False),
    *outbox_columns(),
)

rejected_requests = rejected_requests_table(metadata)
