"""enrollments migrated in bulk: legacy imports, their initial syncs, the import an enrollment came from

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("enrollments") as batch:
        batch.add_column(sa.Column("legacy_import_id", sa.String(14), nullable=True))
        batch.create_index("ix_enrollments_legacy_import_id", ["legacy_import_id"])
    op.create_table(
        "legacy_imports",
        sa.Column("import_id", sa.String(14), primary_key=True),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("imported_by", sa.String(200), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seconds", sa.Float, nullable=False),
    )
    op.create_table(
        "bulk_syncs",
        sa.Column("bulk_sync_id", sa.String(14), primary_key=True),
        sa.Column("import_id", sa.String(14), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("devices", sa.Integer, nullable=False),
        sa.Column("file", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("registered", sa.Integer, nullable=True),
        sa.Column("deregistered", sa.Integer, nullable=True),
        sa.Column("not_registered", sa.Integer, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_bulk_syncs_import_id", "bulk_syncs", ["import_id"])


def downgrade() -> None:
    with op.batch_alter_table("enrollments") as batch:
        batch.drop_index("ix_enrollments_legacy_import_id")
        batch.drop_column("legacy_import_id")
    op.drop_table("bulk_syncs")
    op.drop_table("legacy_imports")
