"""A relay: one inbound message, checked and mapped to one outbound message for the other system.

Most flow legs are relays (a sync and its ack). A relay names its wire model, its business keys and its
mapping; the hub's API turns each relay into an endpoint and its delivery into a durable batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel


@dataclass(frozen=True)
class Relay:
    flow: str
    kind: str
    source: str
    target: str
    inbound_path: str
    model: type[BaseModel]
    target_path: str
    business_key: Callable[[Any], str]
    keys: Callable[[Any], dict[str, str]]
    to_target: Callable[[Any], dict[str, Any]]
    summary: str = ""

    def idempotency_key(self, message: Any) -> str:
        return f"{self.flow}:{self.kind}:{self.business_key(message)}"


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
