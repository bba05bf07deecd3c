"""F3 — energy aggregator details, program system → DERMS, and DERMS's acknowledgement back.

The program system writes a sync request when an aggregator (a service provider of type DER aggregator)
is created or updated; deletion does not sync. The hub maps it to DERMS's aggregator message. DERMS
answers later with an ack naming the same sync request, which the hub maps to the program system's
acknowledgement. Idempotency key: the sync request id.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import EmailStr, Field

from derbridge.hub.flows.relay import Relay
from derbridge.hub.flows.wire import DermsSyncAck, Wire, iso_day, sync_ack_to_dacs
from derbridge.hub.lookups import Lookups

SYNC_REQUEST_ID = Field(min_length=1, max_length=14, pattern=r"^[0-9A-Za-z-]+$")


# ---- program system → hub -------------------------------------------------------------------------------

class DacsContact(Wire):
    name: str = Field(min_length=1, max_length=100)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=30)


class DacsProgramOffering(Wire):
    programCode: str = Field(min_length=1, max_length=30)


class DacsAggregatorSync(Wire):
    syncRequestId: str = SYNC_REQUEST_ID
    serviceProviderId: str = Field(min_length=1, max_length=14)
    serviceProviderType: Literal["DER_AGGREGATOR"] = "DER_AGGREGATOR"
    name: str = Field(min_length=1, max_length=100)
    status: Literal["ACTIVE", "INACTIVE"]
    startDate: date
    endDate: date | None = None
    contact: DacsContact
    externalReferenceId: str | None = Field(default=None, max_length=50)
    externalSystem: str | None = Field(default=None, max_length=50)
    programOfferings: list[DacsProgramOffering] = Field(default_factory=list, max_length=500)


# ---- DERMS → hub: its ack, shared with F2 (flows/wire.py) --------------------------------------------------

# ---- mapping --------------------------------------------------------------------------------------------

DERMS_STATUS = {"ACTIVE": "Active", "INACTIVE": "Inactive"}


def to_derms(sync: DacsAggregatorSync, _lookups: Lookups) -> dict[str, Any]:
    """The program system's sync request as DERMS's aggregator message."""
    return {
        "dacsMessageId": sync.syncRequestId,
        "aggregatorId": sync.serviceProviderId,
        "aggregatorName": sync.name,
        "status": DERMS_STATUS[sync.status],
        "effectiveStartDateTimeISO": iso_day(sync.startDate),
        "effectiveEndDateTimeISO": iso_day(sync.endDate) if sync.endDate else None,
        "contactName": sync.contact.name,
        "contactEmail": sync.contact.email,
        "contactPhone": sync.contact.phone,
        "externalReferenceId": sync.externalReferenceId,
        "externalSystem": sync.externalSystem,
        "programCodes": [offering.programCode for offering in sync.programOfferings],
    }


RELAYS = [
    Relay(
        flow="F3", kind="aggregator-sync", source="dacs", target="derms",
        inbound_path="/hub/from-dacs/energyAggregatorSync", model=DacsAggregatorSync,
        target_path="/aggregator",
        business_key=lambda m: m.syncRequestId,
        keys=lambda m: {"syncRequestId": m.syncRequestId, "aggregatorId": m.serviceProviderId},
        to_target=to_derms,
        summary="Aggregator created or updated in the program system",
    ),
    Relay(
        flow="F3", kind="aggregator-ack", source="derms", target="dacs",
        inbound_path="/hub/from-derms/aggregatorAck", model=DermsSyncAck,
        target_path="/rest/apis/cross/digitalAssets/energyAggregators/postAcknowledgement",
        business_key=lambda m: m.dacsMessageId,
        keys=lambda m: {"syncRequestId": m.dacsMessageId},
        to_target=sync_ack_to_dacs,
        summary="DERMS acknowledges an aggregator sync",
    ),
]
