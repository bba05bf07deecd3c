"""device scores (F7): score rule sets, their programs, score runs and each device's latest score

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "score_rule_sets",
        sa.Column("rule_set_id", sa.String(12), primary_key=True),
        sa.Column("name", sa.String(60), nullable=False, unique=True),
        sa.Column("description", sa.String(254), nullable=True),
        sa.Column("rules", sa.Text, nullable=False),
        sa.Column("eligibility", sa.Text, nullable=False),
        sa.Column("factors", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "program_score_rule_sets",
        sa.Column("program_id", sa.String(12), primary_key=True),
        sa.Column("rule_set_id", sa.String(12), nullable=False),
        sa.Column("attached_by", sa.String(200), nullable=False),
        sa.Column("attached_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_program_score_rule_sets_rule_set_id", "program_score_rule_sets", ["rule_set_id"])
    op.create_table(
        "score_runs",
        sa.Column("run_id", sa.String(14), primary_key=True),
        sa.Column("trigger", sa.String(10), nullable=False),
        sa.Column("scheduled_day", sa.Date, nullable=True, unique=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("file_name", sa.String(60), nullable=False, unique=True),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("devices", sa.Integer, nullable=True),
        sa.Column("eligible", sa.Integer, nullable=True),
        sa.Column("programs", sa.Integer, nullable=True),
        sa.Column("reasons", sa.Text, nullable=True),
        sa.Column("read_s", sa.Float, nullable=True),
        sa.Column("compute_s", sa.Float, nullable=True),
        sa.Column("write_s", sa.Float, nullable=True),
        sa.Column("seconds", sa.Float, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_score_runs_status", "score_runs", ["status"])
    op.create_table(
        "device_scores",
        sa.Column("device_id", sa.String(12), primary_key=True),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("eligible", sa.Boolean, nullable=False),
        sa.Column("reason", sa.String(30), nullable=True),
        sa.Column("components", sa.Text, nullable=False),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("device_scores")
    op.drop_table("score_runs")
    op.drop_table("program_score_rule_sets")
    op.drop_table("score_rule_sets")
