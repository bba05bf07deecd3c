"""program events (one per DERMS event stage) and event participations (the history device scores use)

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
        "program_events",
        sa.Column("program_event_id", sa.String(14), primary_key=True),
        sa.Column("event_external_id", sa.String(60), nullable=False),
        sa.Column("stage_external_id", sa.String(60), nullable=False),
        sa.Column("program_code", sa.String(30), nullable=False),
        sa.Column("program_id", sa.String(12), nullable=True),
        sa.Column("category", sa.String(4), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("status_rank", sa.Integer, nullable=False),
        sa.Column("cancel_reason", sa.String(254), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("event_external_id", "stage_external_id", name="uq_program_events_event_stage"),
    )
    op.create_index("ix_program_events_event_external_id", "program_events", ["event_external_id"])
    op.create_index("ix_program_events_program_code", "program_events", ["program_code"])
    op.create_table(
        "event_participations",
        sa.Column("participation_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_external_id", sa.String(60), nullable=False),
        sa.Column("head_end_system", sa.String(50), nullable=False),
        sa.Column("nic_id", sa.String(100), nullable=False),
        sa.Column("device_id", sa.String(12), nullable=True),
        sa.Column("subscription_id", sa.String(14), nullable=True),
        sa.Column("program_code", sa.String(30), nullable=True),
        sa.Column("reserved", sa.Boolean, nullable=False),
        sa.Column("reservation_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reservation_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reserved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opted_out", sa.Boolean, nullable=False),
        sa.Column("opted_out_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(4), nullable=True),
        sa.Column("outcome_message", sa.String(100), nullable=True),
        sa.Column("participation_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("participation_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("event_external_id", "head_end_system", "nic_id",
                            name="uq_event_participations_device"),
    )
    op.create_index("ix_event_participations_device_id", "event_participations", ["device_id"])
    op.create_index("ix_event_participations_device", "event_participations", ["head_end_system", "nic_id"])


def downgrade() -> None:
    op.drop_table("event_participations")
    op.drop_table("program_events")
