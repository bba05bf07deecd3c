"""The hub's own tables: the message log, the business keys that find its messages, the request/reply
pairs it correlates, its lookups, and the notifications of what went wrong or got done."""

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


# --- Lookups (domain value maps): editable at run time, versioned, audited --------------------------------

lookups = sa.Table(
    "lookups",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("column_names", sa.Text, nullable=False),  # JSON list, in order
    sa.Column("key_columns", sa.Text, nullable=False),  # JSON list: the columns translated from, unique values
    sa.Column("version", sa.Integer, nullable=False),  # +1 per change: how running hubs notice edits
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

lookup_rows = sa.Table(
    "lookup_rows",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),  # keeps the rows' order
    sa.Column("lookup", sa.String(100), sa.ForeignKey("lookups.name", ondelete="CASCADE"), nullable=False),
    sa.Column("row_key", sa.String(200), nullable=False),  # the value of the lookup's first key column
    sa.Column("cells", sa.Text, nullable=False),  # JSON object: column → value
    sa.UniqueConstraint("lookup", "row_key", name="uq_lookup_rows_lookup_row_key"),
)

lookup_audit = sa.Table(
    "lookup_audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("principal", sa.String(40), nullable=False),  # the authenticated caller
    sa.Column("person", sa.String(100), nullable=True),  # X-Derbridge-Actor, when given
    sa.Column("action", sa.String(10), nullable=False),  # create, add, replace, delete, refuse
    sa.Column("lookup", sa.String(100), nullable=False, index=True),
    sa.Column("row_key", sa.String(200), nullable=True),
    sa.Column("old_value", sa.Text, nullable=True),  # JSON
    sa.Column("new_value", sa.Text, nullable=True),  # JSON; for a refusal, the request as it came
    sa.Column("version", sa.Integer, nullable=True),  # the lookup's version after the change
    sa.Column("note", sa.Text, nullable=True),  # e.g. "import (merge)", "seed", or a refusal's reasons
)


# --- Notifications (hub/notify/): what happened that someone should hear of, and what was sent to whom -------

notification_events = sa.Table(
    "notification_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("flow", sa.String(8), nullable=False),
    # dead-letter, mapping-failure, intake-refused, declined, completion, no-file (hub/notify/events.py)
    sa.Column("event", sa.String(20), nullable=False),
    sa.Column("message_id", sa.Integer, nullable=True),
    sa.Column("message_kind", sa.String(40), nullable=True),
    sa.Column("business_key", sa.String(200), nullable=False),
    sa.Column("detail", sa.Text, nullable=True),
    # Set when the event went into a digest (or nobody was to hear of it); `digest` is the digest's first event.
    sa.Column("gathered_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("digest", sa.Integer, nullable=True),
    sa.Index("ix_notification_events_waiting", "gathered_at", "flow", "event"),
)

notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("digest", sa.Integer, nullable=False, index=True),
    sa.Column("flow", sa.String(8), nullable=False),
    sa.Column("event", sa.String(20), nullable=False),
    sa.Column("audience", sa.String(10), nullable=False),  # technical, business
    sa.Column("channel", sa.String(10), nullable=False),  # email, webhook
    sa.Column("recipient", sa.String(500), nullable=False),
    sa.Column("subject", sa.String(300), nullable=False),
    sa.Column("events", sa.Integer, nullable=False),  # how many events the digest tells of
    sa.Column("payload", sa.Text, nullable=False),  # JSON: the webhook body; the e-mail is written from it
    sa.Column("status", sa.String(10), nullable=False),  # PENDING → SENT | FAILED
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
    sa.Index("ix_notifications_due", "status", "next_attempt_at"),
)
