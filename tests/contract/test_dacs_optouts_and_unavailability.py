"""The program system's opt-outs (F12) and unavailability windows (F13), on SQLite and PostgreSQL: each refusal
naming its condition, an accepted opt-out setting the flag and writing its sync in the same transaction, and
every change of a window a new version with its own sync."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from derbridge.clock import iso_utc
from derbridge.dacs.optouts import optouts
from derbridge.dacs.schema import event_participations, outbound_messages, program_types
from derbridge.dacs.unavailability import windows
from derbridge.errors import Conflict, InvalidInput, Refused
from tests.event_seed import add_device, add_event, add_program_type, reserve
from tests.seed import NOW, add_program

START = NOW + timedelta(hours=3)  # the cut-off is an hour before: NOW + 2 h


@pytest.fixture
def dacs_db(dacs_db: Engine) -> Iterator[Engine]:
    """The migrated database (contract/conftest.py), seeded."""
    with dacs_db.begin() as connection:
        add_program_type(connection)
        add_program(connection)
        add_event(connection, "EV-1", START, stages=3)
        add_device(connection, "D00000000001", "NIC-1")
        add_device(connection, "D00000000002", "NIC-2")
        reserve(connection, "EV-1", "NIC-1", "D00000000001")
    yield dacs_db


def opt_out(engine: Engine, device_id: str = "D00000000001", event: str = "EV-1",
            at: Any = NOW) -> tuple[bool, dict[str, Any]]:
    return optouts.record(engine, optouts.OptOut(event, device_id), at)


def syncs(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        rows = connection.execute(sa.select(outbound_messages).order_by(outbound_messages.c.id)).all()
    return [{"key": row.message_key, "path": row.path, **json.loads(row.payload)} for row in rows]


def refusal(engine: Engine, **options: Any) -> int:
    with pytest.raises(Refused) as refused:
        opt_out(engine, **options)
    assert refused.value.category == 90000
    assert syncs(engine) == [], "nothing is sent for a refused opt-out"
    return refused.value.number


def test_an_opt_out_sets_the_flag_and_writes_its_sync_once(dacs_db: Engine) -> None:
    new, participation = opt_out(dacs_db)
    assert new and participation["optedOut"] and participation["reserved"]
    [sync] = syncs(dacs_db)
    assert sync["path"] == "/hub/from-dacs/eventOptOut"
    assert {k: sync[k] for k in ("eventExternalIdentifier", "headEndSystem", "nicId", "deviceId")} == {
        "eventExternalIdentifier": "EV-1", "headEndSystem": "ECOCLOUD", "nicId": "NIC-1", "deviceId": "D00000000001"}
    assert sync["optOutDateTime"] == "2026-11-23T12:00:00.000Z"
    assert opt_out(dacs_db)[0] is False, "the same opt-out again is the one held"
    assert len(syncs(dacs_db)) == 1


def test_a_program_type_without_pre_emptive_opt_out_refuses_it(dacs_db: Engine) -> None:
    with dacs_db.begin() as connection:
        connection.execute(sa.update(program_types).values(preemptive_optout_allowed=False))
    assert refusal(dacs_db) == optouts.NOT_ALLOWED_BY_PROGRAM_TYPE


def test_an_opt_out_after_the_cut_off_is_refused(dacs_db: Engine) -> None:
    assert refusal(dacs_db, at=START - timedelta(minutes=60)) == optouts.PAST_CUTOFF
    assert opt_out(dacs_db, at=START - timedelta(minutes=61))[0], "a minute before the cut-off is in time"


def test_a_device_not_reserved_for_the_event_cannot_opt_out(dacs_db: Engine) -> None:
    assert refusal(dacs_db, device_id="D00000000002") == optouts.NOT_RESERVED
    with dacs_db.begin() as connection:
        reserve(connection, "EV-1", "NIC-2", "D00000000002", reserved=False)  # released by DERMS
    assert refusal(dacs_db, device_id="D00000000002") == optouts.NOT_RESERVED


def test_an_event_that_is_not_upcoming_takes_no_opt_out(dacs_db: Engine) -> None:
    assert refusal(dacs_db, at=START + timedelta(minutes=1)) == optouts.NOT_UPCOMING
    with dacs_db.begin() as connection:
        add_event(connection, "EV-2", NOW + timedelta(days=1), status="CANCELLED")
        reserve(connection, "EV-2", "NIC-1", "D00000000001")
    assert refusal(dacs_db, event="EV-2") == optouts.NOT_UPCOMING


def test_the_flag_is_set_only_with_its_sync(dacs_db: Engine) -> None:
    refusal(dacs_db, at=START)
    with dacs_db.connect() as connection:
        assert connection.execute(sa.select(event_participations.c.opted_out)).scalars().all() == [False]


def test_each_change_of_a_window_is_a_new_version_with_its_own_sync(dacs_db: Engine) -> None:
    added = windows.add(dacs_db, "D00000000001", START, START + timedelta(hours=4), "travelling", NOW)
    window_id = added["unavailabilityId"]
    edited = windows.edit(dacs_db, window_id, windows.Change(reason="at the hospital"), NOW)
    cancelled = windows.cancel(dacs_db, window_id, NOW)
    assert [added["version"], edited["version"], cancelled["version"]] == [1, 2, 3]
    sent = syncs(dacs_db)
    assert [s["key"] for s in sent] == [f"unavailability:{window_id}:{n}" for n in (1, 2, 3)]
    assert [(s["version"], s["status"], s["reason"]) for s in sent] == [
        (1, "ACTIVE", "travelling"), (2, "ACTIVE", "at the hospital"), (3, "CANCELLED", "at the hospital")]
    assert sent[0]["path"] == "/hub/from-dacs/customerUnavailability"
    with pytest.raises(Conflict):
        windows.edit(dacs_db, window_id, windows.Change(reason="back"), NOW)


def test_a_program_type_without_unavailability_refuses_a_window(dacs_db: Engine) -> None:
    with dacs_db.begin() as connection:
        connection.execute(sa.update(program_types).values(unavailability_allowed=False))
    with pytest.raises(Refused) as refused:
        windows.add(dacs_db, "D00000000001", START, START + timedelta(hours=1), "travelling", NOW)
    assert (refused.value.category, refused.value.number) == (90000, windows.NOT_ALLOWED_BY_PROGRAM_TYPE)
    assert syncs(dacs_db) == []


def test_a_window_that_ends_before_it_starts_or_is_past_is_refused_naming_end(dacs_db: Engine) -> None:
    for start, end in ((START, START), (NOW - timedelta(days=2), NOW - timedelta(days=1))):
        with pytest.raises(InvalidInput) as invalid:
            windows.add(dacs_db, "D00000000001", start, end, "travelling", NOW)
        assert list(invalid.value.problems) == ["end"]


def test_a_window_given_in_local_time_is_kept_and_sent_at_the_same_instant(dacs_db: Engine) -> None:
    chicago = ZoneInfo("America/Chicago")
    start = (START + timedelta(days=1)).astimezone(chicago)
    added = windows.add(dacs_db, "D00000000001", start, start + timedelta(hours=4), "travelling", NOW)
    assert (added["start"], added["end"]) == (iso_utc(start), iso_utc(start + timedelta(hours=4)))
    [sent] = syncs(dacs_db)
    assert datetime.fromisoformat(sent["startDateTime"]) == start
