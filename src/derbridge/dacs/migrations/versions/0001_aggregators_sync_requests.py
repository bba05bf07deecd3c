"""aggregators, sync requests, rejected requests

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
        "aggregators",
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
    op.create_table(
        "sync_requests",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("sync_request_id", sa.String(14), nullable=False, unique=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("object_id", sa.String(14), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("path", sa.String(200), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ack_payload", sa.Text, nullable=True),
    )
    op.create_index("ix_sync_requests_object_id", "sync_requests", ["object_id"])
    op.create_index("ix_sync_requests_status", "sync_requests", ["status"])
    op.create_table(
        "rejected_requests",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("path", sa.String(300), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("errors", sa.Text, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("rejected_requests")
    op.drop_table("sync_requests")
    op.drop_table("aggregators")
