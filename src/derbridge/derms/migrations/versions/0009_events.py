"""demand-response events, their stages and the history of their statuses (F8, F10)

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("event_id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("event_type", sa.String(12), nullable=False),
        sa.Column("program_code", sa.String(30), nullable=False),
        sa.Column("target_kw", sa.Float, nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("zone", sa.String(12), nullable=False),
        sa.Column("zone_ids", sa.Text, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("needs_approval", sa.Boolean, nullable=False),
        sa.Column("approved_by", sa.String(100), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("cancel_reason", sa.String(254), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_events_program_code", "events", ["program_code"])
    op.create_index("ix_events_status", "events", ["status"])
    op.create_table(
        "event_stages",
        sa.Column("event_id", sa.String(40), primary_key=True),
        sa.Column("stage_id", sa.String(60), primary_key=True),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "event_history",
        sa.Column("event_id", sa.String(40), primary_key=True),
        sa.Column("status", sa.String(12), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("note", sa.String(254), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("event_history")
    op.drop_table("event_stages")
    op.drop_table("events")
