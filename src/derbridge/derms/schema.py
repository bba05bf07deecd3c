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
    # PENDING, REGISTERED, DEREGISTERED, NOT_REGISTERED: the device's registration with its head end
    sa.Column("registration_status", sa.String(20), nullable=False),
    sa.Column("registration_message", sa.Text, nullable=True),
    sa.Column("registration_changed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("last_message_id", sa.String(14), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
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
