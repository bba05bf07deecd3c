"""the electrical network: substations, feeders, transformers, service point connections, changes, exports (F1)

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
    op.create_table(
        "substations",
        sa.Column("substation_id", sa.String(30), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("division", sa.String(30), nullable=True),
        sa.Column("capacity_kw", sa.Float, nullable=True),
        sa.Column("effective_start", sa.Date, nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "feeders",
        sa.Column("feeder_id", sa.String(30), primary_key=True),
        sa.Column("substation_id", sa.String(30), nullable=False),
        sa.Column("voltage_kv", sa.Float, nullable=True),
        sa.Column("capacity_kw", sa.Float, nullable=True),
        sa.Column("effective_start", sa.Date, nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_feeders_substation_id", "feeders", ["substation_id"])
    op.create_table(
        "transformers",
        sa.Column("transformer_id", sa.String(30), primary_key=True),
        sa.Column("feeder_id", sa.String(30), nullable=False),
        sa.Column("feeder_since", sa.Date, nullable=False),
        sa.Column("phase", sa.String(3), nullable=True),
        sa.Column("capacity_kw", sa.Float, nullable=True),
        sa.Column("effective_start", sa.Date, nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_transformers_feeder_id", "transformers", ["feeder_id"])
    op.create_table(
        "service_point_connections",
        sa.Column("cis_service_point_id", sa.String(30), primary_key=True),
        sa.Column("effective_start", sa.Date, primary_key=True),
        sa.Column("transformer_id", sa.String(30), nullable=False),
        sa.Column("feeder_id", sa.String(30), nullable=False),
        sa.Column("substation_id", sa.String(30), nullable=False),
        sa.Column("effective_end", sa.Date, nullable=True),
        sa.Column("change_seq", sa.Integer, nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_service_point_connections_transformer_id", "service_point_connections", ["transformer_id"])
    op.create_index("ix_service_point_connections_change_seq", "service_point_connections", ["change_seq"])
    op.create_table(
        "network_changes",
        sa.Column("change_seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("subject", sa.String(60), nullable=False),
        sa.Column("effective_date", sa.Date, nullable=True),
        sa.Column("records", sa.Integer, nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "network_exports",
        sa.Column("export_id", sa.String(40), primary_key=True),
        sa.Column("export_type", sa.String(5), nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("previous_export_id", sa.String(40), nullable=True),
        sa.Column("change_seq_from", sa.Integer, nullable=False),
        sa.Column("change_seq_to", sa.Integer, nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("file", sa.String(300), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("message_key", sa.String(120), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    for table in ("network_exports", "network_changes", "service_point_connections", "transformers", "feeders",
                  "substations"):
        op.drop_table(table)
