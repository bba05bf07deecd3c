"""DERMS's side of opt-outs (F12) and declared unavailability (F13), on SQLite and PostgreSQL: windows kept at
their highest version whatever order they arrive in, availability refusing a device with a declared window,
opt-outs refused for an unknown event or a device not reserved, and the drops left for the reservation engine."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from derbridge.derms.availability import devices as device_availability
from derbridge.derms.optouts import drops, store
from derbridge.derms.programs import rules as program_rules
from derbridge.derms.unavailability import windows
from tests.event_seed import reserve_in_derms
from tests.registry import enroll, program_message

EVENT_START = datetime(2026, 7, 15, 19, tzinfo=UTC)  # Wed 14:00 Chicago
EVENT = {"eventStart": "2026-07-15T19:00:00Z", "eventEnd": "2026-07-15T21:00:00Z"}
NOW = datetime(2026, 7, 15, 13, tzinfo=UTC)


@pytest.fixture
def derms_db(derms_db: Engine) -> Iterator[Engine]:
    """The migrated database (contract/conftest.py), seeded."""
    parsed = program_rules.ProgramMessage.model_validate(program_message("SMARTSTAT", 1, "SR1"))
    program_rules.apply(derms_db, parsed, program_rules.check_rules(parsed))
    enroll(derms_db, "SMARTSTAT", "S1", ["N1", "N2"])
    yield derms_db


def window(version: int, status: str = "ACTIVE", nic: str = "N1", start_hour: int = 18, hours: int = 4,
           unavailability_id: str = "U1") -> windows.Window:
    start = datetime(2026, 7, 15, start_hour, tzinfo=UTC)
    return windows.Window(unavailability_id, version, status, "ECOCLOUD", nic, start, start + timedelta(hours=hours),
                          "travelling")


def reasons(engine: Engine) -> dict[str, list[str]]:
    parsed = device_availability.AvailabilityRequest.model_validate({**EVENT, "programCode": "SMARTSTAT"})
    judged = device_availability.evaluate(engine, parsed, NOW)
    return {row["nic_id"]: row["reasons"] for row in judged.iter_rows(named=True)}


def held(engine: Engine) -> list[dict[str, object]]:
    return windows.list_windows(engine, "ECOCLOUD", None, 10)


def test_a_declared_window_over_the_event_makes_the_device_unavailable(derms_db: Engine) -> None:
    assert windows.apply(derms_db, window(1), NOW)
    assert reasons(derms_db) == {"N1": ["UNAVAILABLE_DECLARED"], "N2": []}


def test_a_window_that_does_not_overlap_the_event_changes_nothing(derms_db: Engine) -> None:
    windows.apply(derms_db, window(1, start_hour=21, hours=3), NOW)  # from the event's end on
    assert reasons(derms_db) == {"N1": [], "N2": []}


def test_an_older_edit_arriving_after_a_newer_one_changes_nothing(derms_db: Engine) -> None:
    assert windows.apply(derms_db, window(1), NOW)
    assert windows.apply(derms_db, window(3, start_hour=22), NOW)  # moved after the event
    assert not windows.apply(derms_db, window(2, start_hour=17), NOW)  # an edit made before, arriving late
    [kept] = held(derms_db)
    assert (kept["version"], kept["start"]) == (3, "2026-07-15T22:00:00+00:00")
    assert reasons(derms_db)["N1"] == []


def test_a_cancel_arriving_before_the_add_it_cancels_keeps_the_window_cancelled(derms_db: Engine) -> None:
    assert windows.apply(derms_db, window(2, "CANCELLED"), NOW)
    assert not windows.apply(derms_db, window(1), NOW)
    [kept] = held(derms_db)
    assert (kept["version"], kept["status"]) == (2, "CANCELLED")
    assert reasons(derms_db)["N1"] == []


def test_the_same_version_again_is_not_applied_again(derms_db: Engine) -> None:
    assert windows.apply(derms_db, window(1), NOW)
    assert not windows.apply(derms_db, window(1), NOW)


def test_a_window_over_a_device_reserved_for_an_overlapping_event_leaves_a_drop(derms_db: Engine) -> None:
    reserve_in_derms_db(derms_db, "EV-1", "N1")
    reserve_in_derms_db(derms_db, "EV-2", "N1", EVENT_START + timedelta(days=2))
    windows.apply(derms_db, window(1), NOW)
    with derms_db.connect() as connection:
        pending = drops.pending_drops(connection)
    assert pending.select("event_id", "nic_id", "cause", "source_id").rows() == [
        ("EV-1", "N1", "UNAVAILABLE_DECLARED", "U1:1")]


def test_an_opt_out_for_an_event_derms_does_not_know_is_refused(derms_db: Engine) -> None:
    verdict = store.record(derms_db, store.OptOut("EV-NONE", "ECOCLOUD", "N1", None), NOW)
    assert (verdict.result, verdict.number) == ("refused", store.UNKNOWN_EVENT)
    assert "does not know event EV-NONE" in verdict.text


def test_an_opt_out_for_a_device_derms_did_not_reserve_is_refused(derms_db: Engine) -> None:
    reserve_in_derms_db(derms_db, "EV-1", "N1")
    verdict = store.record(derms_db, store.OptOut("EV-1", "ECOCLOUD", "N2", None), NOW)
    assert (verdict.result, verdict.number) == ("refused", store.NOT_RESERVED)
    with derms_db.connect() as connection:
        assert store.opted_out(connection, "EV-1").is_empty()


def test_an_opt_out_is_recorded_once_and_leaves_one_drop_which_the_engine_marks_done(derms_db: Engine) -> None:
    reserve_in_derms_db(derms_db, "EV-1", "N1")
    reserve_in_derms_db(derms_db, "EV-1", "N2")
    assert store.record(derms_db, store.OptOut("EV-1", "ECOCLOUD", "N1", NOW), NOW).result == "accepted"
    assert store.record(derms_db, store.OptOut("EV-1", "ECOCLOUD", "N1", NOW), NOW).result == "duplicate"
    with derms_db.begin() as connection:
        assert store.opted_out(connection, "EV-1").rows() == [("ECOCLOUD", "N1")]
        pending = drops.pending_drops(connection)
        assert pending.select("event_id", "nic_id", "cause").rows() == [("EV-1", "N1", "OPTED_OUT")]
        assert drops.mark_dropped(connection, pending, NOW) == 1
        assert drops.pending_drops(connection).is_empty()


def reserve_in_derms_db(engine: Engine, event_id: str, nic: str, start: datetime = EVENT_START) -> None:
    with engine.begin() as connection:
        reserve_in_derms(connection, event_id, nic, start)
