"""What the flows' wire models share: the base model, the vendor's exception shape, date-times, the MsgAck, the
routing of a DERMS instance, and DERMS's ack of a program-rules (F2) or aggregator (F3) sync with its mapping to
the program system's."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from derbridge.clock import iso_z, utcnow
from derbridge.hub.lookup_catalog import DACS, DERMS, ROUTING
from derbridge.hub.lookups import LookupMissing

if TYPE_CHECKING:
    from derbridge.hub.lookups import Lookups

SyncRequestId = Annotated[str, Field(min_length=1, max_length=14, pattern=r"^[0-9A-Za-z-]+$")]
"""The program system's sync request id, the idempotency key of every sync it sends."""


class Wire(BaseModel):
    """Wire models ignore fields they do not know (the vendors add fields between releases)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class MessageParameter(Wire):
    messageParameterValue: str = Field(max_length=2000)
    parameterSequence: int | None = Field(default=None, ge=-999, le=999)


class ExceptionInfo(Wire):
    """One error in an acknowledgement, as the program system's acknowledgement APIs publish it."""

    messageCategory: int = Field(ge=-99999, le=99999)
    messageNumber: int = Field(ge=-99999, le=99999)
    comments: str = Field(default="", max_length=254)
    sequence: int | None = Field(default=None, ge=-999, le=999)
    messageParameters: list[MessageParameter] = Field(default_factory=list, max_length=20)


def iso_now() -> str:
    """Now, in the vendor's form for every date-time the hub writes (`clock.iso_z`)."""
    return iso_z(utcnow())


def iso_day(value: date) -> str:
    """A date-only value where the other side takes a date-time: its first moment, UTC."""
    return iso_z(datetime.combine(value, time(), UTC))


def check_route(drms_instance_id: str | None, lookups: Lookups) -> None:
    """A message naming its DERMS instance must be routed to this hub's program system (the Routing lookup)."""
    if drms_instance_id is None:
        return
    target = lookups.value(ROUTING, DERMS, drms_instance_id, DACS)
    if target != "dacs":
        raise LookupMissing(ROUTING, DACS, target, f"routes DERMS instance {drms_instance_id!r} to {target!r}, "
                                                   "which this hub does not know", "row")


def msg_ack(business_key: str, message_id: int, duplicate: bool) -> dict[str, Any]:
    """The synchronous MsgAck the hub answers with once a message is recorded."""
    now = iso_now()
    return {
        "ackType": "SUCCESS",
        "whenISO": now,
        "responses": {"response": [{
            "id": business_key,
            "value": str(message_id),
            "responseCode": "DUPLICATE" if duplicate else "RECEIVED",
            "responseTimeISO": now,
        }]},
    }


# ---- DERMS's ack of an F2 or F3 sync (ours: the vendor publishes no payload for these flows) --------------------

class DermsError(Wire):
    """One refusal: a message of DERMS's own category, as numbers, and its text."""

    messageCategory: int = Field(ge=-99999, le=99999)
    messageNumber: int = Field(ge=-99999, le=99999)
    message: str = Field(max_length=2000)


class DermsSyncAck(Wire):
    dacsMessageId: SyncRequestId
    ackType: Literal["SUCCESS", "ERROR"]
    whenISO: datetime | None = None
    errors: list[DermsError] = Field(default_factory=list, max_length=100)


def sync_ack_to_dacs(ack: DermsSyncAck, _lookups: Lookups) -> dict[str, Any]:
    """DERMS's ack as the program system's acknowledgement, in the documented enrollment-sync shape (F5):
    `exceptionInfo[]` with numeric category and number, comments cut to 254."""
    return {
        "syncRequestId": ack.dacsMessageId,
        "hasError": ack.ackType == "ERROR",
        "exceptionInfo": [{"messageCategory": error.messageCategory, "messageNumber": error.messageNumber,
                           "comments": error.message[:254], "messageParameters": []} for error in ack.errors],
        "receivedDateTimeISO": iso_z(ack.whenISO) if ack.whenISO else iso_now(),
    }
