"""premises from the CIS on their own; a record of CIS extract imports and of refused upload files

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
        "file_imports",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("table_name", sa.String(40), nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("inserted", sa.Integer, nullable=False),
        sa.Column("updated", sa.Integer, nullable=False),
        sa.Column("unchanged", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("bytes", sa.BigInteger, nullable=False),
        sa.Column("file_format", sa.String(10), nullable=False),
        sa.Column("seconds", sa.Float, nullable=False),
        sa.Column("imported_by", sa.String(40), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_file_imports_table_name", "file_imports", ["table_name"])
    op.create_table(
        "rejected_uploads",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("path", sa.String(300), nullable=False),
        sa.Column("file", sa.String(500), nullable=False),
        sa.Column("bytes", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("errors", sa.Text, nullable=False),
        sa.Column("received_by", sa.String(40), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("rejected_uploads")
    op.drop_table("file_imports")
    op.drop_table("premises")
