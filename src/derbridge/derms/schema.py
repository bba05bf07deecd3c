"""DERMS's tables."""

from __future__ import annotations

import sqlalchemy as sa

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
    # PENDING, REGISTERED, DEREGISTERED, NOT_REGISTERED: the device's registration with its head end
    sa.Column("registration_status", sa.String(20), nullable=False),
    sa.Column("registration_message", sa.Text, nullable=True),
    sa.Column("registration_changed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("last_message_id", sa.String(14), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# Files on their way to the hub (bulk exports and syncs), streamed by store/outbox.py's FileOutboxSender.
outbound_files = sa.Table(
    "outbound_files",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("message_key", sa.String(120), nullable=False, unique=True),
    sa.Column("kind", sa.String(40), nullable=False),
    *outbox_columns(),
)

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
