"""status checks and enrollment batches

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "status_checks",
        sa.Column("dacs_message_id", sa.String(30), primary_key=True),
        sa.Column("head_end_system", sa.String(50), nullable=False),
        sa.Column("nic_id", sa.String(100), nullable=False),
        sa.Column("division", sa.String(30), nullable=True),
        sa.Column("device_type", sa.String(30), nullable=True),
        sa.Column("specification", sa.String(60), nullable=True),
        sa.Column("connection_id", sa.String(60), nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("response_code", sa.String(10), nullable=True),
        sa.Column("message", sa.String(254), nullable=True),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_status_checks_nic_id", "status_checks", ["nic_id"])
    op.create_index("ix_status_checks_status", "status_checks", ["status"])
    op.create_table(
        "enrollment_batches",
        sa.Column("batch_id", sa.String(60), primary_key=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("records", sa.Integer, nullable=False),
        sa.Column("enrolled", sa.Integer, nullable=False),
        sa.Column("refused", sa.Integer, nullable=False),
        sa.Column("ack_type", sa.String(10), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("results_when", sa.DateTime(timezone=True), nullable=True),
        sa.Column("results_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_enrollment_batches_status", "enrollment_batches", ["status"])
    op.create_table(
        "enrollment_records",
        sa.Column("batch_id", sa.String(60), primary_key=True),
        sa.Column("message_id", sa.String(120), primary_key=True),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("head_end_system", sa.String(50), nullable=False),
        sa.Column("nic_ids", sa.Text, nullable=False),
        sa.Column("program_code", sa.String(30), nullable=False),
        sa.Column("record", sa.Text, nullable=False),
        sa.Column("response_code", sa.String(10), nullable=True),
        sa.Column("enrollment_id", sa.String(30), nullable=True),
        sa.Column("message_category", sa.Integer, nullable=True),
        sa.Column("message_number", sa.Integer, nullable=True),
        sa.Column("message_text", sa.Text, nullable=True),
        sa.Column("result_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("enrollment_records")
    op.drop_table("enrollment_batches")
    op.drop_table("status_checks")
