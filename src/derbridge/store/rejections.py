"""The table of rejected requests, kept raw with the reasons: what a reference system refused stays inspectable
(web/rejections.py keeps them)."""

from __future__ import annotations

import sqlalchemy as sa


def rejected_requests_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "rejected_requests",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("path", sa.String(300), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("errors", sa.Text, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
