"""messages made of parts; correlated request/reply pairs

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("parent_id", sa.Integer, nullable=True))
        batch.create_index("ix_messages_parent_id", ["parent_id"])
    op.create_table(
        "correlations",
        sa.Column("correlation_id", sa.String(120), primary_key=True),
        sa.Column("flow", sa.String(8), nullable=False),
        sa.Column("request_message_id", sa.Integer, nullable=True),
        sa.Column("reply_message_id", sa.Integer, nullable=True),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_correlations_state", "correlations", ["state"])


def downgrade() -> None:
    op.drop_table("correlations")
    with op.batch_alter_table("messages") as batch:
        batch.drop_index("ix_messages_parent_id")
        batch.drop_column("parent_id")
