"""DERMS drops the devices customers opted out or declared unavailable from their reservation and backfills from
its standby list, through its storage, on SQLite and PostgreSQL: one update per event whatever the number of
drops, each drop done once, standby devices no longer free passed over, a reservation that falls short says so,
and a drop that comes too late changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from derbridge.derms.events import events
from derbridge.derms.events.wire import EventIn
from derbridge.derms.optouts import store
from derbridge.derms.reservations import backfills, reserve
from derbridge.derms.reservations.models import Models
from derbridge.derms.schema import event_participations
from derbridge.derms.unavailability import windows
from tests.contract.test_reservations import device_list
from tests.grid import SMALL_GRID, add_devices, add_grid, add_program

NOW = datetime(2026, 7, 15, 12, 0, tzinfo=UTC)
START = NOW + timedelta(hours=6)  # a summer afternoon in Chicago: each thermostat 1.2 kW
INSTANCE = "DERMS-1"
SEED = 7
WIDE_STANDBY = Models(standby_share=1.0)


@pytest.fixture
def derms_db(derms_db: Engine) -> Iterator[Engine]:
    """The migrated database (contract/conftest.py), seeded."""
    add_program(derms_db)
    add_grid(derms_db)
    add_devices(derms_db, SMALL_GRID, "T-1", ["A1", "A2", "A3", "A4"])
    add_devices(derms_db, SMALL_GRID, "T-2", ["B1", "B2", "B3", "B4"])
    yield derms_db


def reserved_event(engine: Engine, files: Path, models: Models = WIDE_STANDBY) -> tuple[str, list[str], list[str]]:
    """An event of 3 kW reserved: three devices (3.6 kW) and its standby list; (event, reserved, standby)."""
    body = EventIn.model_validate({"name": "Peak", "eventType": "ECONOMIC", "programCode": "SMARTSTAT",
                                   "targetKw": 3.0, "start": START.isoformat(),
                                   "end": (START + timedelta(hours=2)).isoformat()})
    event_id = str(events.create(engine, body, "pat", NOW, INSTANCE)["eventId"])
    reserve.reserve(engine, event_id, NOW, models, SEED, files, INSTANCE)
    listed = reserve.reservation_of(engine, event_id, 100)["listed"]
    return (event_id, [d["nicId"] for d in listed if d["status"] == "RESERVED"],
            [d["nicId"] for d in listed if d["status"] == "STANDBY"])


def opt_out(engine: Engine, event_id: str, nic: str) -> None:
    assert store.record(engine, store.OptOut(event_id, "ECOCLOUD", nic, NOW), NOW).result == "accepted"


def declare(engine: Engine, nic: str, window_id: str = "U1") -> None:
    assert windows.apply(engine, windows.Window(window_id, 1, "ACTIVE", "ECOCLOUD", nic, START - timedelta(hours=1),
                                                START + timedelta(hours=4), "travelling"), NOW)


def take(engine: Engine, files: Path, now: datetime = NOW, models: Models = WIDE_STANDBY) -> list[dict[str, Any]]:
    return backfills.take_pending(engine, models, files, INSTANCE, now)


def participants(engine: Engine, event_id: str) -> list[str]:
    with engine.connect() as connection:
        return sorted(connection.execute(sa.select(event_participations.c.nic_id)
                                         .where(event_participations.c.event_id == event_id)).scalars())


def listed_changes(engine: Engine, message_id: str) -> list[tuple[str, str]]:
    _query, listed = device_list(engine, message_id)
    return sorted(zip(listed["nicId"], listed["reservationStatus"], strict=True))


def test_an_opt_out_drops_the_device_and_the_first_standby_device_takes_its_place(
        derms_db: Engine, tmp_path: Path) -> None:
    event_id, reserved, standby = reserved_event(derms_db, tmp_path)
    assert (len(reserved), len(standby)) == (3, 3)
    opt_out(derms_db, event_id, reserved[1])

    [done] = take(derms_db, tmp_path)
    assert (done["messageId"], done["dropped"], done["added"], done["targetMet"]) == (f"{event_id}-R2", 1, 1, True)
    assert listed_changes(derms_db, f"{event_id}-R2") == sorted([(reserved[1], "RELEASED"), (standby[0], "RESERVED")])
    assert participants(derms_db, event_id) == sorted([reserved[0], reserved[2], standby[0]])
    shown = reserve.reservation_of(derms_db, event_id, 0)
    assert (shown["version"], shown["devices"], shown["targetMet"], shown["note"]) == (
        2, {"RESERVED": 3, "STANDBY": 2, "OPTED_OUT": 1}, True, None)
    changes = backfills.changes_of(derms_db, event_id)
    assert [(d["nicId"], d["cause"], d["outcome"], d["messageId"]) for d in changes["drops"]] == [
        (reserved[1], "OPTED_OUT", "DROPPED", f"{event_id}-R2")]
    assert [(b["nicId"], b["messageId"]) for b in changes["backfills"]] == [(standby[0], f"{event_id}-R2")]

    assert take(derms_db, tmp_path) == [], "a drop is done once"
    assert [m["version"] for m in shown["deviceLists"]] == [1, 2]


def test_several_drops_for_one_event_waiting_together_make_one_update(derms_db: Engine, tmp_path: Path) -> None:
    event_id, reserved, standby = reserved_event(derms_db, tmp_path)
    opt_out(derms_db, event_id, reserved[0])
    declare(derms_db, reserved[2])

    [done] = take(derms_db, tmp_path)
    assert (done["dropped"], done["added"]) == (2, 2)
    assert listed_changes(derms_db, f"{event_id}-R2") == sorted([
        (reserved[0], "RELEASED"), (reserved[2], "RELEASED"), (standby[0], "RESERVED"), (standby[1], "RESERVED")])
    shown = reserve.reservation_of(derms_db, event_id, 0)
    assert shown["devices"] == {"RESERVED": 3, "STANDBY": 1, "OPTED_OUT": 1, "RELEASED": 1}
    assert [m["messageId"] for m in shown["deviceLists"]] == [f"{event_id}-R1", f"{event_id}-R2"]


def test_a_standby_device_declared_unavailable_is_passed_over(derms_db: Engine, tmp_path: Path) -> None:
    event_id, reserved, standby = reserved_event(derms_db, tmp_path)
    declare(derms_db, standby[0], "U1")  # a standby device: no participation, no drop
    declare(derms_db, reserved[0], "U2")

    [done] = take(derms_db, tmp_path)
    assert done["added"] == 1
    assert listed_changes(derms_db, done["messageId"]) == sorted([(reserved[0], "RELEASED"),
                                                                 (standby[1], "RESERVED")])


def test_when_the_standby_list_runs_out_the_reservation_says_it_falls_short(derms_db: Engine, tmp_path: Path) -> None:
    narrow = Models()  # a fifth as many on standby: one device
    event_id, reserved, standby = reserved_event(derms_db, tmp_path, narrow)
    assert len(standby) == 1
    opt_out(derms_db, event_id, reserved[0])
    opt_out(derms_db, event_id, reserved[1])

    [done] = take(derms_db, tmp_path, models=narrow)
    assert (done["dropped"], done["added"], done["targetMet"], done["expectedKw"]) == (2, 1, False, 2.4)
    shown = reserve.reservation_of(derms_db, event_id, 0)
    assert shown["targetMet"] is False and shown["expectedKw"] == 2.4
    assert shown["note"] == ("short of its target after drops: 2.400 of 3 kW expected, the standby list "
                             "exhausted")


def test_a_drop_once_the_event_has_started_changes_nothing(derms_db: Engine, tmp_path: Path) -> None:
    event_id, reserved, _standby = reserved_event(derms_db, tmp_path)
    opt_out(derms_db, event_id, reserved[0])

    [done] = take(derms_db, tmp_path, now=START + timedelta(minutes=1))
    assert (done["outcome"], done["messageId"]) == ("NOT_UPCOMING", None)
    assert participants(derms_db, event_id) == sorted(reserved)
    assert [d["outcome"] for d in backfills.changes_of(derms_db, event_id)["drops"]] == ["NOT_UPCOMING"]
    assert take(derms_db, tmp_path) == []


def test_a_drop_of_a_device_no_longer_reserved_is_done_without_an_update(derms_db: Engine, tmp_path: Path) -> None:
    event_id, reserved, _standby = reserved_event(derms_db, tmp_path)
    opt_out(derms_db, event_id, reserved[0])
    declare(derms_db, reserved[0])  # the same device, declared away too: one drop, by its first cause
    take(derms_db, tmp_path)
    declare(derms_db, reserved[0], "U9")  # its participation is gone: nothing more to drop
    assert take(derms_db, tmp_path) == []
    assert len(reserve.reservation_of(derms_db, event_id, 0)["deviceLists"]) == 2


def test_a_reservation_planned_before_an_opt_out_was_dropped_does_not_reserve_the_device_again(
        derms_db: Engine, tmp_path: Path) -> None:
    event_id, reserved, _standby = reserved_event(derms_db, tmp_path)
    event, stale, headroom = reserve.plan(derms_db, event_id, NOW, WIDE_STANDBY, SEED)  # an operator's re-run
    opt_out(derms_db, event_id, reserved[0])
    declare(derms_db, reserved[1])
    take(derms_db, tmp_path)  # dropped and backfilled while the re-run was being planned

    assert {reserved[0], reserved[1]} <= set(stale.reserved["nic_id"]), "the plan predates the drops"
    reserve.commit_plan(derms_db, event, stale, headroom, SEED, NOW, tmp_path, INSTANCE)
    assert reserved[0] not in participants(derms_db, event_id)
    assert reserved[1] not in participants(derms_db, event_id)
