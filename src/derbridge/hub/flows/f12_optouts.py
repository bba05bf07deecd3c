"""F12 — customer event opt-out, program system → DERMS.

An agent records in the program system that a customer's device, reserved for an upcoming event, will not take
part (allowed by the program type, before its cut-off); the program system sets the participation's opt-out
flag and sends this message. DERMS records it, drops the device from the reservation and may backfill. DERMS
answers at once: SUCCESS (recorded, or already held), or ERROR naming why it cannot take the opt-out (an event
it does not know, a device it did not reserve) — a business refusal the hub keeps as DECLINED, not a fault to
retry. Idempotency key: event id + device.

The vendor documents the flow and its key (event id + device), not the payload: the names here are ours,
DERMS's in its own style (docs/wire.md).
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime
from typing import Any

from pydantic import Field

from derbridge.clock import iso_z
from derbridge.hub import messagelog
from derbridge.hub.flows.relay import Leg, Relay, status_after
from derbridge.hub.flows.wire import Wire
from derbridge.hub.lookups import Lookups
from derbridge.web.client import Outcome

LONGEST_KEY = 200


class OptOut(Wire):
    eventExternalIdentifier: str = Field(min_length=1, max_length=60)
    headEndSystem: str = Field(min_length=1, max_length=50)
    nicId: str = Field(min_length=1, max_length=100)
    deviceId: str | None = Field(default=None, max_length=12)
    optOutDateTime: datetime | None = None


def to_derms(message: OptOut, _lookups: Lookups) -> dict[str, Any]:
    return {"eventId": message.eventExternalIdentifier, "headEndSystem": message.headEndSystem,
            "nicId": message.nicId, "optOutDateTimeISO": iso_z(message.optOutDateTime)}


def event_and_device(message: OptOut) -> str:
    """The business key: event, head end and NIC id (the device's part hashed in the rare case it is too long)."""
    key = f"{message.eventExternalIdentifier}:{message.headEndSystem}:{message.nicId}"
    if len(key) <= LONGEST_KEY:
        return key
    device = hashlib.sha256(f"{message.headEndSystem}:{message.nicId}".encode()).hexdigest()
    return f"{message.eventExternalIdentifier}:{device}"


def declined_on_error(outcome: Outcome) -> str:
    """DERMS's ERROR ack is a business refusal: DECLINED, kept with its reason, not retried."""
    body = outcome.body if isinstance(outcome.body, dict) else {}
    if outcome.delivered and body.get("ackType") == "ERROR":
        return messagelog.DECLINED
    return status_after(outcome)


RELAYS = [
    Relay(
        flow="F12", kind="event-opt-out", source="dacs", target="derms",
        inbound_path="/hub/from-dacs/eventOptOut", model=OptOut, target_path="/eventOptOut",
        business_key=event_and_device,
        keys=lambda m: {"eventExternalIdentifier": m.eventExternalIdentifier, "headEndSystem": m.headEndSystem,
                        "nicId": m.nicId, **({"deviceId": m.deviceId} if m.deviceId else {})},
        to_target=to_derms,
        summary="An agent opted a reserved device out of an upcoming event",
    ),
]
LEGS: list[Leg] = [replace(RELAYS[0].leg, status_after=declined_on_error)]
