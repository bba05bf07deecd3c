"""DERMS's reservation engine through its storage, on SQLite and PostgreSQL: each constraint leaves out the
device it should, and says so; the reservation writes its devices, DERMS's participation and one device list
for the program system; an update sends only the changes; a cancellation releases everything."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import polars as pl
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from derbridge.derms.availability.participation import SensitivePremise, mark_sensitive
from derbridge.derms.events import events
from derbridge.derms.events.wire import EventIn
from derbridge.derms.reservations import reserve
from derbridge.derms.reservations.api import seed_of
from derbridge.derms.reservations.models import DEFAULT_KW, Models
from derbridge.derms.reservations.schema import reservation_devices
from derbridge.derms.schema import event_participations, outbound_files, status_checks
from derbridge.derms.scores import sets as score_sets
from derbridge.errors import Conflict
from derbridge.web.operator import wait_for
from tests.grid import SMALL_GRID, add_devices, add_grid, add_program
from tests.registry import participate

NOW = datetime(2026, 7, 15, 12, 0, tzinfo=UTC)
START = NOW + timedelta(hours=6)  # 13:00 in Chicago, a summer afternoon: a thermostat is worth 1.2 kW
INSTANCE = "DERMS-1"
SEED = 7
REFERENCE = Models()


@pytest.fixture
def derms_db(derms_db: Engine) -> Iterator[Engine]:
    """The migrated database (contract/conftest.py), seeded."""
    add_program(derms_db)
    add_grid(derms_db)
    add_devices(derms_db, SMALL_GRID, "T-1", ["A1", "A2", "A3"])
    add_devices(derms_db, SMALL_GRID, "T-3", ["C1"])
    yield derms_db


def new_event(engine: Engine, **changes: Any) -> str:
    body = EventIn.model_validate({"name": "Peak", "eventType": "ECONOMIC", "programCode": "SMARTSTAT",
                                   "targetKw": 100, "start": START.isoformat(),
                                   "end": (START + timedelta(hours=2)).isoformat(), **changes})
    return str(events.create(engine, body, "pat", NOW, INSTANCE)["eventId"])


def what_if(engine: Engine, event_id: str, models: Models = REFERENCE) -> dict[str, Any]:
    return reserve.what_if(engine, event_id, NOW, models, SEED, 100)


def chosen(answer: dict[str, Any]) -> dict[str, str]:
    return {device["nicId"]: device["role"] for device in answer["devices"]}


def excluded(answer: dict[str, Any]) -> dict[str, int]:
    return {entry["constraint"]: entry["devices"] for entry in answer["excluded"]}


def failed_check(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(sa.insert(status_checks).values(
            dacs_message_id="C-A2", head_end_system="ECOCLOUD", nic_id="A2", status="ANSWERED", received_at=NOW,
            answered_at=NOW, response_code="FAILURE"))


def unregistered(engine: Engine) -> None:
    add_devices(engine, SMALL_GRID, "T-2", ["B9"], registered=False)


def no_location(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM service_point_connections WHERE cis_service_point_id = 'SP-S-A2'"))


def life_support(engine: Engine) -> None:
    mark_sensitive(engine, "PR-A2", SensitivePremise(kind="LIFE_SUPPORT"))


def weekly_cap(engine: Engine) -> None:
    add_program(engine, version=2, maxEventsPerWeek=1)
    participate(engine, "EV-PAST", "A2", "2026-07-13T19:00:00+00:00", "2026-07-13T20:00:00+00:00")


def reserved_elsewhere(engine: Engine) -> None:
    participate(engine, "EV-OTHER", "A2", (START + timedelta(hours=1)).isoformat(),
                (START + timedelta(hours=3)).isoformat())


def no_kw_model(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE devices SET device_type = 'POOL-PUMP' WHERE nic_id = 'A2'"))


NOTHING_FOR_UNKNOWN_TYPES = Models(expected_kw=replace(DEFAULT_KW, default_kw=0.0))
"""No rule of the model names a pool pump: with this, one is expected to deliver nothing."""
# Each: what the test does to the fleet, the device it should leave out, the constraint that says so.
CONSTRAINTS: list[tuple[str, Callable[[Engine], None], str, str, dict[str, Any]]] = [
    ("a device not registered with its head end", unregistered, "B9", "NOT_COMMUNICATING", {}),
    ("a device whose last status check failed", failed_check, "A2", "NOT_COMMUNICATING", {}),
    ("a device whose transformer DERMS does not know", no_location, "A2", "NO_NETWORK_LOCATION", {}),
    ("a premise with life support", life_support, "A2", "LIFE_SUPPORT", {}),
    ("a device at its weekly cap", weekly_cap, "A2", "WEEKLY_CAP_REACHED", {}),
    ("a device reserved for an overlapping event", reserved_elsewhere, "A2", "RESERVED_ELSEWHERE", {}),
    ("a device outside the event's feeders", lambda _e: None, "C1", "OUTSIDE_ZONE",
     {"zone": {"kind": "FEEDERS", "ids": ["F-1"]}}),
    ("a device outside the event's substations", lambda _e: None, "C1", "OUTSIDE_ZONE",
     {"zone": {"kind": "SUBSTATIONS", "ids": ["S-1"]}}),
    ("a device expected to deliver nothing", no_kw_model, "A2", "NO_EXPECTED_KW", {}),
]


@pytest.mark.parametrize(("_what", "arrange", "left_out", "constraint", "event"), CONSTRAINTS,
                         ids=[row[0] for row in CONSTRAINTS])
def test_each_constraint_leaves_out_its_device_and_counts_it(
        derms_db: Engine, _what: str, arrange: Callable[[Engine], None], left_out: str, constraint: str,
        event: dict[str, Any]) -> None:
    arrange(derms_db)
    answer = what_if(derms_db, new_event(derms_db, **event), NOTHING_FOR_UNKNOWN_TYPES)
    assert left_out not in chosen(answer)
    assert excluded(answer) == {constraint: 1}
    assert len(chosen(answer)) == answer["candidates"] - 1


def test_a_device_the_score_set_marks_not_eligible_is_left_out(derms_db: Engine, tmp_path: Path) -> None:
    file = tmp_path / "SDCSE_V1_20260701T020000Z.csv"
    file.write_text("deviceId,nicId,headEndSystem,programCode,subscriptionId,score,eligible,reason,computedAt,"
                    "components\n"
                    "D2,A2,ECOCLOUD,SMARTSTAT,S2,90,false,CAP_REACHED,2026-07-01T02:00:00.000Z,SC=90\n"
                    "D3,A3,ECOCLOUD,SMARTSTAT,S3,50,true,,2026-07-01T02:00:00.000Z,SC=50\n")
    _created, taken = score_sets.accept(derms_db, tmp_path, file, file.name, "2026-07-01T02:00:00.000Z", "0" * 64)
    wait_for(lambda: (score_sets.find(derms_db, taken["setId"]) or {}).get("inForce"), 30, "the score set in force")
    answer = what_if(derms_db, new_event(derms_db))
    assert "A2" not in chosen(answer) and excluded(answer) == {"NOT_ELIGIBLE": 1}
    kw = {device["nicId"]: device["expectedKw"] for device in answer["devices"]}
    assert kw == {"A1": 1.2, "A3": 0.6, "C1": 1.2}, "score / 100 × the thermostat's 1.2 kW on a summer afternoon"


def test_headroom_limits_the_devices_behind_a_transformer(derms_db: Engine) -> None:
    with derms_db.begin() as connection:  # 85 % of a 10 kW rating is taken at the peak: 1.5 kW free
        connection.execute(sa.text("UPDATE transformers SET capacity_kw = 10 WHERE transformer_id = 'T-1'"))
    answer = what_if(derms_db, new_event(derms_db))
    assert excluded(answer) == {"TRANSFORMER_HEADROOM": 2}, "1.2 kW each: one fits in 1.5 kW"
    behind_t1 = [nic for nic in chosen(answer) if nic.startswith("A")]
    assert len(behind_t1) == 1 and "C1" in chosen(answer)
    assert {f["feederId"]: (f["devices"], f["expectedKw"], f["headroomKw"]) for f in answer["byFeeder"]} == {
        "F-1": (1, 1.2, 150.0), "F-3": (1, 1.2, 150.0)}


def test_the_target_met_the_rest_is_a_ranked_standby_list(derms_db: Engine) -> None:
    answer = what_if(derms_db, new_event(derms_db, targetKw=2.0))
    roles = [device["role"] for device in answer["devices"]]
    assert roles == ["RESERVED", "RESERVED", "STANDBY"], "two devices cross 2 kW; a fifth of two rounds up to one"
    assert (answer["reserved"], answer["standby"], answer["expectedKw"], answer["targetMet"]) == (2, 1, 2.4, True)
    assert [device["rank"] for device in answer["devices"]] == [1, 2, 3]


def test_a_what_if_writes_nothing(derms_db: Engine) -> None:
    event_id = new_event(derms_db)
    what_if(derms_db, event_id)
    with derms_db.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(reservation_devices)).scalar_one() == 0
        assert connection.execute(sa.select(sa.func.count()).select_from(outbound_files)).scalar_one() == 0


def device_list(engine: Engine, message_id: str) -> tuple[dict[str, str], pl.DataFrame]:
    with engine.connect() as connection:
        row = connection.execute(sa.select(outbound_files).where(outbound_files.c.message_key == f"F9:{message_id}")
                                 ).one()
    parts = urlsplit(row.path)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    return query, pl.read_csv(json.loads(row.payload)["file"])


def participants(engine: Engine, event_id: str) -> list[str]:
    with engine.connect() as connection:
        return sorted(connection.execute(sa.select(event_participations.c.nic_id)
                                         .where(event_participations.c.event_id == event_id)).scalars())


def test_a_reservation_records_its_devices_and_participation_and_queues_one_device_list(
        derms_db: Engine, tmp_path: Path) -> None:
    event_id = new_event(derms_db)
    reserved = reserve.reserve(derms_db, event_id, NOW, Models(), seed_of(event_id), tmp_path, INSTANCE)
    assert (reserved["changed"], reserved["messageId"], reserved["devices"]) == (True, f"{event_id}-R1",
                                                                                {"RESERVED": 4})
    assert participants(derms_db, event_id) == ["A1", "A2", "A3", "C1"]
    query, listed = device_list(derms_db, f"{event_id}-R1")
    assert query == {"drmsInstanceId": INSTANCE, "messageId": f"{event_id}-R1", "eventId": event_id,
                     "eventType": "ECONOMIC", "eventStartDateTime": "2026-07-15T18:00:00.000Z",
                     "eventEndDateTime": "2026-07-15T20:00:00.000Z"}
    assert listed.columns == ["recordId", "nicId", "headEndSystemId"], "each device for the event's window"
    assert sorted(listed["nicId"]) == ["A1", "A2", "A3", "C1"] and listed["recordId"].to_list() == [1, 2, 3, 4]
    again = reserve.reserve(derms_db, event_id, NOW, Models(), seed_of(event_id), tmp_path, INSTANCE)
    assert again["changed"] is False and len(again["deviceLists"]) == 1, "nothing changed: no second list"


def test_an_update_sends_the_devices_added_and_released_only(derms_db: Engine, tmp_path: Path) -> None:
    event_id = new_event(derms_db)
    reserve.reserve(derms_db, event_id, NOW, Models(), SEED, tmp_path, INSTANCE)
    life_support(derms_db)
    add_devices(derms_db, SMALL_GRID, "T-2", ["B1"])
    update = reserve.reserve(derms_db, event_id, NOW, Models(), SEED, tmp_path, INSTANCE)
    assert update["messageId"] == f"{event_id}-R2" and update["version"] == 2
    _query, listed = device_list(derms_db, f"{event_id}-R2")
    assert sorted(zip(listed["nicId"], listed["reservationStatus"], strict=True)) == [
        ("A2", "RELEASED"), ("B1", "RESERVED")]
    assert participants(derms_db, event_id) == ["A1", "A3", "B1", "C1"]
    sent_in = {d["nicId"]: d["messageId"] for d in reserve.reservation_of(derms_db, event_id, 10)["listed"]}
    assert sent_in == {"A1": f"{event_id}-R1", "A3": f"{event_id}-R1", "C1": f"{event_id}-R1",
                       "B1": f"{event_id}-R2"}, "each device names the list that last sent it"


def test_cancelling_the_event_releases_every_device_and_its_participation(derms_db: Engine, tmp_path: Path) -> None:
    event_id = new_event(derms_db)
    reserve.reserve(derms_db, event_id, NOW, Models(), SEED, tmp_path, INSTANCE)
    events.cancel(derms_db, event_id, "cooler", "pat", NOW, INSTANCE, reserve.release)
    shown = reserve.reservation_of(derms_db, event_id, 10)
    assert (shown["status"], shown["devices"]) == ("RELEASED", {"RELEASED": 4})
    assert participants(derms_db, event_id) == []
    with pytest.raises(Conflict):
        reserve.reserve(derms_db, event_id, NOW, Models(), SEED, tmp_path, INSTANCE)


def test_a_later_event_sees_the_reservation_as_participation(derms_db: Engine, tmp_path: Path) -> None:
    add_program(derms_db, version=2, maxEventsPerWeek=1)
    first = new_event(derms_db)
    reserve.reserve(derms_db, first, NOW, Models(), SEED, tmp_path, INSTANCE)
    second = new_event(derms_db, start=(START + timedelta(days=1)).isoformat(),
                       end=(START + timedelta(days=1, hours=2)).isoformat())
    assert excluded(what_if(derms_db, second)) == {"WEEKLY_CAP_REACHED": 4}
    assert excluded(what_if(derms_db, first)) == {}, "an event's own reservation never counts against it"
