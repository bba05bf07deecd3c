"""F10 — pre-event cancellation: DERMS → program system, when an operator cancels an event before its start.

DERMS sends the cancellation message (`eventId`, `cancellationMessageText`) beside the event's CANCELLED status
(F8, lifecycle F1CN, as newer releases carry it); the hub relays the message to the program system's
pre-event cancellation (`eventExternalIdentifier`, `cancelMessage`, cut to its 100 characters). Either one
cancels the event and takes back every reservation; the other, and any repeat, changes nothing. Like a status
change, it is sent only once the event's stages the hub holds are delivered. Idempotency key: the event id.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from derbridge.hub.flows.f8_events import send_after_stages
from derbridge.hub.flows.relay import Relay
from derbridge.hub.flows.wire import Wire, check_route
from derbridge.hub.lookups import Lookups
from derbridge.web.client import Outcome

PRE_EVENT_CANCELLATION_PATH = "/rest/apis/cross/service/programEventParticipation/preEventCancellation"
CANCEL_MESSAGE = 100


class DermsCancellation(Wire):
    drmsInstanceId: str | None = Field(default=None, max_length=30)
    eventId: str = Field(min_length=1, max_length=60)
    cancellationMessageText: str | None = Field(default=None, max_length=254)


def to_dacs(cancellation: DermsCancellation, lookups: Lookups) -> dict[str, Any]:
    check_route(cancellation.drmsInstanceId, lookups)
    text = cancellation.cancellationMessageText
    return {"eventExternalIdentifier": cancellation.eventId, "cancelMessage": text[:CANCEL_MESSAGE] if text else None}


def send_cancellation(row: Any) -> Outcome:
    return send_after_stages(row, None)


RELAYS = [
    Relay(
        flow="F10", kind="event-cancellation", source="derms", target="dacs",
        inbound_path="/hub/from-derms/eventCancellation", model=DermsCancellation,
        target_path=PRE_EVENT_CANCELLATION_PATH,
        business_key=lambda m: m.eventId, keys=lambda m: {"eventId": m.eventId},
        to_target=to_dacs, send=send_cancellation,
        summary="An operator cancelled an event before its start",
    ),
]
