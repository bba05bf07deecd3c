"""score sets from the program system's score files (F7), and the set in force

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "score_sets",
        sa.Column("set_id", sa.String(32), primary_key=True),
        sa.Column("file_name", sa.String(60), nullable=False, unique=True),
        sa.Column("file_sha256", sa.String(64), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.String(14), nullable=True),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("file", sa.String(500), nullable=False),
        sa.Column("file_format", sa.String(10), nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("rows_loaded", sa.Integer, nullable=False),
        sa.Column("eligible", sa.Integer, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("in_force_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_score_sets_state", "score_sets", ["state"])
    op.create_table(
        "score_set_rows",
        sa.Column("set_id", sa.String(32), nullable=False),
        sa.Column("head_end_system", sa.String(50), nullable=False),
        sa.Column("nic_id", sa.String(100), nullable=False),
        sa.Column("device_id", sa.String(12), nullable=False),
        sa.Column("subscription_id", sa.String(14), nullable=False),
        sa.Column("program_code", sa.String(30), nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("eligible", sa.Boolean, nullable=False),
        sa.Column("reason", sa.String(30), nullable=True),
        sa.Column("components", sa.Text, nullable=True),
    )
    op.create_table(
        "score_set_in_force",
        sa.Column("slot", sa.Integer, primary_key=True),
        sa.Column("set_id", sa.String(32), nullable=False),
        sa.Column("switched_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("score_set_in_force")
    op.drop_table("score_set_rows")
    op.drop_index("ix_score_sets_state", "score_sets")
    op.drop_table("score_sets")
