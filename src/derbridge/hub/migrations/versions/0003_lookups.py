"""lookups (domain value maps), their rows and audit trail

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lookups",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("column_names", sa.Text, nullable=False),
        sa.Column("key_columns", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "lookup_rows",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("lookup", sa.String(100), sa.ForeignKey("lookups.name", ondelete="CASCADE"), nullable=False),
        sa.Column("row_key", sa.String(200), nullable=False),
        sa.Column("cells", sa.Text, nullable=False),
        sa.UniqueConstraint("lookup", "row_key", name="uq_lookup_rows_lookup_row_key"),
    )
    op.create_table(
        "lookup_audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("principal", sa.String(40), nullable=False),
        sa.Column("person", sa.String(100), nullable=True),
        sa.Column("action", sa.String(10), nullable=False),
        sa.Column("lookup", sa.String(100), nullable=False),
        sa.Column("row_key", sa.String(200), nullable=True),
        sa.Column("old_value", sa.Text, nullable=True),
        sa.Column("new_value", sa.Text, nullable=True),
        sa.Column("version", sa.Integer, nullable=True),
        sa.Column("note", sa.Text, nullable=True),
    )
    op.create_index("ix_lookup_audit_lookup", "lookup_audit", ["lookup"])


def downgrade() -> None:
    op.drop_table("lookup_audit")
    op.drop_table("lookup_rows")
    op.drop_table("lookups")
