"""The CIS extract as files: one file per table, each column named as the extract names it.

Both reference systems take the same files (the program system all of them, DERMS those it needs) and map
the columns to their own tables. `derbridge dataset generate` writes files in this layout. Columns a system
does not store (e.g. the service point's transformerId) are ignored; a column not listed here may be extra.
"""

from __future__ import annotations

from derbridge.tables.spec import FileColumn

CONTACT_KINDS = ("HOME_PHONE", "BUSINESS_PHONE", "EMAIL")

RATES = (FileColumn("rateCode", column="rate_code"), FileColumn("description", column="description"))
PERSONS = (
    FileColumn("cisPersonId", column="cis_person_id"),
    FileColumn("name", column="name"),
    FileColumn("homePhone", column="home_phone"),
    FileColumn("businessPhone", column="business_phone"),
    FileColumn("email", column="email"),
)
ACCOUNT_ID = FileColumn("cisAccountId", column="cis_account_id")
ACCOUNT_PERSON = FileColumn("cisPersonId", column="cis_person_id")
ACCOUNT_DIVISION = FileColumn("division", column="division")
ACCOUNT_RATE = FileColumn("rateCode", column="rate_code")
PREMISES = (
    FileColumn("cisPremiseId", column="cis_premise_id"),
    FileColumn("address1", column="address1"),
    FileColumn("city", column="city"),
    FileColumn("county", column="county"),
    FileColumn("state", column="state"),
    FileColumn("postal", column="postal"),
    FileColumn("country", column="country"),
    FileColumn("timeZone", "time_zone", column="time_zone"),
)
SERVICE_POINTS = (
    FileColumn("cisServicePointId", column="cis_service_point_id"),
    FileColumn("cisPremiseId", column="cis_premise_id"),
    FileColumn("cisAccountId", column="cis_account_id"),
    FileColumn("locationId", column="location_id"),
)
SERVICE_AGREEMENTS = (
    FileColumn("cisServiceAgreementId", column="cis_service_agreement_id"),
    FileColumn("cisAccountId", column="cis_account_id"),
    FileColumn("cisServicePointId", column="cis_service_point_id"),
    FileColumn("rateCode", column="rate_code"),
    FileColumn("startDate", "date", column="start_date"),
    FileColumn("endDate", "date", optional=True, column="end_date"),
)
CONTACTS = (
    FileColumn("contactId", column="contact_id"),
    FileColumn("cisPersonId", column="cis_person_id"),
    FileColumn("kind", column="kind", allowed=CONTACT_KINDS),
    FileColumn("value", column="value"),
)
