"""the device registry at work: registration wanted and due, device groups, enrollment syncs, bulk syncs

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("registration_wanted", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("registration_due", sa.Boolean, nullable=False, server_default=sa.false()))
    op.create_index("ix_devices_registration_due", "devices", ["registration_due"])
    op.create_table(
        "device_groups",
        sa.Column("subscription_id", sa.String(14), primary_key=True),
        sa.Column("group_category", sa.String(10), primary_key=True),
        sa.Column("group_code", sa.String(60), primary_key=True),
        sa.Column("effective_start", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("effective_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_message_id", sa.String(14), nullable=False),
    )
    op.create_table(
        "enrollment_syncs",
        sa.Column("dacs_message_id", sa.String(14), primary_key=True),
        sa.Column("subscription_id", sa.String(14), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("has_error", sa.Boolean, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_enrollment_syncs_subscription_id", "enrollment_syncs", ["subscription_id"])
    op.create_index("ix_enrollment_syncs_state", "enrollment_syncs", ["state"])
    op.create_table(
        "enrollment_sync_devices",
        sa.Column("dacs_message_id", sa.String(14), primary_key=True),
        sa.Column("head_end_system", sa.String(50), primary_key=True),
        sa.Column("nic_id", sa.String(100), primary_key=True),
        sa.Column("device_id", sa.String(12), nullable=False),
        sa.Column("newer_message_id", sa.String(14), nullable=True),
    )
    op.create_table(
        "bulk_syncs",
        sa.Column("bulk_sync_id", sa.String(60), primary_key=True),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("file", sa.Text, nullable=False),
        sa.Column("file_format", sa.String(8), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("rows_applied", sa.Integer, nullable=False),
        sa.Column("rows_refused", sa.Integer, nullable=False),
        sa.Column("registered", sa.Integer, nullable=True),
        sa.Column("deregistered", sa.Integer, nullable=True),
        sa.Column("not_registered", sa.Integer, nullable=True),
        sa.Column("ack_file", sa.Text, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("registering_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_bulk_syncs_state", "bulk_syncs", ["state"])
    op.create_table(
        "bulk_sync_rows",
        sa.Column("bulk_sync_id", sa.String(60), primary_key=True),
        sa.Column("row_no", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("message_id", sa.String(14), nullable=False),
        sa.Column("subscription_id", sa.String(14), nullable=False),
        sa.Column("head_end_system", sa.String(50), nullable=False),
        sa.Column("nic_id", sa.String(100), nullable=False),
        sa.Column("device_id", sa.String(12), nullable=False),
        sa.Column("specification", sa.String(60), nullable=True),
        sa.Column("device_type", sa.String(30), nullable=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("installed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("nameplate_kw", sa.Float, nullable=True),
        sa.Column("nameplate_kwh", sa.Float, nullable=True),
        sa.Column("network_address", sa.String(100), nullable=True),
        sa.Column("refused", sa.Text, nullable=True),
        sa.Column("newer_message_id", sa.String(14), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("bulk_sync_rows")
    op.drop_table("bulk_syncs")
    op.drop_table("enrollment_sync_devices")
    op.drop_table("enrollment_syncs")
    op.drop_table("device_groups")
    op.drop_index("ix_devices_registration_due", "devices")
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("registration_due")
        batch.drop_column("registration_wanted")
