"""customers from the CIS, rates, program types, programs and their eligible specifications and rates

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
        "persons",
        sa.Column("cis_person_id", sa.String(30), primary_key=True),
        sa.Column("name", sa.String(254), nullable=False),
        sa.Column("home_phone", sa.String(24), nullable=True),
        sa.Column("business_phone", sa.String(24), nullable=True),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "accounts",
        sa.Column("cis_account_id", sa.String(30), primary_key=True),
        sa.Column("cis_person_id", sa.String(30), nullable=False),
        sa.Column("division", sa.String(30), nullable=False),
        sa.Column("rate_code", sa.String(30), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_accounts_cis_person_id", "accounts", ["cis_person_id"])
    op.create_table(
        "premises",
        sa.Column("cis_premise_id", sa.String(30), primary_key=True),
        sa.Column("address1", sa.String(254), nullable=False),
        sa.Column("city", sa.String(90), nullable=False),
        sa.Column("county", sa.String(90), nullable=True),
        sa.Column("state", sa.String(6), nullable=False),
        sa.Column("postal", sa.String(12), nullable=False),
        sa.Column("country", sa.String(3), nullable=False),
        sa.Column("time_zone", sa.String(40), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "service_points",
        sa.Column("cis_service_point_id", sa.String(30), primary_key=True),
        sa.Column("cis_premise_id", sa.String(30), nullable=False),
        sa.Column("cis_account_id", sa.String(30), nullable=False),
        sa.Column("location_id", sa.String(30), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_service_points_cis_account_id", "service_points", ["cis_account_id"])
    op.create_index("ix_service_points_cis_premise_id", "service_points", ["cis_premise_id"])
    op.create_table(
        "service_agreements",
        sa.Column("cis_service_agreement_id", sa.String(30), primary_key=True),
        sa.Column("cis_account_id", sa.String(30), nullable=False),
        sa.Column("cis_service_point_id", sa.String(30), nullable=False),
        sa.Column("rate_code", sa.String(30), nullable=False),
        sa.Column("start_date", sa.Date, nullable=False),
        sa.Column("end_date", sa.Date, nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_service_agreements_cis_account_id", "service_agreements", ["cis_account_id"])
    op.create_index("ix_service_agreements_cis_service_point_id", "service_agreements", ["cis_service_point_id"])
    op.create_table(
        "contacts",
        sa.Column("contact_id", sa.String(30), primary_key=True),
        sa.Column("cis_person_id", sa.String(30), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("value", sa.String(254), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_contacts_cis_person_id", "contacts", ["cis_person_id"])
    op.create_table(
        "rates",
        sa.Column("rate_code", sa.String(30), primary_key=True),
        sa.Column("description", sa.String(254), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "program_types",
        sa.Column("program_type_code", sa.String(30), primary_key=True),
        sa.Column("description", sa.String(254), nullable=False),
        sa.Column("category", sa.String(30), nullable=False),
        sa.Column("device_required", sa.Boolean, nullable=False),
        sa.Column("preemptive_optout_allowed", sa.Boolean, nullable=False),
        sa.Column("optout_cutoff_minutes", sa.Integer, nullable=True),
        sa.Column("unavailability_allowed", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "programs",
        sa.Column("program_id", sa.String(12), primary_key=True),
        sa.Column("program_code", sa.String(30), nullable=False, unique=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("program_type_code", sa.String(30), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("approved_by", sa.String(100), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("start_date", sa.Date, nullable=False),
        sa.Column("end_date", sa.Date, nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_programs_program_type_code", "programs", ["program_type_code"])
    op.create_table(
        "program_specifications",
        sa.Column("program_id", sa.String(12), primary_key=True),
        sa.Column("specification", sa.String(60), primary_key=True),
    )
    op.create_table(
        "program_rates",
        sa.Column("program_id", sa.String(12), primary_key=True),
        sa.Column("rate_code", sa.String(30), primary_key=True),
    )


def downgrade() -> None:
    op.drop_table("program_rates")
    op.drop_table("program_specifications")
    op.drop_table("programs")
    op.drop_table("program_types")
    op.drop_table("rates")
    op.drop_table("contacts")
    op.drop_table("service_agreements")
    op.drop_table("service_points")
    op.drop_table("premises")
    op.drop_table("accounts")
    op.drop_table("persons")
