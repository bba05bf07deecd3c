"""F13 — customer unavailability, program system → DERMS.

An agent adds, edits or cancels a window (start, end, reason) when a customer's device cannot take part in
events. Every change is a new version of the window and each message carries the window's whole state, so
DERMS keeps the highest version it has seen: an older change arriving late, or a cancel overtaking the add it
cancels, changes nothing. DERMS then never reserves the device for an overlapping event. Idempotency key:
unavailability id + version.

The vendor documents the flow and its key, not the payload: the names here are ours (docs/wire.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from derbridge.clock import iso_z
from derbridge.hub.flows.relay import Relay
from derbridge.hub.flows.wire import Wire
from derbridge.hub.lookups import Lookups


class Unavailability(Wire):
    unavailabilityId: str = Field(min_length=1, max_length=14, pattern=r"^[0-9A-Za-z-]+$")
    version: int = Field(ge=1)
    status: Literal["ACTIVE", "CANCELLED"]
    deviceId: str | None = Field(default=None, max_length=12)
    headEndSystem: str = Field(min_length=1, max_length=50)
    nicId: str = Field(min_length=1, max_length=100)
    startDateTime: datetime
    endDateTime: datetime
    reason: str = Field(default="", max_length=254)


def to_derms(message: Unavailability, _lookups: Lookups) -> dict[str, Any]:
    return {"unavailabilityId": message.unavailabilityId, "version": message.version, "status": message.status,
            "headEndSystem": message.headEndSystem, "nicId": message.nicId,
            "startDateTimeISO": iso_z(message.startDateTime), "endDateTimeISO": iso_z(message.endDateTime),
            "reason": message.reason}


RELAYS = [
    Relay(
        flow="F13", kind="unavailability", source="dacs", target="derms",
        inbound_path="/hub/from-dacs/customerUnavailability", model=Unavailability, target_path="/unavailability",
        business_key=lambda m: f"{m.unavailabilityId}:{m.version}",
        keys=lambda m: {"unavailabilityId": m.unavailabilityId, "version": str(m.version), "status": m.status,
                        "headEndSystem": m.headEndSystem, "nicId": m.nicId,
                        **({"deviceId": m.deviceId} if m.deviceId else {})},
        to_target=to_derms,
        summary="An agent added, changed or cancelled a device's unavailability window",
    ),
]
