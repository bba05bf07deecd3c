"""what became of each drop from a reservation, the standby devices that replaced them, and whether the
reservation still meets its target

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("reservation_drops", sa.Column("outcome", sa.String(20), nullable=True))
    op.add_column("reservation_drops", sa.Column("message_id", sa.String(60), nullable=True))
    op.add_column("reservations", sa.Column("note", sa.String(300), nullable=True))
    op.create_table(
        "reservation_backfills",
        sa.Column("event_id", sa.String(40), primary_key=True),
        sa.Column("head_end_system", sa.String(50), primary_key=True),
        sa.Column("nic_id", sa.String(100), primary_key=True),
        sa.Column("message_id", sa.String(60), nullable=False),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column("expected_kw", sa.Float, nullable=False),
        sa.Column("backfilled_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("reservation_backfills")
    op.drop_column("reservations", "note")
    op.drop_column("reservation_drops", "message_id")
    op.drop_column("reservation_drops", "outcome")
