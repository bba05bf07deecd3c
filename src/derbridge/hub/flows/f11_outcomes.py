"""F11 — per-device event outcomes, DERMS → program system.

After an event DERMS collects each device's outcome from the aggregators and sends them in messages of up to
1,000; the hub maps each to the program system's `postEventOutcome` (the documented `postOutcomeList[]`,
times in the vendor's form). Idempotency: the message log keys a message by DERMS's `messageId`, so a message
sent twice is delivered once; each record is keyed by event id + device in the program system, which applies
an outcome once (the same outcome again changes nothing, a later one replaces it). More than 1,000 outcomes:
DERMS sends more messages, or one file through the file relay (below), which the program system applies
whole, in one transaction, keyed by DERMS's id for the file.

The vendor documents the program system's resource and its fields, not DERMS's message to the middleware: the
same body plus DERMS's `messageId`, chosen here (docs/wire.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from derbridge.clock import iso_z
from derbridge.hub.flows.files import FileRelay
from derbridge.hub.flows.relay import Relay
from derbridge.hub.flows.wire import Wire
from derbridge.hub.lookups import Lookups
from derbridge.tables.spec import FileColumn

OUTCOME_PATH = "/rest/apis/cross/service/programEventParticipation/postEventOutcome"
MAX_OUTCOMES = 1000
FILE_ID = r"^[A-Za-z0-9._:-]+$"


class OutcomeRecord(Wire):
    eventExternalIdentifier: str = Field(min_length=1, max_length=60)
    headEndSystem: str = Field(min_length=1, max_length=50)
    nicId: str = Field(min_length=1, max_length=100)
    outcome: Literal["D1SP", "D1ND", "D1IO", "D1ER", "D1CN"]
    """Successful participation, non-responsive device, in-flight override, error, cancelled."""
    participationStartDateTime: datetime | None = None
    participationEndDateTime: datetime | None = None
    errorMessage: str | None = Field(default=None, max_length=100)


class EventOutcomes(Wire):
    """DERMS's message: its id and up to 1,000 outcomes."""

    messageId: str = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9._:-]+$")
    postOutcomeList: list[OutcomeRecord] = Field(min_length=1, max_length=MAX_OUTCOMES)


def to_dacs(message: EventOutcomes, _lookups: Lookups) -> dict[str, Any]:
    """The program system's postEventOutcome: the documented list, nothing else."""
    return {"postOutcomeList": [_record(record) for record in message.postOutcomeList]}


def _record(record: OutcomeRecord) -> dict[str, Any]:
    return {
        "eventExternalIdentifier": record.eventExternalIdentifier, "headEndSystem": record.headEndSystem,
        "nicId": record.nicId, "outcome": record.outcome,
        "participationStartDateTime": iso_z(record.participationStartDateTime),
        "participationEndDateTime": iso_z(record.participationEndDateTime),
        "errorMessage": record.errorMessage,
    }


def outcome_keys(message: EventOutcomes) -> dict[str, str]:
    """The message, each event it reports on, and how many outcomes it carries."""
    events = sorted({record.eventExternalIdentifier for record in message.postOutcomeList})
    keys = {"messageId": message.messageId, "outcomes": str(len(message.postOutcomeList))}
    keys.update({f"eventExternalIdentifier.{n}": event for n, event in enumerate(events[:20], start=1)})
    return keys


RELAYS = [
    Relay(
        flow="F11", kind="event-outcomes", source="derms", target="dacs",
        inbound_path="/hub/from-derms/eventOutcome", model=EventOutcomes, target_path=OUTCOME_PATH,
        business_key=lambda m: m.messageId, keys=outcome_keys, to_target=to_dacs,
        summary="DERMS reports devices' outcomes of an event",
    ),
]


class OutcomeFile(BaseModel):
    """The query string of an outcome file: DERMS's id for it."""

    model_config = ConfigDict(extra="ignore")
    fileId: str = Field(min_length=1, max_length=60, pattern=FILE_ID)


FILE_COLUMNS = (
    FileColumn("eventExternalIdentifier", max_length=60), FileColumn("headEndSystem", max_length=50),
    FileColumn("nicId", max_length=100), FileColumn("outcome", max_length=4),
    FileColumn("participationStartDateTime", "datetime", optional=True),
    FileColumn("participationEndDateTime", "datetime", optional=True),
    FileColumn("errorMessage", max_length=100, optional=True),
)

FILE_RELAYS = [
    FileRelay(
        flow="F11", kind="event-outcome-file", source="derms", target="dacs", name="eventOutcomes",
        target_path="/rest/files/eventOutcomes", columns=FILE_COLUMNS,
        to_target={column.name: column.name for column in FILE_COLUMNS}, parameters=OutcomeFile,
        business_key=lambda p: p.fileId, keys=lambda p: {"fileId": p.fileId},
        summary="DERMS's outcomes of an event as one file, for more than a message holds",
    ),
]
