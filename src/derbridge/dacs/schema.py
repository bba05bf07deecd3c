"""The program system's tables."""

from __future__ import annotations

import sqlalchemy as sa

from derbridge.store.importlog import file_imports_table, rejected_uploads_table
from derbridge.store.outbox import outbox_columns
from derbridge.store.rejections import rejected_requests_table

metadata = sa.MetaData()

aggregators = sa.Table(
    "aggregators",
    metadata,
    sa.Column("aggregator_id", sa.String(14), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("start_date", sa.Date, nullable=False),
    sa.Column("end_date", sa.Date, nullable=True),
    sa.Column("contact_name", sa.String(100), nullable=False),
    sa.Column("contact_email", sa.String(254), nullable=True),
    sa.Column("contact_phone", sa.String(30), nullable=True),
    sa.Column("external_reference_id", sa.String(50), nullable=True),
    sa.Column("external_system", sa.String(50), nullable=True),
    sa.Column("program_offerings", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# The vendor's "sync request": an outbox row per change that must reach DERMS, acknowledged later.
sync_requests = sa.Table(
    "sync_requests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("sync_request_id", sa.String(14), nullable=False, unique=True),
    sa.Column("kind", sa.String(30), nullable=False),
    sa.Column("object_id", sa.String(14), nullable=False, index=True),
    *outbox_columns(),
    sa.Column("acked_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("ack_payload", sa.Text, nullable=True),
)

rejected_requests = rejected_requests_table(metadata)

# ---- customers, as the CIS masters them (bulk-imported; the CIS owns these keys) ----------------------------

persons = sa.Table(
    "persons",
    metadata,
    sa.Column("cis_person_id", sa.String(30), primary_key=True),
    sa.Column("name", sa.String(254), nullable=False),
    sa.Column("home_phone", sa.String(24), nullable=True),
    sa.Column("business_phone", sa.String(24), nullable=True),
    sa.Column("email", sa.String(254), nullable=True),
    sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
)

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("cis_account_id", sa.String(30), primary_key=True),
    sa.Column("cis_person_id", sa.String(30), nullable=False, index=True),
    sa.Column("division", sa.String(30), nullable=False),
    sa.Column("rate_code", sa.String(30), nullable=False),
    sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
)

premises = sa.Table(
    "premises",
    metadata,
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

service_points = sa.Table(
    "service_points",
    metadata,
    sa.Column("cis_service_point_id", sa.String(30), primary_key=True),
    sa.Column("cis_premise_id", sa.String(30), nullable=False, index=True),
    sa.Column("cis_account_id", sa.String(30), nullable=False, index=True),
    sa.Column("location_id", sa.String(30), nullable=False),
    sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
)

service_agreements = sa.Table(
    "service_agreements",
    metadata,
    sa.Column("cis_service_agreement_id", sa.String(30), primary_key=True),
    sa.Column("cis_account_id", sa.String(30), nullable=False, index=True),
    sa.Column("cis_service_point_id", sa.String(30), nullable=False, index=True),
    sa.Column("rate_code", sa.String(30), nullable=False),
    sa.Column("start_date", sa.Date, nullable=False),
    sa.Column("end_date", sa.Date, nullable=True),
    sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
)

contacts = sa.Table(
    "contacts",
    metadata,
    sa.Column("contact_id", sa.String(30), primary_key=True),
    sa.Column("cis_person_id", sa.String(30), nullable=False, index=True),
    sa.Column("kind", sa.String(20), nullable=False),  # HOME_PHONE, BUSINESS_PHONE, EMAIL
    sa.Column("value", sa.String(254), nullable=False),
    sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
)

rates = sa.Table(
    "rates",
    metadata,
    sa.Column("rate_code", sa.String(30), primary_key=True),
    sa.Column("description", sa.String(254), nullable=False),
    sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
)

# ---- programs: what customers enroll in ---------------------------------------------------------------------

program_types = sa.Table(
    "program_types",
    metadata,
    sa.Column("program_type_code", sa.String(30), primary_key=True),
    sa.Column("description", sa.String(254), nullable=False),
    sa.Column("category", sa.String(30), nullable=False),
    sa.Column("device_required", sa.Boolean, nullable=False),
    sa.Column("preemptive_optout_allowed", sa.Boolean, nullable=False),
    sa.Column("optout_cutoff_minutes", sa.Integer, nullable=True),  # before event start; None: no cut-off
    sa.Column("unavailability_allowed", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

programs = sa.Table(
    "programs",
    metadata,
    sa.Column("program_id", sa.String(12), primary_key=True),
    sa.Column("program_code", sa.String(30), nullable=False, unique=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("program_type_code", sa.String(30), nullable=False, index=True),
    sa.Column("status", sa.String(20), nullable=False),  # DRAFT, PENDING_APPROVAL, ACTIVE, INACTIVE
    sa.Column("approved_by", sa.String(100), nullable=True),
    sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("start_date", sa.Date, nullable=False),
    sa.Column("end_date", sa.Date, nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    # Version of the program's rule set as last sent to DERMS (F2); raised by every rules sync of the program.
    sa.Column("rules_version", sa.Integer, nullable=False, server_default="0"),
)

program_specifications = sa.Table(
    "program_specifications",
    metadata,
    sa.Column("program_id", sa.String(12), primary_key=True),
    sa.Column("specification", sa.String(60), primary_key=True),  # an eligible device specification
)

program_rates = sa.Table(
    "program_rates",
    metadata,
    sa.Column("program_id", sa.String(12), primary_key=True),
    sa.Column("rate_code", sa.String(30), primary_key=True),  # an eligible rate
)

# Files on their way to the hub (bulk exports and syncs), streamed by runtime/senders.py FileOutboxSender.
outbound_files = sa.Table(
    "outbound_files",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("message_key", sa.String(120), nullable=False, unique=True),
    sa.Column("kind", sa.String(40), nullable=False),
    *outbox_columns(),
)

# ---- enrollments: PENDING → validation → DEVICE-SETUP → ACTIVE → UNENROLLED, or VAL-ERROR / SETUP-ERROR ------

enrollments = sa.Table(
    "enrollments",
    metadata,
    sa.Column("enrollment_id", sa.String(12), primary_key=True),
    sa.Column("transaction_id", sa.String(120), nullable=True, unique=True),  # the source's id: a repeat is 10589
    sa.Column("enrollment_source", sa.String(4), nullable=False),  # X1BY, X1CC, X1SS
    sa.Column("status", sa.String(12), nullable=False, index=True),
    sa.Column("program_code", sa.String(30), nullable=False),
    sa.Column("program_id", sa.String(12), nullable=True),
    sa.Column("cis_person_id", sa.String(30), nullable=True),
    sa.Column("cis_account_id", sa.String(30), nullable=True, index=True),
    sa.Column("cis_premise_id", sa.String(30), nullable=True),
    sa.Column("cis_service_point_id", sa.String(30), nullable=True),
    sa.Column("cis_service_agreement_id", sa.String(30), nullable=True),
    sa.Column("division", sa.String(30), nullable=True),
    sa.Column("start_date", sa.Date, nullable=True),
    sa.Column("installation_method", sa.String(4), nullable=False),  # X1RE, X1SD, X1SI, X1UI
    sa.Column("asset_ownership", sa.String(4), nullable=False),  # W1CO, W1OW
    sa.Column("exception_category", sa.Integer, nullable=True),
    sa.Column("exception_number", sa.Integer, nullable=True),
    sa.Column("exception_text", sa.String(254), nullable=True),
    sa.Column("subscription_id", sa.String(14), nullable=True),
    sa.Column("unenroll_reason", sa.String(30), nullable=True),
    sa.Column("legacy_import_id", sa.String(14), nullable=True, index=True),  # migrated in bulk (legacy.py)
    sa.Column("request", sa.Text, nullable=False),  # the request as it came, kept whole
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# The devices an enrollment asks for, as requested (they become controllable devices when it is ACTIVE).
enrollment_assets = sa.Table(
    "enrollment_assets",
    metadata,
    sa.Column("enrollment_id", sa.String(12), primary_key=True),
    sa.Column("sequence", sa.Integer, primary_key=True),
    sa.Column("asset_id", sa.String(30), nullable=True),
    sa.Column("specification", sa.String(60), nullable=True),
    sa.Column("asset_type", sa.String(30), nullable=True),
    sa.Column("badge_no", sa.String(30), nullable=True),
    sa.Column("serial_no", sa.String(60), nullable=True),
    sa.Column("nic_id", sa.String(100), nullable=True),
    sa.Column("head_end_system", sa.String(50), nullable=True),
)

enrollment_history = sa.Table(
    "enrollment_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("enrollment_id", sa.String(12), nullable=False, index=True),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("note", sa.String(254), nullable=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)

# A customer's participation in a program, created when an enrollment becomes ACTIVE.
program_subscriptions = sa.Table(
    "program_subscriptions",
    metadata,
    sa.Column("subscription_id", sa.String(14), primary_key=True),
    sa.Column("enrollment_id", sa.String(12), nullable=False, index=True),
    sa.Column("program_id", sa.String(12), nullable=True),
    sa.Column("program_code", sa.String(30), nullable=False),
    sa.Column("subscription_type", sa.String(30), nullable=False),
    sa.Column("status", sa.String(10), nullable=False),  # ACTIVE, INACTIVE
    sa.Column("cis_person_id", sa.String(30), nullable=False),
    sa.Column("cis_account_id", sa.String(30), nullable=False, index=True),
    sa.Column("cis_service_agreement_id", sa.String(30), nullable=True),
    sa.Column("cis_service_point_id", sa.String(30), nullable=False),
    sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("end_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

controllable_devices = sa.Table(
    "controllable_devices",
    metadata,
    sa.Column("device_id", sa.String(12), primary_key=True),
    sa.Column("enrollment_id", sa.String(12), nullable=False, index=True),
    sa.Column("subscription_id", sa.String(14), nullable=False, index=True),
    sa.Column("status", sa.String(10), nullable=False),  # ACTIVE, REMOVED
    sa.Column("head_end_system", sa.String(50), nullable=False),
    sa.Column("nic_id", sa.String(100), nullable=False),
    sa.Column("specification", sa.String(60), nullable=True),
    sa.Column("device_type", sa.String(30), nullable=True),
    sa.Column("serial_no", sa.String(60), nullable=True),
    sa.Column("badge_no", sa.String(30), nullable=True),
    sa.Column("asset_id", sa.String(30), nullable=True),
    sa.Column("cis_service_point_id", sa.String(30), nullable=False),  # the device location
    sa.Column("installed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
    # D1RE registered, D1DR deregistered, D1NR not registered with its head end (from F5 acks); None: not yet known
    sa.Column("head_end_registration", sa.String(4), nullable=True),
    sa.Column("registration_message", sa.Text, nullable=True),
    sa.Column("registration_updated_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# Which device holds each (head end, NIC id) now: at most one active device per physical device.
active_device_keys = sa.Table(
    "active_device_keys",
    metadata,
    sa.Column("head_end_system", sa.String(50), primary_key=True),
    sa.Column("nic_id", sa.String(100), primary_key=True),
    sa.Column("device_id", sa.String(12), nullable=False),
)

# Device status checks (F6): AWAITRESP until DERMS's result (SUCCESS, FAILURE) or the deadline (TIMED-OUT).
status_checks = sa.Table(
    "status_checks",
    metadata,
    sa.Column("communication_id", sa.String(30), primary_key=True),
    sa.Column("purpose", sa.String(12), nullable=False),  # DEVICE-SETUP, AGENT
    sa.Column("enrollment_id", sa.String(12), nullable=True, index=True),
    sa.Column("asset_sequence", sa.Integer, nullable=True),
    sa.Column("setup_round", sa.Integer, nullable=True),  # device setup: 1, and one more on each retry
    sa.Column("device_id", sa.String(12), nullable=True, index=True),
    sa.Column("head_end_system", sa.String(50), nullable=False),
    sa.Column("nic_id", sa.String(100), nullable=False),
    sa.Column("status", sa.String(12), nullable=False, index=True),
    sa.Column("result_message", sa.String(254), nullable=True),
    sa.Column("last_seen", sa.DateTime(timezone=True), nullable=True),
    sa.Column("late_result", sa.String(12), nullable=True),  # a result that came after the deadline
    sa.Column("requested_by", sa.String(100), nullable=True),
    sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
    sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
)

# Outbound messages that are not sync requests (status checks), delivered by the outbox sender.
outbound_messages = sa.Table(
    "outbound_messages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("message_key", sa.String(60), nullable=False, unique=True),
    sa.Column("kind", sa.String(30), nullable=False),
    *outbox_columns(),
)

# ---- program rules (F2): defined on their own, then associated with programs --------------------------------

program_rules = sa.Table(
    "program_rules",
    metadata,
    sa.Column("rule_id", sa.String(12), primary_key=True),
    sa.Column("rule_code", sa.String(30), nullable=False, unique=True),
    sa.Column("description", sa.String(254), nullable=False),
    sa.Column("available_for_events", sa.Boolean, nullable=False),
    sa.Column("allowed_overrides", sa.Integer, nullable=False),  # customer overrides per cycle
    sa.Column("max_event_duration_minutes", sa.Integer, nullable=False),
    sa.Column("allow_event_days", sa.String(30), nullable=False),  # day codes, comma-separated: MON,TUE,…
    sa.Column("cycle_frequency", sa.String(10), nullable=False),  # WEEKLY, MONTHLY, SEASONAL
    sa.Column("max_events_per_season", sa.Integer, nullable=True),  # None: no cap
    sa.Column("max_events_per_month", sa.Integer, nullable=True),
    sa.Column("max_events_per_week", sa.Integer, nullable=True),
    sa.Column("max_event_hours_per_year", sa.Float, nullable=True),
    sa.Column("event_window_start", sa.Time, nullable=False),  # local time of day
    sa.Column("event_window_end", sa.Time, nullable=False),
    sa.Column("min_notice_minutes", sa.Integer, nullable=False),
    sa.Column("max_consecutive_days", sa.Integer, nullable=True),
    sa.Column("exclude_life_support", sa.Boolean, nullable=False),  # life-support and sensitive-load premises
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

program_rule_associations = sa.Table(
    "program_rule_associations",
    metadata,
    sa.Column("program_id", sa.String(12), primary_key=True),
    sa.Column("rule_id", sa.String(12), primary_key=True, index=True),
    sa.Column("associated_at", sa.DateTime(timezone=True), nullable=False),
)

# ---- CIS imports: every extract file applied, and every file refused (kept under the data directory) -------

file_imports = file_imports_table(metadata)
rejected_uploads = rejected_uploads_table(metadata)

# ---- the electrical network: which transformer, feeder and substation served a service point, day by day (F1) --

# Contiguous effective-dated records per service point, the last one open (effective_end NULL): the rules of
# dacs/network/locations.py. Written only from DERMS's network exports. Stored in key order (SQLite: without
# rowid), so a million records arriving in service point order cost one B-tree, not a table and an index.
network_locations = sa.Table(
    "network_locations",
    metadata,
    sa.Column("cis_service_point_id", sa.String(30), primary_key=True),
    sa.Column("effective_start", sa.Date, primary_key=True),
    sa.Column("transformer_id", sa.String(30), nullable=False),
    sa.Column("feeder_id", sa.String(30), nullable=False),
    sa.Column("substation_id", sa.String(30), nullable=False),
    sa.Column("effective_end", sa.Date, nullable=True),
    sqlite_with_rowid=False,
)

# Every network export received: applied once, in the order DERMS made them (each names the one it follows).
network_exports = sa.Table(
    "network_exports",
    metadata,
    sa.Column("export_id", sa.String(40), primary_key=True),
    sa.Column("export_type", sa.String(5), nullable=False),  # full, delta
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

# ---- enrollments migrated in bulk from a legacy extract, and their initial sync to DERMS as one file ---------

legacy_imports = sa.Table(
    "legacy_imports",
    metadata,
    sa.Column("import_id", sa.String(14), primary_key=True),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("imported_by", sa.String(200), nullable=False),
    sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("seconds", sa.Float, nullable=False),
)

# One initial sync of an import's devices: SENT (the file is on its way) → ACKED (DERMS's ack file applied).
bulk_syncs = sa.Table(
    "bulk_syncs",
    metadata,
    sa.Column("bulk_sync_id", sa.String(14), primary_key=True),
    sa.Column("import_id", sa.String(14), nullable=False, index=True),
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

# Program events (F8): one per DERMS event stage, as the vendor's program system keeps them. `status_rank` is
# the rank of the last status change applied, so a repeated or late change never moves an event backwards.
program_events = sa.Table(
    "program_events",
    metadata,
    sa.Column("program_event_id", sa.String(14), primary_key=True),
    sa.Column("event_external_id", sa.String(60), nullable=False, index=True),
    sa.Column("stage_external_id", sa.String(60), nullable=False),
    sa.Column("program_code", sa.String(30), nullable=False, index=True),
    sa.Column("program_id", sa.String(12), nullable=True),
    sa.Column("category", sa.String(4), nullable=False),
    sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("status_rank", sa.Integer, nullable=False),
    sa.Column("cancel_reason", sa.String(254), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("event_external_id", "stage_external_id", name="uq_program_events_event_stage"),
)

# A device's part in one DERMS event (F9 reservation, F12 opt-out, F11 outcome): the participation history
# device scores are computed from (F7). One row per event and device (head-end system, NIC id).
event_participations = sa.Table(
    "event_participations",
    metadata,
    sa.Column("participation_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_external_id", sa.String(60), nullable=False),
    sa.Column("head_end_system", sa.String(50), nullable=False),
    sa.Column("nic_id", sa.String(100), nullable=False),
    sa.Column("device_id", sa.String(12), nullable=True, index=True),
    sa.Column("subscription_id", sa.String(14), nullable=True),
    sa.Column("program_code", sa.String(30), nullable=True),
    sa.Column("reserved", sa.Boolean, nullable=False),
    sa.Column("reservation_start", sa.DateTime(timezone=True), nullable=True),
    sa.Column("reservation_end", sa.DateTime(timezone=True), nullable=True),
    sa.Column("reserved_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("opted_out", sa.Boolean, nullable=False),
    sa.Column("opted_out_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("outcome", sa.String(4), nullable=True),
    sa.Column("outcome_message", sa.String(100), nullable=True),
    sa.Column("participation_start", sa.DateTime(timezone=True), nullable=True),
    sa.Column("participation_end", sa.DateTime(timezone=True), nullable=True),
    sa.Column("outcome_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("event_external_id", "head_end_system", "nic_id", name="uq_event_participations_device"),
    sa.Index("ix_event_participations_device", "head_end_system", "nic_id"),
)

# ---- device scores (F7): rule sets, the program each serves, the daily runs and every device's latest score ----

# A named score rule set as written (dacs/scores/formula.py checks it on every save); version +1 per change.
score_rule_sets = sa.Table(
    "score_rule_sets",
    metadata,
    sa.Column("rule_set_id", sa.String(12), primary_key=True),
    sa.Column("name", sa.String(60), nullable=False, unique=True),
    sa.Column("description", sa.String(254), nullable=True),
    sa.Column("rules", sa.Text, nullable=False),  # JSON [{name, formula}], in order
    sa.Column("eligibility", sa.Text, nullable=False),  # JSON [{formula, reason}], in order
    sa.Column("factors", sa.Text, nullable=False),  # JSON {name: [numbers]}
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_by", sa.String(200), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# At most one score rule set per program; a program without one is scored by the default rule set.
program_score_rule_sets = sa.Table(
    "program_score_rule_sets",
    metadata,
    sa.Column("program_id", sa.String(12), primary_key=True),
    sa.Column("rule_set_id", sa.String(12), nullable=False, index=True),
    sa.Column("attached_by", sa.String(200), nullable=False),
    sa.Column("attached_at", sa.DateTime(timezone=True), nullable=False),
)

# One score run: RUNNING → DONE (its file written and queued to the hub) or FAILED. A scheduled run names its
# UTC day, unique, so the schedule runs once a day however many processes watch the clock.
score_runs = sa.Table(
    "score_runs",
    metadata,
    sa.Column("run_id", sa.String(14), primary_key=True),
    sa.Column("trigger", sa.String(10), nullable=False),  # SCHEDULE, DEMAND
    sa.Column("scheduled_day", sa.Date, nullable=True, unique=True),
    sa.Column("status", sa.String(10), nullable=False, index=True),
    sa.Column("requested_by", sa.String(200), nullable=False),
    sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),  # the time the scores are as of
    sa.Column("file_name", sa.String(60), nullable=False, unique=True),
    sa.Column("sha256", sa.String(64), nullable=True),
    sa.Column("devices", sa.Integer, nullable=True),
    sa.Column("eligible", sa.Integer, nullable=True),
    sa.Column("programs", sa.Integer, nullable=True),
    sa.Column("reasons", sa.Text, nullable=True),  # JSON {reason code: devices}
    sa.Column("read_s", sa.Float, nullable=True),
    sa.Column("compute_s", sa.Float, nullable=True),
    sa.Column("write_s", sa.Float, nullable=True),
    sa.Column("seconds", sa.Float, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
)

# Each scored device's score from the latest DONE run (replaced whole by each run, in the transaction that
# marks it DONE), as its row of the score file says (a device's subscription and program never change, so they
# are the device's). Stored in key order, without rowid.
device_scores = sa.Table(
    "device_scores",
    metadata,
    sa.Column("device_id", sa.String(12), primary_key=True),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("eligible", sa.Boolean, nullable=False),
    sa.Column("reason", sa.String(30), nullable=True),
    sa.Column("components", sa.Text, nullable=False),
    sqlite_with_rowid=False,
)

# A customer's declared unavailability window for a device (F13): ACTIVE or CANCELLED. `version` is raised by
# every change (an edit, a cancel) and each version is sent to DERMS, which keeps the highest it has seen.
unavailability_windows = sa.Table(
    "unavailability_windows",
    metadata,
    sa.Column("unavailability_id", sa.String(14), primary_key=True),
    sa.Column("device_id", sa.String(12), nullable=False, index=True),
    sa.Column("head_end_system", sa.String(50), nullable=False),
    sa.Column("nic_id", sa.String(100), nullable=False),
    sa.Column("program_code", sa.String(30), nullable=False),
    sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("reason", sa.String(254), nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
