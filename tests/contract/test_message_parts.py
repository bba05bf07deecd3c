"""Messages made of parts (F4: one request, one enrollment call per record), on SQLite and PostgreSQL: recorded
together once, each part delivered on its own, the parent released once when every part is settled, a run
stopped by holding what was not sent, and resubmit reopening the dead and held parts."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from derbridge.hub import messagelog, tracking


def part(number: int, status: str = messagelog.RECEIVED) -> messagelog.NewMessage:
    return messagelog.NewMessage(
        flow="F4", kind="enrollment-record", source="derms", target="dacs", business_key=f"M{number}",
        idempotency_key=f"F4:enrollment-record:B1:M{number}", inbound_payload="{}", outbound_path="/enroll",
        outbound_payload={"transactionId": f"M{number}"} if status == messagelog.RECEIVED else None,
        keys={"messageId": f"M{number}"}, status=status)


def request(*parts: messagelog.NewMessage, batch: str = "B1") -> messagelog.NewMessage:
    return messagelog.NewMessage(
        flow="F4", kind="enrollment-request", source="derms", target="derms", business_key=batch,
        idempotency_key=f"F4:enrollment-request:{batch}", inbound_payload="{}", outbound_path="/results",
        outbound_payload=None, keys={"batchId": batch}, status=messagelog.WAITING, parts=parts)


def statuses(hub_db: Engine, parent: int) -> dict[str, str]:
    return {row.business_key: row.status for row in messagelog.parts_of(hub_db, parent)}


def settle(hub_db: Engine, outcomes: dict[int, str]) -> None:
    messagelog.apply_outcomes(hub_db, [messagelog.Outcome(i, status) for i, status in outcomes.items()])


def ids_of(hub_db: Engine, parent: int) -> list[int]:
    return [row.id for row in messagelog.parts_of(hub_db, parent)]


def test_a_request_and_its_parts_are_recorded_once_and_only_the_parts_are_ready(hub_db: Engine) -> None:
    first = messagelog.record(hub_db, request(part(1), part(2)))
    again = messagelog.record(hub_db, request(part(1), part(2)))
    assert first.is_new and not again.is_new and again.id == first.id
    assert sorted(first.to_deliver) == ids_of(hub_db, first.id)
    assert tracking.search(hub_db, parent=first.id)[0]["parentId"] == first.id
    detail: Any = tracking.get(hub_db, first.id)
    assert detail["status"] == "WAITING" and detail["parts"] == {"RECEIVED": 2}


def test_the_parent_is_released_once_and_only_when_every_part_is_settled(hub_db: Engine) -> None:
    parent = messagelog.record(hub_db, request(part(1), part(2))).id
    one, two = ids_of(hub_db, parent)
    settle(hub_db, {one: messagelog.DELIVERED, two: messagelog.RETRYING})
    assert messagelog.waiting_parents(hub_db, [one]) == [parent]
    assert not messagelog.release_parent(hub_db, parent, {"ackType": "SUCCESS"})
    settle(hub_db, {two: messagelog.DECLINED})
    assert messagelog.settled_waiting_parents(hub_db) == [parent]
    assert messagelog.release_parent(hub_db, parent, {"ackType": "ERROR"})
    assert not messagelog.release_parent(hub_db, parent, {"ackType": "ERROR"})
    released: Any = tracking.get(hub_db, parent)
    assert released["status"] == "RECEIVED" and released["outbound_payload"] == {"ackType": "ERROR"}
    assert messagelog.settled_waiting_parents(hub_db) == []


def test_a_stopped_run_holds_what_was_not_sent_and_resubmit_reopens_dead_and_held_parts(hub_db: Engine) -> None:
    parent = messagelog.record(hub_db, request(part(1), part(2), part(3))).id
    one, two, three = ids_of(hub_db, parent)
    settle(hub_db, {one: messagelog.DELIVERED, two: messagelog.DEAD})
    assert messagelog.hold_unsent_parts(hub_db, parent, "the run stopped") == 1
    assert statuses(hub_db, parent) == {"M1": "DELIVERED", "M2": "DEAD", "M3": "HELD"}
    assert messagelog.release_parent(hub_db, parent, {"ackType": "FAILURE"})
    settle(hub_db, {parent: messagelog.DELIVERED})
    assert sorted(messagelog.reopen(hub_db, [parent])) == [two, three]
    assert statuses(hub_db, parent) == {"M1": "DELIVERED", "M2": "RECEIVED", "M3": "RECEIVED"}
    reopened: Any = tracking.get(hub_db, parent)
    assert reopened["status"] == "WAITING"


def test_a_part_that_could_not_be_mapped_is_settled_from_the_start(hub_db: Engine) -> None:
    recorded = messagelog.record(hub_db, request(part(1), part(2, status=messagelog.DEAD)))
    assert len(recorded.to_deliver) == 1
    [unmapped] = [row for row in messagelog.parts_of(hub_db, recorded.id) if row.status == messagelog.DEAD]
    assert messagelog.without_payload(hub_db, [unmapped.id])[0].id == unmapped.id
    messagelog.set_outbound_payload(hub_db, unmapped.id, {"transactionId": "M2"})
    assert messagelog.without_payload(hub_db, [unmapped.id]) == []
