"""reservations: the devices reserved for an event and on standby, and the device lists sent (F9); outbound file
paths long enough for a device list's query string

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
        "reservations",
        sa.Column("event_id", sa.String(40), primary_key=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("seed", sa.Integer, nullable=False),
        sa.Column("target_kw", sa.Float, nullable=False),
        sa.Column("expected_kw", sa.Float, nullable=False),
        sa.Column("devices", sa.Integer, nullable=False),
        sa.Column("standby", sa.Integer, nullable=False),
        sa.Column("excluded", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "reservation_devices",
        sa.Column("event_id", sa.String(40), primary_key=True),
        sa.Column("head_end_system", sa.String(50), primary_key=True),
        sa.Column("nic_id", sa.String(100), primary_key=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column("expected_kw", sa.Float, nullable=False),
        sa.Column("transformer_id", sa.String(30), nullable=True),
        sa.Column("feeder_id", sa.String(30), nullable=True),
        sa.Column("message_id", sa.String(60), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "reservation_messages",
        sa.Column("message_id", sa.String(60), primary_key=True),
        sa.Column("event_id", sa.String(40), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("reserved", sa.Integer, nullable=False),
        sa.Column("released", sa.Integer, nullable=False),
        sa.Column("file", sa.String(300), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ack_type", sa.String(10), nullable=True),
        sa.Column("ack", sa.Text, nullable=True),
        sa.Column("acked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_reservation_messages_event_id", "reservation_messages", ["event_id"])
    with op.batch_alter_table("outbound_files") as batch:
        batch.alter_column("path", existing_type=sa.String(200), type_=sa.String(400), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("outbound_files") as batch:
        batch.alter_column("path", existing_type=sa.String(400), type_=sa.String(200), existing_nullable=False)
    op.drop_table("reservation_messages")
    op.drop_table("reservation_devices")
    op.drop_table("reservations")
