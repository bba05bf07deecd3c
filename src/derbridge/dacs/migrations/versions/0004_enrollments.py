"""enrollments, their assets and history, program subscriptions, controllable devices, status checks, outbound
messages

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
        "enrollments",
        sa.Column("enrollment_id", sa.String(12), primary_key=True),
        sa.Column("transaction_id", sa.String(120), nullable=True, unique=True),
        sa.Column("enrollment_source", sa.String(4), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("program_code", sa.String(30), nullable=False),
        sa.Column("program_id", sa.String(12), nullable=True),
        sa.Column("cis_person_id", sa.String(30), nullable=True),
        sa.Column("cis_account_id", sa.String(30), nullable=True),
        sa.Column("cis_premise_id", sa.String(30), nullable=True),
        sa.Column("cis_service_point_id", sa.String(30), nullable=True),
        sa.Column("cis_service_agreement_id", sa.String(30), nullable=True),
        sa.Column("division", sa.String(30), nullable=True),
        sa.Column("start_date", sa.Date, nullable=True),
        sa.Column("installation_method", sa.String(4), nullable=False),
        sa.Column("asset_ownership", sa.String(4), nullable=False),
        sa.Column("exception_category", sa.Integer, nullable=True),
        sa.Column("exception_number", sa.Integer, nullable=True),
        sa.Column("exception_text", sa.String(254), nullable=True),
        sa.Column("subscription_id", sa.String(14), nullable=True),
        sa.Column("unenroll_reason", sa.String(30), nullable=True),
        sa.Column("request", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_enrollments_cis_account_id", "enrollments", ["cis_account_id"])
    op.create_index("ix_enrollments_status", "enrollments", ["status"])
    op.create_table(
        "enrollment_assets",
        sa.Column("enrollment_id", sa.String(12), primary_key=True),
        sa.Column("sequence", sa.Integer, primary_key=True),
        sa.Column("asset_id", sa.String(30), nullable=True),
        sa.Column("specification", sa.String(60), nullable=True),
        sa.Column("asset_type", sa.String(30), nullable=True),
        sa.Column("badge_no", sa.String(30), nullable=True),
        sa.Column("serial_no", sa.String(60), nullable=True),
        sa.Column("nic_id", sa.String(100), nullable=True),
        sa.Column("head_end_system", sa.String(50), nullable=True),
    )
    op.create_table(
        "enrollment_history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("enrollment_id", sa.String(12), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("note", sa.String(254), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_enrollment_history_enrollment_id", "enrollment_history", ["enrollment_id"])
    op.create_table(
        "program_subscriptions",
        sa.Column("subscription_id", sa.String(14), primary_key=True),
        sa.Column("enrollment_id", sa.String(12), nullable=False),
        sa.Column("program_id", sa.String(12), nullable=True),
        sa.Column("program_code", sa.String(30), nullable=False),
        sa.Column("subscription_type", sa.String(30), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("cis_person_id", sa.String(30), nullable=False),
        sa.Column("cis_account_id", sa.String(30), nullable=False),
        sa.Column("cis_service_agreement_id", sa.String(30), nullable=True),
        sa.Column("cis_service_point_id", sa.String(30), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_program_subscriptions_cis_account_id", "program_subscriptions", ["cis_account_id"])
    op.create_index("ix_program_subscriptions_enrollment_id", "program_subscriptions", ["enrollment_id"])
    op.create_table(
        "controllable_devices",
        sa.Column("device_id", sa.String(12), primary_key=True),
        sa.Column("enrollment_id", sa.String(12), nullable=False),
        sa.Column("subscription_id", sa.String(14), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("head_end_system", sa.String(50), nullable=False),
        sa.Column("nic_id", sa.String(100), nullable=False),
        sa.Column("specification", sa.String(60), nullable=True),
        sa.Column("device_type", sa.String(30), nullable=True),
        sa.Column("serial_no", sa.String(60), nullable=True),
        sa.Column("badge_no", sa.String(30), nullable=True),
        sa.Column("asset_id", sa.String(30), nullable=True),
        sa.Column("cis_service_point_id", sa.String(30), nullable=False),
        sa.Column("installed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("head_end_registration", sa.String(4), nullable=True),
        sa.Column("registration_message", sa.Text, nullable=True),
        sa.Column("registration_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_controllable_devices_enrollment_id", "controllable_devices", ["enrollment_id"])
    op.create_index("ix_controllable_devices_subscription_id", "controllable_devices", ["subscription_id"])
    op.create_table(
        "active_device_keys",
        sa.Column("head_end_system", sa.String(50), primary_key=True),
        sa.Column("nic_id", sa.String(100), primary_key=True),
        sa.Column("device_id", sa.String(12), nullable=False),
    )
    op.create_table(
        "status_checks",
        sa.Column("communication_id", sa.String(30), primary_key=True),
        sa.Column("purpose", sa.String(12), nullable=False),
        sa.Column("enrollment_id", sa.String(12), nullable=True),
        sa.Column("asset_sequence", sa.Integer, nullable=True),
        sa.Column("setup_round", sa.Integer, nullable=True),
        sa.Column("device_id", sa.String(12), nullable=True),
        sa.Column("head_end_system", sa.String(50), nullable=False),
        sa.Column("nic_id", sa.String(100), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("result_message", sa.String(254), nullable=True),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=True),
        sa.Column("late_result", sa.String(12), nullable=True),
        sa.Column("requested_by", sa.String(100), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_status_checks_device_id", "status_checks", ["device_id"])
    op.create_index("ix_status_checks_enrollment_id", "status_checks", ["enrollment_id"])
    op.create_index("ix_status_checks_status", "status_checks", ["status"])
    op.create_table(
        "outbound_messages",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("message_key", sa.String(60), nullable=False, unique=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("path", sa.String(200), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_outbound_messages_status", "outbound_messages", ["status"])


def downgrade() -> None:
    op.drop_table("outbound_messages")
    op.drop_table("status_checks")
    op.drop_table("active_device_keys")
    op.drop_table("controllable_devices")
    op.drop_table("program_subscriptions")
    op.drop_table("enrollment_history")
    op.drop_table("enrollment_assets")
    op.drop_table("enrollments")
