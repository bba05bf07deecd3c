"""The CIS extract as files: one file per table, each column named as the extract names it.

Both reference systems take the same files (the program system all of them, DERMS those it needs) and map
the columns to their own tables. `derbridge dataset generate` writes files in this layout. Columns a system
does not store (e.g. the service point's transformerId) are ignored; a column not listed here may be extra.
"""

from __future__ import annotations

from derbridge.tables.spec import FileColumn

CONTACT_KINDS = ("HOME_PHONE", "BUSINESS_PHONE", "EMAIL")

RATES = (FileColumn("rateCode", "rate_code"), FileColumn("description", "description"))
PERSONS = (
    FileColumn("cisPersonId", "cis_person_id"),
    FileColumn("name", "name"),
    FileColumn("homePhone", "home_phone"),
    FileColumn("businessPhone", "business_phone"),
    FileColumn("email", "email"),
)
ACCOUNT_ID = FileColumn("cisAccountId", "cis_account_id")
ACCOUNT_PERSON = FileColumn("cisPersonId", "cis_person_id")
ACCOUNT_DIVISION = FileColumn("division", "division")
ACCOUNT_RATE = FileColumn("rateCode", "rate_code")
PREMISES = (
    FileColumn("cisPremiseId", "cis_premise_id"),
    FileColumn("address1", "address1"),
    FileColumn("city", "city"),
    FileColumn("county", "county"),
    FileColumn("state", "state"),
    FileColumn("postal", "postal"),
    FileColumn("country", "country"),
    FileColumn("timeZone", "time_zone", kind="time_zone"),
)
SERVICE_POINTS = (
    FileColumn("cisServicePointId", "cis_service_point_id"),
    FileColumn("cisPremiseId", "cis_premise_id"),
    FileColumn("cisAccountId", "cis_account_id"),
    FileColumn("locationId", "location_id"),
)
SERVICE_AGREEMENTS = (
    FileColumn("cisServiceAgreementId", "cis_service_agreement_id"),
    FileColumn("cisAccountId", "cis_account_id"),
    FileColumn("cisServicePointId", "cis_service_point_id"),
    FileColumn("rateCode", "rate_code"),
    FileColumn("startDate", "start_date", kind="date"),
    FileColumn("endDate", "end_date", kind="date", optional=True),
)
CONTACTS = (
    FileColumn("contactId", "contact_id"),
    FileColumn("cisPersonId", "cis_person_id"),
    FileColumn("kind", "kind", allowed=CONTACT_KINDS),
    FileColumn("value", "value"),
)
