"""F8 — events, stages and status: DERMS → program system, one program event per DERMS stage.

When an event is scheduled, DERMS sends each stage; the hub creates it as a program event of the event's
program (`POST …/programEvent/`), the DERMS event type mapped to the program event category through the lookup
`OUTL-BRT-DACS_DRMS_EventType`. Each later status of the event (scheduled, in progress, completed, cancelled) is
one lifecycle call (`POST …/programEvent/lifecycle`) naming the event and the action (X1SD, X1IP, F1CO, F1CN).
Idempotency keys: event + stage for a stage, event + status for a change.

A lifecycle call for an event whose stages are not created yet would fail at the program system, and the hub
delivers messages concurrently: so a status change is sent only once every stage it names has been delivered
(or has failed for good), and waits, retried with backoff like any fault, until then. The program system ranks
the states, so a repeated or late change never moves an event backwards; no ordering field is added to the
vendor's payload. DERMS's side of these messages is not published: chosen here (docs/wire.md).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import Field

from derbridge.clock import iso_z
from derbridge.hub import messagelog
from derbridge.hub.context import current
from derbridge.hub.flows.relay import Relay
from derbridge.hub.flows.wire import Wire, check_route
from derbridge.hub.lookup_catalog import DACS, DERMS, EVENT_TYPE
from derbridge.hub.lookups import Lookups
from derbridge.web.client import Outcome, post_json
from derbridge.web.wire import UtcDateTime

PROGRAM_EVENT_PATH = "/rest/apis/cross/service/programEvent/"
LIFECYCLE_PATH = "/rest/apis/cross/service/programEvent/lifecycle"
STAGE_KIND, STATUS_KIND = "event-stage", "event-status"
ACTIONS = {"SCHEDULED": "X1SD", "IN_PROGRESS": "X1IP", "COMPLETED": "F1CO", "CANCELLED": "F1CN"}
EventId = Field(min_length=1, max_length=60)

# ---- DERMS → hub ----------------------------------------------------------------------------------------


class DermsStage(Wire):
    """One stage of a scheduled DERMS event."""

    drmsInstanceId: str | None = Field(default=None, max_length=30)
    eventId: str = EventId
    stageId: str = Field(min_length=1, max_length=60)
    stageName: str | None = Field(default=None, max_length=40)
    programCode: str = Field(min_length=1, max_length=30)
    eventType: str = Field(min_length=1, max_length=20)
    startDateTime: UtcDateTime
    endDateTime: UtcDateTime


class DermsEventStatus(Wire):
    """A DERMS event's new status; `stageIds`, the stages it applies to."""

    drmsInstanceId: str | None = Field(default=None, max_length=30)
    eventId: str = EventId
    status: Literal["SCHEDULED", "IN_PROGRESS", "COMPLETED", "CANCELLED"]
    stageIds: list[str] = Field(default_factory=list, max_length=100)
    changedDateTime: UtcDateTime | None = None
    cancelReason: str | None = Field(default=None, max_length=254)


# ---- mapping --------------------------------------------------------------------------------------------


def stage_to_dacs(stage: DermsStage, lookups: Lookups) -> dict[str, Any]:
    """Create Program Event: the stage as a program event of the event's program."""
    check_route(stage.drmsInstanceId, lookups)
    return {
        "eventExternalIdentifier": stage.eventId,
        "externalIdentifier": stage.stageId,
        "programExternalIdentifier": stage.programCode,
        "programEventCategory": lookups.value(EVENT_TYPE, DERMS, stage.eventType, DACS),
        "startDateTime": iso_z(stage.startDateTime),
        "endDateTime": iso_z(stage.endDateTime),
    }


def status_to_dacs(change: DermsEventStatus, lookups: Lookups) -> dict[str, Any]:
    """Action Program Event: the status as its action; a reason only with a cancellation."""
    check_route(change.drmsInstanceId, lookups)
    return {
        "eventExternalIdentifier": change.eventId,
        "action": ACTIONS[change.status],
        "cancelReason": change.cancelReason if change.status == "CANCELLED" else None,
    }


# ---- delivery: a change waits for the stages it names ----------------------------------------------------------


def stages_not_settled(event_id: str, stage_ids: list[str] | None) -> list[str]:
    """The event's stages the hub has not finished delivering: those of `stage_ids` not delivered (or failed for
    good) yet, recorded or not; with no list, those recorded and still on their way."""
    held = messagelog.statuses_by_key(current().db, "F8", STAGE_KIND, "eventId", event_id)
    wanted = [f"{event_id}:{stage}" for stage in stage_ids] if stage_ids is not None else list(held)
    return [key.split(":", 1)[1] for key in wanted if held.get(key) not in messagelog.SETTLED]


def send_after_stages(row: Any, stage_ids: list[str] | None) -> Outcome:
    """POST the message once the event's stages are in; until then a transient fault, retried with backoff."""
    event_id = json.loads(row.outbound_payload)["eventExternalIdentifier"]
    waiting = stages_not_settled(event_id, stage_ids)
    if waiting:
        return Outcome("transient", None, None, f"waiting for stage(s) {', '.join(waiting)} of event {event_id} "
                                                "to be created first")
    return post_json(current().clients[row.target], row.outbound_path, json.loads(row.outbound_payload),
                     row.business_key)


def send_status(row: Any) -> Outcome:
    return send_after_stages(row, DermsEventStatus.model_validate_json(row.inbound_payload).stageIds)


RELAYS = [
    Relay(
        flow="F8", kind=STAGE_KIND, source="derms", target="dacs", inbound_path="/hub/from-derms/programEvent",
        model=DermsStage, target_path=PROGRAM_EVENT_PATH,
        business_key=lambda m: f"{m.eventId}:{m.stageId}",
        keys=lambda m: {"eventId": m.eventId, "stageId": m.stageId},
        to_target=stage_to_dacs,
        summary="A stage of a scheduled DERMS event, to become a program event",
    ),
    Relay(
        flow="F8", kind=STATUS_KIND, source="derms", target="dacs", inbound_path="/hub/from-derms/eventStatus",
        model=DermsEventStatus, target_path=LIFECYCLE_PATH,
        business_key=lambda m: f"{m.eventId}:{m.status}",
        keys=lambda m: {"eventId": m.eventId, "status": m.status},
        to_target=status_to_dacs, send=send_status,
        summary="A DERMS event's new status, sent once its stages are created",
    ),
]
