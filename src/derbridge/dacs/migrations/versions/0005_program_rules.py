"""program rules, their association with programs, and each program's rules version (F2)

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
    op.add_column("programs", sa.Column("rules_version", sa.Integer, nullable=False, server_default="0"))
    op.create_table(
        "program_rules",
        sa.Column("rule_id", sa.String(12), primary_key=True),
        sa.Column("rule_code", sa.String(30), nullable=False, unique=True),
        sa.Column("description", sa.String(254), nullable=False),
        sa.Column("available_for_events", sa.Boolean, nullable=False),
        sa.Column("allowed_overrides", sa.Integer, nullable=False),
        sa.Column("max_event_duration_minutes", sa.Integer, nullable=False),
        sa.Column("allow_event_days", sa.String(30), nullable=False),
        sa.Column("cycle_frequency", sa.String(10), nullable=False),
        sa.Column("max_events_per_season", sa.Integer, nullable=True),
        sa.Column("max_events_per_month", sa.Integer, nullable=True),
        sa.Column("max_events_per_week", sa.Integer, nullable=True),
        sa.Column("max_event_hours_per_year", sa.Float, nullable=True),
        sa.Column("event_window_start", sa.Time, nullable=False),
        sa.Column("event_window_end", sa.Time, nullable=False),
        sa.Column("min_notice_minutes", sa.Integer, nullable=False),
        sa.Column("max_consecutive_days", sa.Integer, nullable=True),
        sa.Column("exclude_life_support", sa.Boolean, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "program_rule_associations",
        sa.Column("program_id", sa.String(12), primary_key=True),
        sa.Column("rule_id", sa.String(12), primary_key=True),
        sa.Column("associated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_program_rule_associations_rule_id", "program_rule_associations", ["rule_id"])


def downgrade() -> None:
    op.drop_table("program_rule_associations")
    op.drop_table("program_rules")
    with op.batch_alter_table("programs") as batch:
        batch.drop_column("rules_version")
