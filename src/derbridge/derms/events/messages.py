"""What DERMS tells the program system of its events, through the hub: each stage once the event is scheduled
(F8), each later status (F8), and a cancellation before the start (F10, sent beside the CANCELLED status).

Written to DERMS's outbox in the same transaction as the change. DERMS's side of these messages is not
published; the fields are chosen here (docs/wire.md, F8 and F10) and the hub maps them to the program
system's documented calls. Each message key is the business key the hub keys it by.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from derbridge.clock import iso_z
from derbridge.derms.schema import outbound_messages
from derbridge.store.outbox import new_outbox_values

STAGE_PATH = "/hub/from-derms/programEvent"
STATUS_PATH = "/hub/from-derms/eventStatus"
CANCELLATION_PATH = "/hub/from-derms/eventCancellation"


def queue_stages(connection: Connection, event: Any, stages: list[Any], instance: str) -> None:
    """One message per stage: the stage as a program event of the event's program."""
    for stage in stages:
        _queue(connection, f"F8:stage:{stage.stage_id}", "event-stage", STAGE_PATH, {
            "drmsInstanceId": instance, "eventId": event.event_id, "stageId": stage.stage_id,
            "stageName": stage.name, "programCode": event.program_code, "eventType": event.event_type,
            "startDateTime": iso_z(stage.start_at), "endDateTime": iso_z(stage.end_at)})


def queue_status(connection: Connection, event: Any, status: str, stage_ids: list[str], at: datetime,
                 instance: str, cancel_reason: str | None = None) -> None:
    """The event's new status; `stageIds` names the stages it applies to, so the hub can send it only after
    they are created."""
    _queue(connection, f"F8:status:{event.event_id}:{status}", "event-status", STATUS_PATH, {
        "drmsInstanceId": instance, "eventId": event.event_id, "status": status, "stageIds": stage_ids,
        "changedDateTime": iso_z(at), "cancelReason": cancel_reason})


def queue_cancellation(connection: Connection, event_id: str, text: str, instance: str) -> None:
    _queue(connection, f"F10:{event_id}", "event-cancellation", CANCELLATION_PATH, {
        "drmsInstanceId": instance, "eventId": event_id, "cancellationMessageText": text})


def _queue(connection: Connection, key: str, kind: str, path: str, payload: dict[str, Any]) -> None:
    connection.execute(sa.insert(outbound_messages).values(message_key=key, kind=kind,
                                                           **new_outbox_values(path, payload)))
