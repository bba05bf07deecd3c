"""network locations of service points and the network exports applied (F1)

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "network_locations",
        sa.Column("cis_service_point_id", sa.String(30), primary_key=True),
        sa.Column("effective_start", sa.Date, primary_key=True),
        sa.Column("transformer_id", sa.String(30), nullable=False),
        sa.Column("feeder_id", sa.String(30), nullable=False),
        sa.Column("substation_id", sa.String(30), nullable=False),
        sa.Column("effective_end", sa.Date, nullable=True),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "network_exports",
        sa.Column("export_id", sa.String(40), primary_key=True),
        sa.Column("export_type", sa.String(5), nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("previous_export_id", sa.String(40), nullable=True),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("closed", sa.Integer, nullable=False),
        sa.Column("inserted", sa.Integer, nullable=False),
        sa.Column("unchanged", sa.Integer, nullable=False),
        sa.Column("back_dated", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("network_exports")
    op.drop_table("network_locations")
