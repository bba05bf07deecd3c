"""F5, in bulk — the initial sync of enrollments migrated from a legacy program system, and its ack, as files.

After a legacy migration the program system holds many enrollments DERMS has never heard of; one enrollment
sync each would be a million messages. It sends one file instead, a row per device in the shape of the
enrollment sync; DERMS applies it in bulk, registers the devices with their head ends, and answers with one
file giving each device's head-end registration (D1RE / D1DR / D1NR). The hub relays both as they are.
Idempotency key: the sender's key for each file (the bulk sync id). The vendor documentation has no such
flow: chosen here, so that a migration is a file transfer rather than a message storm.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from derbridge.hub.flows.files import FileRelay
from derbridge.tables.spec import FileColumn

BULK_SYNC_ID = Field(min_length=1, max_length=14, pattern=r"^[0-9]+$")


class BulkSync(BaseModel):
    model_config = ConfigDict(extra="ignore")
    bulkSyncId: str = BULK_SYNC_ID


class BulkSyncAck(BaseModel):
    """The ack file's query string: the bulk sync, and DERMS's counts."""

    model_config = ConfigDict(extra="ignore")
    bulkSyncId: str = BULK_SYNC_ID
    rows: int | None = Field(default=None, ge=0)
    registered: int | None = Field(default=None, ge=0)
    deregistered: int | None = Field(default=None, ge=0)
    notRegistered: int | None = Field(default=None, ge=0)
    refused: int | None = Field(default=None, ge=0)


def _text(name: str, length: int, optional: bool = True) -> FileColumn:
    return FileColumn(name, max_length=length, optional=optional)


SYNC_COLUMNS = (
    _text("syncRequestId", 14, False), _text("subscriptionId", 14, False), _text("cisPersonId", 30),
    _text("contactId", 30), _text("cisAccountId", 30, False), _text("subscriptionType", 30),
    _text("status", 10, False), _text("programId", 12), _text("programCode", 30, False),
    _text("startDateTime", 40, False), _text("endDateTime", 40), _text("division", 30), _text("servicePointId", 30),
    _text("cisPremiseId", 30), _text("cisServicePointId", 30), _text("deviceId", 12, False),
    _text("nicId", 100, False), _text("headEndSystem", 50, False), _text("specification", 60),
    _text("deviceType", 30), _text("installDateTime", 40), _text("isActive", 5, False),
)
ACK_COLUMNS = (_text("deviceId", 12, False), _text("headEndRegistration", 4, False), _text("message", 2000))

FILE_RELAYS = [
    FileRelay(
        flow="F5", kind="enrollment-sync-file", source="dacs", target="derms", name="enrollmentSync",
        target_path="/files/enroll-sync", columns=SYNC_COLUMNS,
        to_target={column.name: column.name for column in SYNC_COLUMNS}, parameters=BulkSync,
        business_key=lambda p: p.bulkSyncId, keys=lambda p: {"bulkSyncId": p.bulkSyncId},
        summary="The program system's initial sync of migrated enrollments: one row per device",
    ),
    FileRelay(
        flow="F5", kind="enrollment-sync-ack-file", source="derms", target="dacs", name="enrollSyncAck",
        target_path="/rest/files/enrollSyncAck", columns=ACK_COLUMNS,
        to_target={column.name: column.name for column in ACK_COLUMNS}, parameters=BulkSyncAck,
        business_key=lambda p: p.bulkSyncId, keys=lambda p: {"bulkSyncId": p.bulkSyncId},
        summary="DERMS's ack of an initial sync: each device's head-end registration",
    ),
]
