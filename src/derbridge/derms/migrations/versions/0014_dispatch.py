"""dispatch of each stage's devices, their outcomes (F11) and each stage's performance

Events that had started before this revision were never dispatched: their stages are recorded as MISSED and
their outcomes as settled (none sent), so that DERMS does not report every device of a past event as an error.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

from derbridge.clock import utcnow

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stage_dispatches",
        sa.Column("stage_id", sa.String(60), primary_key=True),
        sa.Column("event_id", sa.String(40), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("devices", sa.Integer, nullable=False),
        sa.Column("accepted", sa.Integer, nullable=True),
        sa.Column("planned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_stage_dispatches_event_id", "stage_dispatches", ["event_id"])
    op.create_index("ix_stage_dispatches_status", "stage_dispatches", ["status"])
    op.create_table(
        "dispatch_devices",
        sa.Column("stage_id", sa.String(60), primary_key=True),
        sa.Column("head_end_system", sa.String(50), primary_key=True),
        sa.Column("nic_id", sa.String(100), primary_key=True),
        sa.Column("event_id", sa.String(40), nullable=False),
        sa.Column("requested_kw", sa.Float, nullable=False),
        sa.Column("feeder_id", sa.String(30), nullable=True),
        sa.Column("result", sa.String(10), nullable=False),
        sa.Column("message", sa.String(254), nullable=True),
    )
    op.create_index("ix_dispatch_devices_event_id", "dispatch_devices", ["event_id"])
    op.create_table(
        "outcome_runs",
        sa.Column("event_id", sa.String(40), primary_key=True),
        sa.Column("outcomes", sa.Integer, nullable=False),
        sa.Column("messages", sa.Integer, nullable=False),
        sa.Column("file_id", sa.String(60), nullable=True),
        sa.Column("unreachable", sa.Text, nullable=False),
        sa.Column("collected_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "event_outcomes",
        sa.Column("event_id", sa.String(40), primary_key=True),
        sa.Column("head_end_system", sa.String(50), primary_key=True),
        sa.Column("nic_id", sa.String(100), primary_key=True),
        sa.Column("outcome", sa.String(4), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error_message", sa.String(100), nullable=True),
        sa.Column("message_id", sa.String(60), nullable=True),
    )
    op.create_table(
        "stage_performance",
        sa.Column("stage_id", sa.String(60), primary_key=True),
        sa.Column("feeder_id", sa.String(30), primary_key=True),
        sa.Column("event_id", sa.String(40), nullable=False),
        sa.Column("dispatched_kw", sa.Float, nullable=False),
        sa.Column("delivered_kw", sa.Float, nullable=False),
        sa.Column("baseline_kw", sa.Float, nullable=False),
        sa.Column("devices", sa.Integer, nullable=False),
    )
    op.create_index("ix_stage_performance_event_id", "stage_performance", ["event_id"])
    started = "SELECT event_id FROM events WHERE status IN ('IN_PROGRESS', 'COMPLETED')"
    now = {"now": utcnow()}
    op.execute(sa.text("INSERT INTO stage_dispatches (stage_id, event_id, status, devices, planned_at) "
                       f"SELECT stage_id, event_id, 'MISSED', 0, :now FROM event_stages WHERE event_id IN ({started})")
               .bindparams(**now))
    op.execute(sa.text("INSERT INTO outcome_runs (event_id, outcomes, messages, unreachable, collected_at) "
                       f"SELECT event_id, 0, 0, '{{}}', :now FROM ({started}) AS started").bindparams(**now))


def downgrade() -> None:
    for table in ("stage_performance", "event_outcomes", "outcome_runs", "dispatch_devices", "stage_dispatches"):
        op.drop_table(table)
