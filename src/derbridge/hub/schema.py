"""The hub's own tables: the message log, the business keys that find its messages, and the request/reply
pairs it correlates."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

messages = sa.Table(
    "messages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("flow", sa.String(8), nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("source", sa.String(12), nullable=False),
    sa.Column("target", sa.String(12), nullable=False),
    sa.Column("business_key", sa.String(200), nullable=False),
    sa.Column("idempotency_key", sa.String(260), nullable=True, unique=True),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("duplicates", sa.Integer, nullable=False, default=0),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("inbound_payload", sa.Text, nullable=False),
    sa.Column("outbound_path", sa.String(200), nullable=True),
    sa.Column("outbound_payload", sa.Text, nullable=True),
    sa.Column("response", sa.Text, nullable=True),
    sa.Column("workflow_id", sa.String(80), nullable=True, index=True),
    # A message made of parts (one F4 request → one enrollment call per record) is the parts' parent.
    sa.Column("parent_id", sa.Integer, nullable=True, index=True),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_messages_status_kind", "status", "kind"),
)

message_keys = sa.Table(
    "message_keys",
    metadata,
    sa.Column("message_id", sa.Integer, sa.ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("value", sa.String(200), nullable=False, index=True),
)

# An asynchronous request and its reply, matched by a correlation id (F6: communicationId).
correlations = sa.Table(
    "correlations",
    metadata,
    sa.Column("correlation_id", sa.String(120), primary_key=True),
    sa.Column("flow", sa.String(8), nullable=False),
    sa.Column("request_message_id", sa.Integer, nullable=True),
    sa.Column("reply_message_id", sa.Integer, nullable=True),
    # WAITING → ANSWERED, or → EXPIRED (no reply in time) → LATE (the reply came after all);
    # UNMATCHED: a reply whose request never passed through this hub.
    sa.Column("state", sa.String(10), nullable=False, index=True),
    sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
    sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
)
