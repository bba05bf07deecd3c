"""What the flows' wire models share: the base model, the vendor's exception shape, date-times, the MsgAck."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

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
    return iso(datetime.now(UTC))


def iso(value: datetime) -> str:
    """Wire format for date-times: ISO 8601 in UTC with a Z."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
