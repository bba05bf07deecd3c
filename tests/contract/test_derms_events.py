"""DERMS's events through its storage, on SQLite and PostgreSQL: created with their stages, approved, moved by the
clock, cancelled, and what each change queues for the program system (F8, F10)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from derbridge.derms.events import events
from derbridge.derms.events.wire import EventIn
from derbridge.derms.schema import outbound_messages
from derbridge.errors import Conflict, InvalidInput
from tests.grid import add_grid, add_program

NOW = datetime(2026, 7, 15, 12, 0, tzinfo=UTC)
START = NOW + timedelta(hours=6)
INSTANCE = "DERMS-1"


@pytest.fixture
def derms_db(derms_db: Engine) -> Iterator[Engine]:
    """The migrated database (contract/conftest.py), seeded."""
    add_program(derms_db)
    add_grid(derms_db)
    yield derms_db


def new_event(**changes: Any) -> EventIn:
    return EventIn.model_validate({"name": "Heat wave", "eventType": "EMERGENCY", "programCode": "SMARTSTAT",
                                   "targetKw": 500, "start": START.isoformat(),
                                   "end": (START + timedelta(hours=2)).isoformat(), **changes})


def queued(engine: Engine) -> list[tuple[str, dict[str, Any]]]:
    with engine.connect() as connection:
        rows = connection.execute(sa.select(outbound_messages).order_by(outbound_messages.c.id)).all()
    return [(row.message_key, json.loads(row.payload)) for row in rows if row.message_key.startswith(("F8", "F10"))]


def test_an_event_without_approval_is_scheduled_at_once_and_announced_stage_by_stage(derms_db: Engine) -> None:
    event = events.create(derms_db, new_event(), "pat", NOW, INSTANCE)
    assert event["status"] == "SCHEDULED"
    assert [(s["name"], s["start"], s["end"]) for s in event["stages"]] == [
        ("RAMP_UP", "2026-07-15T18:00:00+00:00", "2026-07-15T18:15:00+00:00"),
        ("SUSTAIN", "2026-07-15T18:15:00+00:00", "2026-07-15T19:45:00+00:00"),
        ("RAMP_DOWN", "2026-07-15T19:45:00+00:00", "2026-07-15T20:00:00+00:00")]
    assert [h["status"] for h in event["history"]] == ["NEW", "SCHEDULED"]
    messages = queued(derms_db)
    stage_ids = [s["stageId"] for s in event["stages"]]
    assert [key for key, _ in messages] == [*(f"F8:stage:{s}" for s in stage_ids),
                                           f"F8:status:{event['eventId']}:SCHEDULED"]
    assert messages[0][1] == {"drmsInstanceId": INSTANCE, "eventId": event["eventId"], "stageId": stage_ids[0],
                              "stageName": "RAMP_UP", "programCode": "SMARTSTAT", "eventType": "EMERGENCY",
                              "startDateTime": "2026-07-15T18:00:00.000Z", "endDateTime": "2026-07-15T18:15:00.000Z"}
    assert messages[-1][1]["stageIds"] == stage_ids and messages[-1][1]["status"] == "SCHEDULED"


def test_an_event_that_needs_approval_stays_new_and_unannounced_until_a_named_operator_approves_it(
        derms_db: Engine) -> None:
    event = events.create(derms_db, new_event(needsApproval=True), "pat", NOW, INSTANCE)
    assert event["status"] == "NEW" and queued(derms_db) == []
    assert events.advance(derms_db, NOW + timedelta(hours=1), INSTANCE) == 0
    approved = events.approve(derms_db, event["eventId"], "Lee Chen", NOW + timedelta(hours=1), INSTANCE)
    assert (approved["status"], approved["approvedBy"]) == ("SCHEDULED", "Lee Chen")
    assert len(queued(derms_db)) == 4
    with pytest.raises(Conflict):
        events.approve(derms_db, event["eventId"], "Lee Chen", NOW + timedelta(hours=1), INSTANCE)


def test_the_clock_moves_a_scheduled_event_and_each_status_is_announced(derms_db: Engine) -> None:
    event_id = events.create(derms_db, new_event(), "pat", NOW, INSTANCE)["eventId"]
    assert events.advance(derms_db, START - timedelta(seconds=1), INSTANCE) == 0
    assert events.advance(derms_db, START, INSTANCE) == 1
    assert events.get(derms_db, event_id)["status"] == "IN_PROGRESS"
    assert events.advance(derms_db, START + timedelta(hours=2), INSTANCE) == 1
    shown = events.get(derms_db, event_id)
    assert shown["status"] == "COMPLETED"
    assert [(h["status"], h["actor"]) for h in shown["history"]] == [
        ("NEW", "pat"), ("SCHEDULED", "pat"), ("IN_PROGRESS", "scheduler"), ("COMPLETED", "scheduler")]
    assert [key.rsplit(":", 1)[1] for key, _ in queued(derms_db) if key.startswith("F8:status")] == [
        "SCHEDULED", "IN_PROGRESS", "COMPLETED"]


def test_an_event_still_new_at_its_start_is_cancelled_and_nothing_is_announced(derms_db: Engine) -> None:
    event_id = events.create(derms_db, new_event(needsApproval=True), "pat", NOW, INSTANCE)["eventId"]
    assert events.advance(derms_db, START, INSTANCE) == 1
    shown = events.get(derms_db, event_id)
    assert (shown["status"], shown["cancelReason"]) == ("CANCELLED", "not approved before its start")
    assert queued(derms_db) == []


def test_cancelling_a_scheduled_event_sends_the_status_and_the_cancellation_and_undoes_what_depends_on_it(
        derms_db: Engine) -> None:
    event_id = events.create(derms_db, new_event(), "pat", NOW, INSTANCE)["eventId"]
    undone: list[str] = []
    cancelled = events.cancel(derms_db, event_id, "forecast cooler", "pat", NOW, INSTANCE,
                              lambda _connection, cancelled_id: undone.append(cancelled_id))
    assert (cancelled["status"], cancelled["cancelReason"], undone) == ("CANCELLED", "forecast cooler", [event_id])
    messages = dict(queued(derms_db))
    assert messages[f"F8:status:{event_id}:CANCELLED"]["cancelReason"] == "forecast cooler"
    assert messages[f"F10:{event_id}"] == {"drmsInstanceId": INSTANCE, "eventId": event_id,
                                          "cancellationMessageText": "forecast cooler"}
    with pytest.raises(Conflict):
        events.cancel(derms_db, event_id, "again", "pat", NOW, INSTANCE)


@pytest.mark.parametrize("moved_by_the_clock", [True, False])
def test_an_event_cancelled_once_started_is_stopped_and_sends_its_status_alone(derms_db: Engine,
                                                                              moved_by_the_clock: bool) -> None:
    """Started: its dispatch is stopped, not its reservation undone, and F10 (pre-event) is not sent. The clock
    may not have moved it yet: it is moved In Progress first, so the program system hears every state."""
    event_id = events.create(derms_db, new_event(), "pat", NOW, INSTANCE)["eventId"]
    if moved_by_the_clock:
        events.advance(derms_db, START, INSTANCE)
    undone: list[str] = []
    stopped: list[tuple[str, datetime]] = []
    at = START + timedelta(minutes=20)
    cancelled = events.cancel(derms_db, event_id, "feeder fault", "pat", at, INSTANCE,
                              lambda _connection, cancelled_id: undone.append(cancelled_id),
                              lambda _connection, stopped_id, when: stopped.append((stopped_id, when)))
    assert (cancelled["status"], undone, stopped) == ("CANCELLED", [], [(event_id, at)])
    assert [h["status"] for h in cancelled["history"]] == ["NEW", "SCHEDULED", "IN_PROGRESS", "CANCELLED"]
    keys = [key for key, _ in queued(derms_db)]
    assert keys[-2:] == [f"F8:status:{event_id}:IN_PROGRESS", f"F8:status:{event_id}:CANCELLED"]
    assert f"F10:{event_id}" not in keys


def test_an_event_that_has_ended_cannot_be_cancelled(derms_db: Engine) -> None:
    event_id = events.create(derms_db, new_event(), "pat", NOW, INSTANCE)["eventId"]
    end = START + timedelta(hours=2)
    with pytest.raises(Conflict, match="has not ended"):
        events.cancel(derms_db, event_id, "too late", "pat", end, INSTANCE)
    events.advance(derms_db, end, INSTANCE)
    with pytest.raises(Conflict, match="COMPLETED"):
        events.cancel(derms_db, event_id, "too late", "pat", end, INSTANCE)


def test_an_event_naming_what_derms_does_not_hold_is_refused_naming_every_field(derms_db: Engine) -> None:
    body = new_event(programCode="NOPE", zone={"kind": "FEEDERS", "ids": ["F-1", "F-9"]},
                     start=(NOW - timedelta(hours=1)).isoformat(), stages=[
                         {"name": "ALL", "start": (NOW - timedelta(hours=1)).isoformat(),
                          "end": (START + timedelta(hours=1)).isoformat()}])
    with pytest.raises(InvalidInput) as refused:
        events.create(derms_db, body, "pat", NOW, INSTANCE)
    assert set(refused.value.problems) == {"start", "programCode", "zone.ids.1", "stages.0.end"}
    assert events.list_events(derms_db, None, 10) == [] and queued(derms_db) == []
