"""customers' declared unavailability windows, versioned (F13)

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "unavailability_windows",
        sa.Column("unavailability_id", sa.String(14), primary_key=True),
        sa.Column("device_id", sa.String(12), nullable=False),
        sa.Column("head_end_system", sa.String(50), nullable=False),
        sa.Column("nic_id", sa.String(100), nullable=False),
        sa.Column("program_code", sa.String(30), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(254), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_unavailability_windows_device_id", "unavailability_windows", ["device_id"])


def downgrade() -> None:
    op.drop_table("unavailability_windows")
