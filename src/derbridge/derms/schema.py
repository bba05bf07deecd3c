"""DERMS's tables."""

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
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("effective_start", sa.DateTime(timezone=True), nullable=False),
    sa.Column("effective_end", sa.DateTime(timezone=True), nullable=True),
    sa.Column("contact_name", sa.String(100), nullable=False),
    sa.Column("contact_email", sa.String(254), nullable=True),
    sa.Column("contact_phone", sa.String(30), nullable=True),
    sa.Column("external_reference_id", sa.String(50), nullable=True),
    sa.Column("external_system", sa.String(50), nullable=True),
    sa.Column("program_codes", sa.Text, nullable=False),
    sa.Column("last_message_id", sa.String(14), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# Every program-system message applied once: a repeat is answered, not applied again.
received_messages = sa.Table(
    "received_messages",
    metadata,
    sa.Column("message_id", sa.String(40), primary_key=True),
    sa.Column("kind", sa.String(30), nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
)

# DERMS's outbound messages to the hub (acknowledgements and later flows).
outbound_messages = sa.Table(
    "outbound_messages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("message_key", sa.String(60), nullable=False, unique=True),
    sa.Column("kind", sa.String(30), nullable=False),
    *outbox_columns(),
)

rejected_requests = rejected_requests_table(metadata)

# ---- customer contact and location, from the CIS (bulk-imported before any enrollment sync) ----------------

customers = sa.Table(
    "customers",
    metadata,
    sa.Column("cis_person_id", sa.String(30), primary_key=True),
    sa.Column("name", sa.String(254), nullable=False),
    sa.Column("home_phone", sa.String(24), nullable=True),
    sa.Column("business_phone", sa.String(24), nullable=True),
    sa.Column("email", sa.String(254), nullable=True),
    sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
)

customer_contacts = sa.Table(
    "customer_contacts",
    metadata,
    sa.Column("contact_id", sa.String(30), primary_key=True),
    sa.Column("cis_person_id", sa.String(30), nullable=False, index=True),
    sa.Column("kind", sa.String(20), nullable=False),  # HOME_PHONE, BUSINESS_PHONE, EMAIL
    sa.Column("value", sa.String(254), nullable=False),
    sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
)

customer_accounts = sa.Table(
    "customer_accounts",
    metadata,
    sa.Column("cis_account_id", sa.String(30), primary_key=True),
    sa.Column("cis_person_id", sa.String(30), nullable=False, index=True),
    sa.Column("division", sa.String(30), nullable=False),
    sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
)

# One row per service point with its premise's address: where a customer's devices are.
service_locations = sa.Table(
    "service_locations",
    metadata,
    sa.Column("cis_service_point_id", sa.String(30), primary_key=True),
    sa.Column("cis_premise_id", sa.String(30), nullable=False, index=True),
    sa.Column("cis_account_id", sa.String(30), nullable=False, index=True),
    sa.Column("location_id", sa.String(30), nullable=False),
    sa.Column("address1", sa.String(254), nullable=False),
    sa.Column("city", sa.String(90), nullable=False),
    sa.Column("county", sa.String(90), nullable=True),
    sa.Column("state", sa.String(6), nullable=False),
    sa.Column("postal", sa.String(12), nullable=False),
    sa.Column("country", sa.String(3), nullable=False),
    sa.Column("time_zone", sa.String(40), nullable=False),
    sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
)

# ---- the device registry: program subscriptions and controllable devices, from enrollment syncs (F5) ------

subscriptions = sa.Table(
    "subscriptions",
    metadata,
    sa.Column("subscription_id", sa.String(14), primary_key=True),
    sa.Column("subscription_type", sa.String(30), nullable=True),
    sa.Column("status", sa.String(10), nullable=False),  # ACTIVE, INACTIVE
    sa.Column("program_id", sa.String(12), nullable=True),
    sa.Column("program_code", sa.String(30), nullable=False, index=True),
    sa.Column("cis_person_id", sa.String(30), nullable=False),
    sa.Column("contact_id", sa.String(30), nullable=True),
    sa.Column("cis_account_id", sa.String(30), nullable=False, index=True),
    sa.Column("division", sa.String(30), nullable=True),
    sa.Column("service_point_id", sa.String(30), nullable=True),  # the program system's own key
    sa.Column("cis_premise_id", sa.String(30), nullable=True),
    sa.Column("cis_service_point_id", sa.String(30), nullable=False, index=True),
    sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("end_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("last_message_id", sa.String(14), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# A device is identified across systems by (head_end_system, nic_id); device_id is the program system's key.
devices = sa.Table(
    "devices",
    metadata,
    sa.Column("head_end_system", sa.String(50), primary_key=True),
    sa.Column("nic_id", sa.String(100), primary_key=True),
    sa.Column("device_id", sa.String(12), nullable=False, index=True),
    sa.Column("subscription_id", sa.String(14), nullable=True, index=True),
    sa.Column("specification", sa.String(60), nullable=True),
    sa.Column("device_type", sa.String(30), nullable=True),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("installed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("nameplate_kw", sa.Float, nullable=True),
    sa.Column("nameplate_kwh", sa.Float, nullable=True),
    sa.Column("network_address", sa.String(100), nullable=True),
    # NOT_REGISTERED, REGISTERED, DEREGISTERED: the device's registration with its head end, as last learnt
    sa.Column("registration_status", sa.String(20), nullable=False),
    sa.Column("registration_message", sa.Text, nullable=True),
    sa.Column("registration_changed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("last_message_id", sa.String(14), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    # Whether the device should be registered (active, not removed, its subscription active), and whether the
    # registration worker still has to make the head end agree (derms/registry/registration.py).
    sa.Column("registration_wanted", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("registration_due", sa.Boolean, nullable=False, server_default=sa.false(), index=True),
)

# Files on their way to the hub (bulk exports and syncs), streamed by runtime/senders.py FileOutboxSender.
outbound_files = sa.Table(
    "outbound_files",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("message_key", sa.String(120), nullable=False, unique=True),
    sa.Column("kind", sa.String(40), nullable=False),
    *outbox_columns(path_length=400),  # a reservation device list carries the event's header as its query
)

# ---- programs and their rules, from the program system (F2) ------------------------------------------------

# One row per program: its whole rule set as last received, and that set's version (an older one never wins).
programs = sa.Table(
    "programs",
    metadata,
    sa.Column("program_code", sa.String(30), primary_key=True),
    sa.Column("program_id", sa.String(12), nullable=False),
    sa.Column("rules_version", sa.Integer, nullable=False),
    sa.Column("rules", sa.Text, nullable=False),  # JSON list, as received
    sa.Column("last_message_id", sa.String(14), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# An operator's choice: a rule (by the reason code it produces) that may be overridden when planning an event.
overridable_rules = sa.Table(
    "overridable_rules",
    metadata,
    sa.Column("program_code", sa.String(30), primary_key=True),
    sa.Column("reason_code", sa.String(40), primary_key=True),
    sa.Column("marked_at", sa.DateTime(timezone=True), nullable=False),
)

# Premises with life-support or sensitive-load equipment: excluded from events by the rules that say so.
sensitive_premises = sa.Table(
    "sensitive_premises",
    metadata,
    sa.Column("cis_premise_id", sa.String(30), primary_key=True),
    sa.Column("kind", sa.String(20), nullable=False),  # LIFE_SUPPORT, SENSITIVE_LOAD
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
)

# Each device's part in each event (filled by the event flows; by an operator endpoint until they exist).
event_participations = sa.Table(
    "event_participations",
    metadata,
    sa.Column("event_id", sa.String(40), primary_key=True),
    sa.Column("head_end_system", sa.String(50), primary_key=True),
    sa.Column("nic_id", sa.String(100), primary_key=True),
    sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("customer_override", sa.Boolean, nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_event_participations_device_start", "head_end_system", "nic_id", "start_at"),
)

# ---- device status checks (F6): asked of the head end, answered later through the outbox --------------------

status_checks = sa.Table(
    "status_checks",
    metadata,
    sa.Column("dacs_message_id", sa.String(30), primary_key=True),  # the program system's communicationId
    sa.Column("head_end_system", sa.String(50), nullable=False),
    sa.Column("nic_id", sa.String(100), nullable=False, index=True),
    sa.Column("division", sa.String(30), nullable=True),
    sa.Column("device_type", sa.String(30), nullable=True),
    sa.Column("specification", sa.String(60), nullable=True),
    sa.Column("connection_id", sa.String(60), nullable=True),
    # NEW: to ask the head end; HELD: answered, held until the cloud's reporting lag has passed (due_at);
    # ANSWERED: the result is in the outbox
    sa.Column("status", sa.String(10), nullable=False, index=True),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("asked_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("response_code", sa.String(10), nullable=True),  # SUCCESS, FAILURE
    sa.Column("message", sa.String(254), nullable=True),
    sa.Column("last_seen", sa.DateTime(timezone=True), nullable=True),
)

# ---- enrollments aggregators ask for (F4): a batch, its records, and the program system's result for each -----

enrollment_batches = sa.Table(
    "enrollment_batches",
    metadata,
    sa.Column("batch_id", sa.String(60), primary_key=True),
    sa.Column("status", sa.String(10), nullable=False, index=True),  # SUBMITTED, COMPLETE, PARTIAL, FAILED
    sa.Column("records", sa.Integer, nullable=False),
    sa.Column("enrolled", sa.Integer, nullable=False),
    sa.Column("refused", sa.Integer, nullable=False),
    sa.Column("ack_type", sa.String(10), nullable=True),  # of the latest results: SUCCESS, ERROR, FAILURE
    sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("results_when", sa.DateTime(timezone=True), nullable=True),  # whenISO of the results held
    sa.Column("results_at", sa.DateTime(timezone=True), nullable=True),
)

enrollment_records = sa.Table(
    "enrollment_records",
    metadata,
    sa.Column("batch_id", sa.String(60), primary_key=True),
    sa.Column("message_id", sa.String(120), primary_key=True),  # params.messageId: the program system's transactionId
    sa.Column("sequence", sa.Integer, nullable=False),  # position in the batch
    sa.Column("head_end_system", sa.String(50), nullable=False),
    sa.Column("nic_ids", sa.Text, nullable=False),  # the record's devices, comma-separated
    sa.Column("program_code", sa.String(30), nullable=False),
    sa.Column("record", sa.Text, nullable=False),  # as submitted (JSON)
    sa.Column("response_code", sa.String(10), nullable=True),  # SUCCESS, ERROR, FAILURE; empty until results
    sa.Column("enrollment_id", sa.String(30), nullable=True),
    sa.Column("message_category", sa.Integer, nullable=True),
    sa.Column("message_number", sa.Integer, nullable=True),
    sa.Column("message_text", sa.Text, nullable=True),
    sa.Column("result_at", sa.DateTime(timezone=True), nullable=True),
)

# ---- the registry's own records: device groups, enrollment syncs received, bulk initial syncs --------------

# A subscription's device groups (program, model/firmware, rate class) as its latest applied sync lists them.
device_groups = sa.Table(
    "device_groups",
    metadata,
    sa.Column("subscription_id", sa.String(14), primary_key=True),
    sa.Column("group_category", sa.String(10), primary_key=True),  # PROGRAM, MODEL, RATE
    sa.Column("group_code", sa.String(60), primary_key=True),
    sa.Column("effective_start", sa.DateTime(timezone=True), primary_key=True),
    sa.Column("effective_end", sa.DateTime(timezone=True), nullable=True),
    sa.Column("last_message_id", sa.String(14), nullable=False),
)

# Every enrollment sync (F5) received, until its ack is queued: PENDING, ACKED, or REFUSED (unknown customer).
enrollment_syncs = sa.Table(
    "enrollment_syncs",
    metadata,
    sa.Column("dacs_message_id", sa.String(14), primary_key=True),
    sa.Column("subscription_id", sa.String(14), nullable=False, index=True),
    sa.Column("state", sa.String(10), nullable=False, index=True),
    sa.Column("has_error", sa.Boolean, nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("acked_at", sa.DateTime(timezone=True), nullable=True),
)

# The devices an enrollment sync's ack reports: those it lists, and on an unenrollment every device of the
# subscription. newer_message_id: the sync whose newer state of the device was kept instead of this one's.
enrollment_sync_devices = sa.Table(
    "enrollment_sync_devices",
    metadata,
    sa.Column("dacs_message_id", sa.String(14), primary_key=True),
    sa.Column("head_end_system", sa.String(50), primary_key=True),
    sa.Column("nic_id", sa.String(100), primary_key=True),
    sa.Column("device_id", sa.String(12), nullable=False),
    sa.Column("newer_message_id", sa.String(14), nullable=True),
)

# Bulk initial syncs: one file of already-enrolled devices, applied in the background, acknowledged by a file.
# state: RECEIVED, APPLYING, REGISTERING, DONE, FAILED.
bulk_syncs = sa.Table(
    "bulk_syncs",
    metadata,
    sa.Column("bulk_sync_id", sa.String(60), primary_key=True),
    sa.Column("state", sa.String(12), nullable=False, index=True),
    sa.Column("file", sa.Text, nullable=False),
    sa.Column("file_format", sa.String(8), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("rows_applied", sa.Integer, nullable=False),
    sa.Column("rows_refused", sa.Integer, nullable=False),
    sa.Column("registered", sa.Integer, nullable=True),
    sa.Column("deregistered", sa.Integer, nullable=True),
    sa.Column("not_registered", sa.Integer, nullable=True),
    sa.Column("ack_file", sa.Text, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("registering_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
)

# A bulk sync's rows while it runs: the staging table its devices are upserted from, and what its ack file
# reports (refused: why the row was not applied). Deleted once the ack file is queued.
bulk_sync_rows = sa.Table(
    "bulk_sync_rows",
    metadata,
    sa.Column("bulk_sync_id", sa.String(60), primary_key=True),
    sa.Column("row_no", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("message_id", sa.String(14), nullable=False),
    sa.Column("subscription_id", sa.String(14), nullable=False),
    sa.Column("head_end_system", sa.String(50), nullable=False),
    sa.Column("nic_id", sa.String(100), nullable=False),
    sa.Column("device_id", sa.String(12), nullable=False),
    sa.Column("specification", sa.String(60), nullable=True),
    sa.Column("device_type", sa.String(30), nullable=True),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("installed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("nameplate_kw", sa.Float, nullable=True),
    sa.Column("nameplate_kwh", sa.Float, nullable=True),
    sa.Column("network_address", sa.String(100), nullable=True),
    sa.Column("refused", sa.Text, nullable=True),
    sa.Column("newer_message_id", sa.String(14), nullable=True),
)

# ---- CIS imports: premises on their own (a service location copies its premise's address and time zone), ---
# ---- every extract file applied, and every file refused (kept under the data directory) ---------------------

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

file_imports = file_imports_table(metadata)
rejected_uploads = rejected_uploads_table(metadata)

# ---- the electrical network: substations → feeders → transformers → service points (F1) ---------------------

substations = sa.Table(
    "substations",
    metadata,
    sa.Column("substation_id", sa.String(30), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("division", sa.String(30), nullable=True),
    sa.Column("capacity_kw", sa.Float, nullable=True),
    sa.Column("effective_start", sa.Date, nullable=False),
    sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
)

feeders = sa.Table(
    "feeders",
    metadata,
    sa.Column("feeder_id", sa.String(30), primary_key=True),
    sa.Column("substation_id", sa.String(30), nullable=False, index=True),
    sa.Column("voltage_kv", sa.Float, nullable=True),
    sa.Column("capacity_kw", sa.Float, nullable=True),
    sa.Column("effective_start", sa.Date, nullable=False),
    sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
)

# A transformer's feeder is the one it has been on since feeder_since (its in-service date, or its last move).
transformers = sa.Table(
    "transformers",
    metadata,
    sa.Column("transformer_id", sa.String(30), primary_key=True),
    sa.Column("feeder_id", sa.String(30), nullable=False, index=True),
    sa.Column("feeder_since", sa.Date, nullable=False),
    sa.Column("phase", sa.String(3), nullable=True),
    sa.Column("capacity_kw", sa.Float, nullable=True),
    sa.Column("effective_start", sa.Date, nullable=False),
    sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# Which transformer (and through it, feeder and substation) served a service point: contiguous effective-dated
# records per service point, the last one open (effective_end NULL). change_seq is the network change that
# gave the record its start and location; a delta export sends the records numbered after the previous export.
service_point_connections = sa.Table(
    "service_point_connections",
    metadata,
    sa.Column("cis_service_point_id", sa.String(30), primary_key=True),
    sa.Column("effective_start", sa.Date, primary_key=True),
    sa.Column("transformer_id", sa.String(30), nullable=False, index=True),
    sa.Column("feeder_id", sa.String(30), nullable=False),
    sa.Column("substation_id", sa.String(30), nullable=False),
    sa.Column("effective_end", sa.Date, nullable=True),
    sa.Column("change_seq", sa.Integer, nullable=False, index=True),
    sqlite_with_rowid=False,  # stored in key order: a full export reads it in the order it sends
)

# Every change of the network (an import, a service point or transformer moved), numbered in order.
network_changes = sa.Table(
    "network_changes",
    metadata,
    sa.Column("change_seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(30), nullable=False),
    sa.Column("subject", sa.String(60), nullable=False),
    sa.Column("effective_date", sa.Date, nullable=True),
    sa.Column("records", sa.Integer, nullable=False),
    sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
)

# Network exports (F1), each a file queued in outbound_files under message_key; each names the export it
# follows, and a delta holds the records written after that one's change_seq_to.
network_exports = sa.Table(
    "network_exports",
    metadata,
    sa.Column("export_id", sa.String(40), primary_key=True),
    sa.Column("export_type", sa.String(5), nullable=False),  # full, delta
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

# ---- customers' opt-outs (F12) and declared unavailability (F13), from the program system -------------------

# A device a customer took out of an event (recorded once per event and device).
event_opt_outs = sa.Table(
    "event_opt_outs",
    metadata,
    sa.Column("event_id", sa.String(60), primary_key=True),
    sa.Column("head_end_system", sa.String(50), primary_key=True),
    sa.Column("nic_id", sa.String(100), primary_key=True),
    sa.Column("opted_out_at", sa.DateTime(timezone=True), nullable=True),  # when the agent recorded it
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
)

# Each declared window as the highest version received: an older version never overwrites a newer one.
declared_unavailability = sa.Table(
    "declared_unavailability",
    metadata,
    sa.Column("unavailability_id", sa.String(14), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("status", sa.String(10), nullable=False),  # ACTIVE, CANCELLED
    sa.Column("head_end_system", sa.String(50), nullable=False),
    sa.Column("nic_id", sa.String(100), nullable=False),
    sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("reason", sa.String(254), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_declared_unavailability_device", "head_end_system", "nic_id"),
)

# Devices to drop from an event's reservation (an opt-out, or a declared window over a reserved device), for the
# reservation engine to drop and backfill; done_at once it has (derms/optouts/drops.py), with what became of it
# (outcome: DROPPED, NOT_RESERVED, NOT_UPCOMING) and the reservation update (F9 message) that carried it.
reservation_drops = sa.Table(
    "reservation_drops",
    metadata,
    sa.Column("event_id", sa.String(60), primary_key=True),
    sa.Column("head_end_system", sa.String(50), primary_key=True),
    sa.Column("nic_id", sa.String(100), primary_key=True),
    sa.Column("cause", sa.String(30), nullable=False),  # OPTED_OUT, UNAVAILABLE_DECLARED
    sa.Column("source_id", sa.String(60), nullable=False),  # the opt-out's event, or the window's id:version
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("done_at", sa.DateTime(timezone=True), nullable=True, index=True),
    sa.Column("outcome", sa.String(20), nullable=True),
    sa.Column("message_id", sa.String(60), nullable=True),
)

# ---- capabilities that declare their tables in their own package, on this metadata ---------------------------
# Imported last, so that migrations and the schema check see every table of DERMS.
from derbridge.derms.dispatch import schema as _dispatch_schema  # noqa: E402,F401
from derbridge.derms.events import schema as _events_schema  # noqa: E402,F401
from derbridge.derms.reservations import schema as _reservations_schema  # noqa: E402,F401
from derbridge.derms.scores import schema as _scores_schema  # noqa: E402,F401
