"""notification events and the notifications sent for them

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notification_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("flow", sa.String(8), nullable=False),
        sa.Column("event", sa.String(20), nullable=False),
        sa.Column("message_id", sa.Integer, nullable=True),
        sa.Column("message_kind", sa.String(40), nullable=True),
        sa.Column("business_key", sa.String(200), nullable=False),
        sa.Column("detail", sa.Text, nullable=True),
        sa.Column("gathered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("digest", sa.Integer, nullable=True),
    )
    op.create_index("ix_notification_events_waiting", "notification_events", ["gathered_at", "flow", "event"])
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("digest", sa.Integer, nullable=False),
        sa.Column("flow", sa.String(8), nullable=False),
        sa.Column("event", sa.String(20), nullable=False),
        sa.Column("audience", sa.String(10), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("recipient", sa.String(500), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("events", sa.Integer, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_notifications_digest", "notifications", ["digest"])
    op.create_index("ix_notifications_due", "notifications", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_table("notifications")
    op.drop_table("notification_events")
