"""The score sets' tables, on DERMS's metadata (derms/schema.py lists them with the rest)."""

from __future__ import annotations

import sqlalchemy as sa

from derbridge.derms.schema import metadata

# One per score file taken: RECEIVED (checked whole, kept) → LOADING → IN_FORCE → REPLACED by a later one;
# SUPERSEDED when a later set was in force before it finished loading; FAILED with the error. The file is known
# by its name and the SHA-256 the program system gave it (F7's idempotency key).
score_sets = sa.Table(
    "score_sets",
    metadata,
    sa.Column("set_id", sa.String(32), primary_key=True),
    sa.Column("file_name", sa.String(60), nullable=False, unique=True),
    sa.Column("file_sha256", sa.String(64), nullable=False),
    sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("run_id", sa.String(14), nullable=True),
    sa.Column("state", sa.String(12), nullable=False, index=True),
    sa.Column("file", sa.String(500), nullable=False),  # where the file is kept until it is loaded
    sa.Column("file_format", sa.String(10), nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("rows_loaded", sa.Integer, nullable=False),
    sa.Column("eligible", sa.Integer, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("in_force_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=True),
)

# Each set's rows: one per device and subscription. No foreign keys, and no index: a set is loaded whole, then
# switched to, and every reader but one reads a whole set (an index costs a million-row load a third more on
# PostgreSQL); the one that does not, an operator's look at one device, scans the rows (well under a second).
score_set_rows = sa.Table(
    "score_set_rows",
    metadata,
    sa.Column("set_id", sa.String(32), nullable=False),
    sa.Column("head_end_system", sa.String(50), nullable=False),
    sa.Column("nic_id", sa.String(100), nullable=False),
    sa.Column("device_id", sa.String(12), nullable=False),
    sa.Column("subscription_id", sa.String(14), nullable=False),
    sa.Column("program_code", sa.String(30), nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("eligible", sa.Boolean, nullable=False),
    sa.Column("reason", sa.String(30), nullable=True),
    sa.Column("components", sa.Text, nullable=True),
)

# The set in force: one row, switched in one short transaction once a set is loaded whole.
score_set_in_force = sa.Table(
    "score_set_in_force",
    metadata,
    sa.Column("slot", sa.Integer, primary_key=True),  # always 1
    sa.Column("set_id", sa.String(32), nullable=False),
    sa.Column("switched_at", sa.DateTime(timezone=True), nullable=False),
)
