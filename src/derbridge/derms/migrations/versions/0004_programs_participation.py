"""programs and their rules (F2), overridable rules, sensitive premises, event participation

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
        "programs",
        sa.Column("program_code", sa.String(30), primary_key=True),
        sa.Column("program_id", sa.String(12), nullable=False),
        sa.Column("rules_version", sa.Integer, nullable=False),
        sa.Column("rules", sa.Text, nullable=False),
        sa.Column("last_message_id", sa.String(14), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "overridable_rules",
        sa.Column("program_code", sa.String(30), primary_key=True),
        sa.Column("reason_code", sa.String(40), primary_key=True),
        sa.Column("marked_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "sensitive_premises",
        sa.Column("cis_premise_id", sa.String(30), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "event_participations",
        sa.Column("event_id", sa.String(40), primary_key=True),
        sa.Column("head_end_system", sa.String(50), primary_key=True),
        sa.Column("nic_id", sa.String(100), primary_key=True),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("customer_override", sa.Boolean, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_event_participations_device_start", "event_participations",
                    ["head_end_system", "nic_id", "start_at"])


def downgrade() -> None:
    op.drop_table("event_participations")
    op.drop_table("sensitive_premises")
    op.drop_table("overridable_rules")
    op.drop_table("programs")
