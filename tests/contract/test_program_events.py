"""The program system's program events and participations (F8, F9, F10 receivers), on SQLite and PostgreSQL:
each call harmless repeated and in any order, nothing applied from a call it refuses."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from derbridge.dacs.events import participations, program_events
from derbridge.dacs.events.wire import LifecycleIn, PreEventCancellationIn, ProgramEventIn, ReserveDeviceIn
from derbridge.dacs.schema import event_participations
from derbridge.errors import Conflict, InvalidInput, NotFound, TooEarly
from tests.seed import add_enrolled_devices, add_program

NOW = datetime(2026, 7, 15, 12, 0, tzinfo=UTC)
START = NOW + timedelta(hours=6)
EVENT = "EV1000000001"
DEVICES = [("ECOCLOUD", f"ECO-{n}") for n in range(1, 6)]


@pytest.fixture
def dacs_db(dacs_db: Engine) -> Iterator[Engine]:
    """The migrated database (contract/conftest.py), seeded."""
    with dacs_db.begin() as connection:
        add_program(connection)
        add_enrolled_devices(connection, "SMARTSTAT", DEVICES)
    yield dacs_db


def stage(number: int, event: str = EVENT, **changes: Any) -> ProgramEventIn:
    return ProgramEventIn.model_validate({
        "eventExternalIdentifier": event, "externalIdentifier": f"{event}-{number}",
        "programExternalIdentifier": "SMARTSTAT", "programEventCategory": "X1EM",
        "startDateTime": (START + timedelta(minutes=30 * (number - 1))).isoformat(),
        "endDateTime": (START + timedelta(minutes=30 * number)).isoformat(), **changes})


def act(engine: Engine, action: str, reason: str | None = None) -> dict[str, Any]:
    return program_events.change_status(engine, LifecycleIn(eventExternalIdentifier=EVENT, action=action,
                                                            cancelReason=reason), NOW)


def reservation(*devices: tuple[str, str], released: tuple[tuple[str, str], ...] = ()) -> ReserveDeviceIn:
    return ReserveDeviceIn.model_validate({
        "eventExternalIdentifier": EVENT, "eventType": "X1EM", "eventStartDateTime": START.isoformat(),
        "eventEndDateTime": (START + timedelta(hours=2)).isoformat(),
        "deviceList": [{"headEndSystem": h, "nicId": n} for h, n in devices],
        "releasedDeviceList": [{"headEndSystem": h, "nicId": n} for h, n in released]})


def statuses(engine: Engine) -> dict[str, str]:
    return {stage["externalIdentifier"]: stage["status"]
            for stage in program_events.one_event(engine, EVENT)["stages"]}


def participation_rows(engine: Engine) -> list[tuple[str, bool]]:
    with engine.connect() as connection:
        return sorted((row.nic_id, row.reserved) for row in connection.execute(
            sa.select(event_participations).where(event_participations.c.event_external_id == EVENT)))


def test_a_stage_is_created_pending_once(dacs_db: Engine) -> None:
    created = program_events.create(dacs_db, stage(1), NOW)
    assert (created["result"], created["status"], created["programEventCategory"]) == ("created", "PENDING", "X1EM")
    again = program_events.create(dacs_db, stage(1), NOW)
    assert (again["result"], again["programEventId"]) == ("already exists", created["programEventId"])
    with pytest.raises(InvalidInput) as refused:
        program_events.create(dacs_db, stage(2, programExternalIdentifier="NOPE"), NOW)
    assert list(refused.value.problems) == ["programExternalIdentifier"]


def test_a_status_change_for_an_event_not_created_yet_is_too_early(dacs_db: Engine) -> None:
    with pytest.raises(TooEarly):
        act(dacs_db, "X1SD")


@pytest.mark.parametrize("order", [["X1SD", "X1IP", "F1CO"], ["F1CO", "X1IP", "X1SD"], ["X1IP", "X1SD", "F1CO"],
                                   ["X1SD", "F1CO", "F1CO", "X1IP", "X1SD"]])
def test_status_changes_in_any_order_or_repeated_end_in_the_furthest_state(dacs_db: Engine, order: list[str]) -> None:
    for number in (1, 2, 3):
        program_events.create(dacs_db, stage(number), NOW)
    for action in order:
        act(dacs_db, action)
    assert set(statuses(dacs_db).values()) == {"COMPLETED"}


def test_a_late_change_is_answered_as_ignored_and_a_final_state_holds(dacs_db: Engine) -> None:
    program_events.create(dacs_db, stage(1), NOW)
    assert act(dacs_db, "F1CO")["result"] == "applied"
    assert act(dacs_db, "X1IP")["result"] == "ignored: already COMPLETED"
    assert act(dacs_db, "F1CN", "too late")["result"] == "ignored: already COMPLETED"
    assert statuses(dacs_db) == {f"{EVENT}-1": "COMPLETED"}


def test_a_stage_created_after_a_status_change_joins_the_event_in_its_status(dacs_db: Engine) -> None:
    program_events.create(dacs_db, stage(1), NOW)
    act(dacs_db, "X1SD")
    program_events.create(dacs_db, stage(2), NOW)
    assert statuses(dacs_db) == {f"{EVENT}-1": "SCHEDULED", f"{EVENT}-2": "SCHEDULED"}


def test_a_reservation_makes_one_participation_per_device_however_often_it_arrives(dacs_db: Engine) -> None:
    program_events.create(dacs_db, stage(1), NOW)
    first = participations.reserve(dacs_db, reservation(*DEVICES[:3]), NOW)
    assert (first["reserved"], first["alreadyReserved"], first["programEventCreated"]) == (3, 0, False)
    again = participations.reserve(dacs_db, reservation(*DEVICES), NOW)
    assert (again["reserved"], again["alreadyReserved"]) == (2, 3)
    participations.reserve(dacs_db, reservation(*DEVICES), NOW)
    assert participation_rows(dacs_db) == [(nic, True) for _head_end, nic in DEVICES]
    [one] = [p for p in program_events.participations_of(dacs_db, EVENT, 10, 0) if p["nicId"] == "ECO-1"]
    assert (one["deviceId"], one["programCode"], one["reservationStart"]) == (
        "TD0000000001", "SMARTSTAT", START.isoformat())


def test_a_reservation_naming_an_unknown_device_is_refused_whole(dacs_db: Engine) -> None:
    with pytest.raises(InvalidInput) as refused:
        participations.reserve(dacs_db, reservation(DEVICES[0], ("ECOCLOUD", "GHOST"), DEVICES[1]), NOW)
    assert refused.value.problems == {"deviceList.1": "no active controllable device ECOCLOUD/GHOST"}
    assert participation_rows(dacs_db) == []
    with pytest.raises(NotFound):
        program_events.one_event(dacs_db, EVENT)


def test_a_reservation_before_the_stages_creates_the_event_which_the_first_stage_replaces(dacs_db: Engine) -> None:
    assert participations.reserve(dacs_db, reservation(DEVICES[0]), NOW)["programEventCreated"] is True
    assert statuses(dacs_db) == {EVENT: "PENDING"}
    act(dacs_db, "X1SD")
    program_events.create(dacs_db, stage(1), NOW)
    assert statuses(dacs_db) == {f"{EVENT}-1": "SCHEDULED"}
    assert participation_rows(dacs_db) == [("ECO-1", True)]


def test_released_devices_are_no_longer_reserved(dacs_db: Engine) -> None:
    participations.reserve(dacs_db, reservation(*DEVICES[:3]), NOW)
    update = participations.reserve(dacs_db, reservation(DEVICES[3], released=(DEVICES[0],)), NOW)
    assert (update["reserved"], update["released"]) == (1, 1)
    assert participation_rows(dacs_db) == [("ECO-1", False), ("ECO-2", True), ("ECO-3", True), ("ECO-4", True)]


@pytest.mark.parametrize("cancel_first", ["lifecycle", "cancellation"])
def test_both_cancellations_in_either_order_and_repeated_cancel_the_event_and_unreserve_it(
        dacs_db: Engine, cancel_first: str) -> None:
    program_events.create(dacs_db, stage(1), NOW)
    act(dacs_db, "X1SD")
    participations.reserve(dacs_db, reservation(*DEVICES), NOW)
    by_lifecycle = lambda: act(dacs_db, "F1CN", "forecast cooler")  # noqa: E731
    by_message = lambda: program_events.cancel_before_start(  # noqa: E731
        dacs_db, PreEventCancellationIn(eventExternalIdentifier=EVENT, cancelMessage="forecast cooler"), NOW)
    first, second = (by_lifecycle, by_message) if cancel_first == "lifecycle" else (by_message, by_lifecycle)
    assert (first()["result"], first()["result"]) == ("applied", "ignored: already CANCELLED")
    assert second()["result"] == "ignored: already CANCELLED"
    shown = program_events.one_event(dacs_db, EVENT)
    assert (shown["status"], shown["stages"][0]["cancelReason"], shown["reserved"]) == (
        "CANCELLED", "forecast cooler", 0)
    assert participation_rows(dacs_db) == [(nic, False) for _head_end, nic in DEVICES]
    with pytest.raises(Conflict):
        participations.reserve(dacs_db, reservation(DEVICES[0]), NOW)


def test_a_cancellation_after_the_start_keeps_the_reservations_for_the_outcomes_that_follow(dacs_db: Engine) -> None:
    program_events.create(dacs_db, stage(1), NOW)
    participations.reserve(dacs_db, reservation(*DEVICES[:2]), NOW)
    act(dacs_db, "X1SD")
    stopped = program_events.change_status(dacs_db, LifecycleIn(
        eventExternalIdentifier=EVENT, action="F1CN", cancelReason="feeder fault"), START + timedelta(minutes=10))
    assert (stopped["result"], stopped["unreserved"]) == ("applied", 0)
    assert program_events.one_event(dacs_db, EVENT)["status"] == "CANCELLED"
    assert participation_rows(dacs_db) == [("ECO-1", True), ("ECO-2", True)]


def test_a_pre_event_cancellation_unreserves_even_after_a_late_f1cn_kept_the_reservations(dacs_db: Engine) -> None:
    program_events.create(dacs_db, stage(1), NOW)
    participations.reserve(dacs_db, reservation(*DEVICES[:2]), NOW)
    late = START + timedelta(minutes=5)  # both held back until after the start (the program system was down)
    program_events.change_status(dacs_db, LifecycleIn(eventExternalIdentifier=EVENT, action="F1CN"), late)
    assert participation_rows(dacs_db) == [("ECO-1", True), ("ECO-2", True)]
    answer = program_events.cancel_before_start(
        dacs_db, PreEventCancellationIn(eventExternalIdentifier=EVENT, cancelMessage="forecast cooler"), late)
    assert (answer["result"], answer["unreserved"]) == ("ignored: already CANCELLED", 2)
    assert participation_rows(dacs_db) == [("ECO-1", False), ("ECO-2", False)]


def test_the_agents_view_lists_events_with_their_participation(dacs_db: Engine) -> None:
    for number in (1, 2):
        program_events.create(dacs_db, stage(number), NOW)
    participations.reserve(dacs_db, reservation(*DEVICES[:2]), NOW)
    [listed] = program_events.list_events(dacs_db, None, 10)
    assert listed == {"eventExternalIdentifier": EVENT, "programCode": "SMARTSTAT", "category": "X1EM",
                      "start": START.isoformat(), "end": (START + timedelta(hours=1)).isoformat(),
                      "status": "PENDING", "stages": 2, "participations": 2, "reserved": 2, "optedOut": 0}
    assert program_events.list_events(dacs_db, "CANCELLED", 10) == []


def test_a_device_named_twice_in_one_call_makes_one_participation(dacs_db: Engine) -> None:
    program_events.create(dacs_db, stage(1), NOW)
    answer = participations.reserve(dacs_db, reservation(DEVICES[0], DEVICES[1], DEVICES[0]), NOW)
    assert (answer["reserved"], answer["alreadyReserved"]) == (2, 0)
    assert participation_rows(dacs_db) == [("ECO-1", True), ("ECO-2", True)]


def test_calls_applied_together_answer_each_as_if_alone(dacs_db: Engine) -> None:
    """A group: a device reserved twice (the second call finds it held), a repeated call, a call naming an
    unknown device (refused, nothing of it applied) and one for a cancelled event (refused)."""
    program_events.create(dacs_db, stage(1), NOW)
    other = ReserveDeviceIn.model_validate({**reservation(DEVICES[4]).model_dump(),
                                            "eventExternalIdentifier": "EV1000000002"})
    program_events.create(dacs_db, stage(1, event="EV1000000002"), NOW)
    program_events.cancel_before_start(dacs_db, PreEventCancellationIn(eventExternalIdentifier="EV1000000002"), NOW)
    answers = participations.reserve_many(dacs_db, [
        reservation(*DEVICES[:2]), reservation(DEVICES[1], DEVICES[2]),
        reservation(DEVICES[3], ("ECOCLOUD", "GHOST")), reservation(*DEVICES[:2]), other], NOW)
    first, second, unknown, repeated, cancelled = answers
    assert (first["reserved"], first["alreadyReserved"]) == (2, 0)
    assert (second["reserved"], second["alreadyReserved"]) == (1, 1)
    assert isinstance(unknown, InvalidInput)
    assert unknown.problems == {"deviceList.1": "no active controllable device ECOCLOUD/GHOST"}
    assert (repeated["reserved"], repeated["alreadyReserved"]) == (0, 2)
    assert isinstance(cancelled, Conflict)
    assert participation_rows(dacs_db) == [("ECO-1", True), ("ECO-2", True), ("ECO-3", True)]


def test_a_repeated_reservation_refreshes_the_window_and_reserves_a_released_device_again(dacs_db: Engine) -> None:
    program_events.create(dacs_db, stage(1), NOW)
    participations.reserve(dacs_db, reservation(*DEVICES[:2]), NOW)
    participations.reserve(dacs_db, reservation(released=(DEVICES[0],)), NOW)
    later = START + timedelta(minutes=30)
    again = ReserveDeviceIn.model_validate({**reservation(*DEVICES[:2]).model_dump(), "deviceList": [
        {"headEndSystem": DEVICES[0][0], "nicId": DEVICES[0][1], "reservationStartDateTime": later.isoformat()},
        {"headEndSystem": DEVICES[1][0], "nicId": DEVICES[1][1]}]})
    answer = participations.reserve(dacs_db, again, NOW)
    assert (answer["reserved"], answer["alreadyReserved"]) == (0, 2)
    assert participation_rows(dacs_db) == [("ECO-1", True), ("ECO-2", True)]
    shown = {p["nicId"]: p["reservationStart"] for p in program_events.participations_of(dacs_db, EVENT, 10, 0)}
    assert shown == {"ECO-1": later.isoformat(), "ECO-2": START.isoformat()}


def test_a_device_with_a_participation_but_no_longer_active_is_refused_and_nothing_applied(dacs_db: Engine) -> None:
    """Its participation (here one an outcome created) is held, yet the call is refused whole, as before."""
    program_events.create(dacs_db, stage(1), NOW)
    with dacs_db.begin() as connection:
        connection.execute(sa.insert(event_participations).values(
            event_external_id=EVENT, head_end_system="ECOCLOUD", nic_id="GHOST", reserved=False, opted_out=False,
            updated_at=NOW))
    with pytest.raises(InvalidInput) as refused:
        participations.reserve(dacs_db, reservation(DEVICES[0], ("ECOCLOUD", "GHOST")), NOW)
    assert refused.value.problems == {"deviceList.1": "no active controllable device ECOCLOUD/GHOST"}
    assert participation_rows(dacs_db) == [("GHOST", False)]
