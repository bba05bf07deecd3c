"""customer contact and location from the CIS, program subscriptions and the device registry

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("cis_person_id", sa.String(30), primary_key=True),
        sa.Column("name", sa.String(254), nullable=False),
        sa.Column("home_phone", sa.String(24), nullable=True),
        sa.Column("business_phone", sa.String(24), nullable=True),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "customer_contacts",
        sa.Column("contact_id", sa.String(30), primary_key=True),
        sa.Column("cis_person_id", sa.String(30), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("value", sa.String(254), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_customer_contacts_cis_person_id", "customer_contacts", ["cis_person_id"])
    op.create_table(
        "customer_accounts",
        sa.Column("cis_account_id", sa.String(30), primary_key=True),
        sa.Column("cis_person_id", sa.String(30), nullable=False),
        sa.Column("division", sa.String(30), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_customer_accounts_cis_person_id", "customer_accounts", ["cis_person_id"])
    op.create_table(
        "service_locations",
        sa.Column("cis_service_point_id", sa.String(30), primary_key=True),
        sa.Column("cis_premise_id", sa.String(30), nullable=False),
        sa.Column("cis_account_id", sa.String(30), nullable=False),
        sa.Column("location_id", sa.String(30), nullable=False),
        sa.Column("address1", sa.String(254), nullable=False),
        sa.Column("city", sa.String(90), nullable=False),
        sa.Column("county", sa.String(90), nullable=True),
        sa.Column("state", sa.String(6), nullable=False),
        sa.Column("postal", sa.String(12), nullable=False),
        sa.Column("country", sa.String(3), nullable=False),
        sa.Column("time_zone", sa.String(40), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_service_locations_cis_account_id", "service_locations", ["cis_account_id"])
    op.create_index("ix_service_locations_cis_premise_id", "service_locations", ["cis_premise_id"])
    op.create_table(
        "subscriptions",
        sa.Column("subscription_id", sa.String(14), primary_key=True),
        sa.Column("subscription_type", sa.String(30), nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("program_id", sa.String(12), nullable=True),
        sa.Column("program_code", sa.String(30), nullable=False),
        sa.Column("cis_person_id", sa.String(30), nullable=False),
        sa.Column("contact_id", sa.String(30), nullable=True),
        sa.Column("cis_account_id", sa.String(30), nullable=False),
        sa.Column("division", sa.String(30), nullable=True),
        sa.Column("service_point_id", sa.String(30), nullable=True),
        sa.Column("cis_premise_id", sa.String(30), nullable=True),
        sa.Column("cis_service_point_id", sa.String(30), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_message_id", sa.String(14), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_subscriptions_cis_account_id", "subscriptions", ["cis_account_id"])
    op.create_index("ix_subscriptions_cis_service_point_id", "subscriptions", ["cis_service_point_id"])
    op.create_index("ix_subscriptions_program_code", "subscriptions", ["program_code"])
    op.create_table(
        "devices",
        sa.Column("head_end_system", sa.String(50), primary_key=True),
        sa.Column("nic_id", sa.String(100), primary_key=True),
        sa.Column("device_id", sa.String(12), nullable=False),
        sa.Column("subscription_id", sa.String(14), nullable=True),
        sa.Column("specification", sa.String(60), nullable=True),
        sa.Column("device_type", sa.String(30), nullable=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("installed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("nameplate_kw", sa.Float, nullable=True),
        sa.Column("nameplate_kwh", sa.Float, nullable=True),
        sa.Column("network_address", sa.String(100), nullable=True),
        sa.Column("registration_status", sa.String(20), nullable=False),
        sa.Column("registration_message", sa.Text, nullable=True),
        sa.Column("registration_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_message_id", sa.String(14), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_devices_device_id", "devices", ["device_id"])
    op.create_index("ix_devices_subscription_id", "devices", ["subscription_id"])


def downgrade() -> None:
    op.drop_table("devices")
    op.drop_table("subscriptions")
    op.drop_table("service_locations")
    op.drop_table("customer_accounts")
    op.drop_table("customer_contacts")
    op.drop_table("customers")
