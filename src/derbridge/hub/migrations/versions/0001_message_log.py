"""message log and business keys

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "messages",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("flow", sa.String(8), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("source", sa.String(12), nullable=False),
        sa.Column("target", sa.String(12), nullable=False),
        sa.Column("business_key", sa.String(200), nullable=False),
        sa.Column("idempotency_key", sa.String(260), nullable=True, unique=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("duplicates", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("inbound_payload", sa.Text, nullable=False),
        sa.Column("outbound_path", sa.String(200), nullable=True),
        sa.Column("outbound_payload", sa.Text, nullable=True),
        sa.Column("response", sa.Text, nullable=True),
        sa.Column("workflow_id", sa.String(80), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_messages_workflow_id", "messages", ["workflow_id"])
    op.create_index("ix_messages_status_kind", "messages", ["status", "kind"])
    op.create_table(
        "message_keys",
        sa.Column("message_id", sa.Integer, sa.ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("value", sa.String(200), nullable=False),
    )
    op.create_index("ix_message_keys_value", "message_keys", ["value"])


def downgrade() -> None:
    op.drop_table("message_keys")
    op.drop_table("messages")
