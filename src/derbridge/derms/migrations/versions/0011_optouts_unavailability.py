"""customers' opt-outs (F12), declared unavailability (F13) and the devices to drop from reservations

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
        "event_opt_outs",
        sa.Column("event_id", sa.String(60), primary_key=True),
        sa.Column("head_end_system", sa.String(50), primary_key=True),
        sa.Column("nic_id", sa.String(100), primary_key=True),
        sa.Column("opted_out_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "declared_unavailability",
        sa.Column("unavailability_id", sa.String(14), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("head_end_system", sa.String(50), nullable=False),
        sa.Column("nic_id", sa.String(100), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(254), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_declared_unavailability_device", "declared_unavailability", ["head_end_system", "nic_id"])
    op.create_table(
        "reservation_drops",
        sa.Column("event_id", sa.String(60), primary_key=True),
        sa.Column("head_end_system", sa.String(50), primary_key=True),
        sa.Column("nic_id", sa.String(100), primary_key=True),
        sa.Column("cause", sa.String(30), nullable=False),
        sa.Column("source_id", sa.String(60), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_reservation_drops_done_at", "reservation_drops", ["done_at"])


def downgrade() -> None:
    op.drop_table("reservation_drops")
    op.drop_table("declared_unavailability")
    op.drop_table("event_opt_outs")
