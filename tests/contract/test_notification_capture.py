"""Notification events are noted by the message log in the transaction that changes a message, on SQLite and
PostgreSQL: one per message dead-lettered, unmappable, refused at intake, declined by its target, or completing
a file or batch, each with the message's flow, kind, business key and error; nothing for ordinary deliveries."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from derbridge.hub import messagelog
from derbridge.hub.notify.capture import no_file_found
from derbridge.hub.schema import notification_events


def message(key: str, status: str = messagelog.RECEIVED, *parts: messagelog.NewMessage,
            kind: str = "aggregator-sync") -> messagelog.NewMessage:
    return messagelog.NewMessage(
        flow="F3", kind=kind, source="dacs", target="derms", business_key=key, idempotency_key=f"F3:{kind}:{key}",
        inbound_payload="{}", outbound_path="/aggregator",
        outbound_payload={"id": key} if status == messagelog.RECEIVED else None, keys={}, status=status,
        last_error="cannot map: no row" if status == messagelog.DEAD else None, parts=parts)


def noted(hub_db: Engine) -> list[dict[str, Any]]:
    with hub_db.connect() as connection:
        rows = connection.execute(sa.select(notification_events).order_by(notification_events.c.id)).all()
    return [{"event": r.event, "flow": r.flow, "key": r.business_key, "kind": r.message_kind, "detail": r.detail}
            for r in rows]


def test_deliveries_note_dead_letters_refusals_by_the_target_and_completions_only(hub_db: Engine) -> None:
    ids = [messagelog.record(hub_db, message(key)).id for key in ("A", "B", "C", "D")]
    messagelog.apply_outcomes(hub_db, [
        messagelog.Outcome(ids[0], messagelog.DELIVERED),
        messagelog.Outcome(ids[1], messagelog.DEAD, "HTTP 404: no such aggregator"),
        messagelog.Outcome(ids[2], messagelog.DECLINED, "HTTP 409: refused"),
        messagelog.Outcome(ids[3], messagelog.DELIVERED, completes=True)])
    assert noted(hub_db) == [
        {"event": "dead-letter", "flow": "F3", "key": "B", "kind": "aggregator-sync",
         "detail": "HTTP 404: no such aggregator"},
        {"event": "declined", "flow": "F3", "key": "C", "kind": "aggregator-sync", "detail": "HTTP 409: refused"},
        {"event": "completion", "flow": "F3", "key": "D", "kind": "aggregator-sync", "detail": None}]


def test_a_message_that_cannot_be_mapped_is_noted_as_a_mapping_failure_once(hub_db: Engine) -> None:
    messagelog.record(hub_db, message("U", messagelog.DEAD))
    messagelog.record(hub_db, message("U", messagelog.DEAD))  # a duplicate notes nothing
    assert [(e["event"], e["key"], e["detail"]) for e in noted(hub_db)] == [
        ("mapping-failure", "U", "cannot map: no row")]


def test_giving_up_notes_a_dead_letter_and_failing_to_map_again_a_mapping_failure(hub_db: Engine) -> None:
    tried = messagelog.record(hub_db, message("T")).id
    messagelog.apply_outcomes(hub_db, [messagelog.Outcome(tried, messagelog.RETRYING, "HTTP 503")])
    untried = messagelog.record(hub_db, message("N")).id
    messagelog.dead_letter(hub_db, [tried, untried], "still failing")
    messagelog.dead_letter(hub_db, [tried], "still failing")  # already dead: nothing changes, nothing noted
    assert [(e["event"], e["key"]) for e in noted(hub_db)] == [("dead-letter", "T"), ("mapping-failure", "N")]


def test_a_refusal_at_intake_is_noted_with_its_reasons(hub_db: Engine) -> None:
    messagelog.record_rejected(hub_db, "F3", "aggregator-sync", "dacs", "derms", b"{}",
                               [{"field": "syncRequestId", "message": "Field required"}])
    [event] = noted(hub_db)
    assert event["event"] == "intake-refused" and event["key"] == "" and "syncRequestId" in event["detail"]


def test_a_batch_released_once_its_parts_are_settled_is_noted_as_completed_with_how_they_ended(
        hub_db: Engine) -> None:
    parts = [message(f"P{n}", kind="enrollment-record") for n in (1, 2, 3)]
    parent = messagelog.record(hub_db, message("BATCH", messagelog.WAITING, *parts, kind="enrollment-request"))
    first, second, third = parent.to_deliver
    messagelog.apply_outcomes(hub_db, [messagelog.Outcome(first, messagelog.DELIVERED),
                                       messagelog.Outcome(second, messagelog.DELIVERED),
                                       messagelog.Outcome(third, messagelog.DECLINED, "90003")])
    assert messagelog.release_parent(hub_db, parent.id, {"ackType": "ERROR"})
    assert not messagelog.release_parent(hub_db, parent.id, {"ackType": "ERROR"})
    assert [(e["event"], e["key"], e["detail"]) for e in noted(hub_db)] == [
        ("declined", "P3", "90003"), ("completion", "BATCH", "parts: 1 declined, 2 delivered")]


def test_no_file_found_is_noted_for_its_flow(hub_db: Engine) -> None:
    no_file_found(hub_db, "F7", "scores-*.csv in /in/scores", "nothing matched at 02:00")
    assert noted(hub_db) == [{"event": "no-file", "flow": "F7", "key": "scores-*.csv in /in/scores", "kind": None,
                              "detail": "nothing matched at 02:00"}]
