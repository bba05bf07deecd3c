"""DERMS dispatches each stage's reserved devices as the stage starts, once, even across a restart; after the
event it works out each device's outcome and the stages' performance once, and queues messages of at most
1,000 outcomes for the hub (or one file when there are more)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Engine

from derbridge.clock import as_utc
from derbridge.derms.dispatch import collect, queries
from derbridge.derms.dispatch.collect import collect_due
from derbridge.derms.dispatch.live import live_performance
from derbridge.derms.dispatch.schema import dispatch_devices, event_outcomes, stage_dispatches, stage_performance
from derbridge.derms.dispatch.stages import end_stopped, plan_due, send_pending, stop
from derbridge.derms.events import events as event_store
from derbridge.derms.events.schema import event_stages, events
from derbridge.derms.headend.gateway import Gateway
from derbridge.derms.headend.model import DispatchOrder, HeadEndUnavailable
from derbridge.derms.headend.simulator import CloudProfile, FleetDevice, SimulatedCloud
from derbridge.derms.reservations.schema import reservation_devices
from derbridge.derms.schema import event_participations, outbound_files, outbound_messages
from derbridge.store.db import make_engine
from derbridge.store.migrations import _alembic_lock, alembic_config, upgrade

START = datetime(2026, 7, 15, 20, 0, tzinfo=UTC)
EVENT = "EV1000000001"
NICS = [f"N{n:03d}" for n in range(30)]


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    db = make_engine(database_url)
    upgrade("derms", db)
    yield db
    db.dispose()


def seed(engine: Engine, nics: list[str]) -> None:
    now = START - timedelta(days=1)
    with engine.begin() as connection:
        connection.execute(sa.insert(events).values(
            event_id=EVENT, name="Heat", event_type="EMERGENCY", program_code="SMARTSTAT", target_kw=20.0,
            start_at=START, end_at=START + timedelta(hours=2), zone="ALL", zone_ids="[]", status="SCHEDULED",
            needs_approval=False, created_by="op", created_at=now, updated_at=now))
        connection.execute(sa.insert(event_stages), [
            {"event_id": EVENT, "stage_id": f"{EVENT}-{n}", "sequence": n, "name": name, "start_at": start,
             "end_at": end} for n, (name, start, end) in enumerate([
                ("RAMP_UP", START, START + timedelta(minutes=15)),
                ("SUSTAIN", START + timedelta(minutes=15), START + timedelta(minutes=105)),
                ("RAMP_DOWN", START + timedelta(minutes=105), START + timedelta(hours=2))], start=1)])
        connection.execute(sa.insert(reservation_devices), [
            {"event_id": EVENT, "head_end_system": "ECOCLOUD", "nic_id": nic, "status": "RESERVED", "rank": n,
             "expected_kw": 1.0, "transformer_id": "T-1", "feeder_id": "F-1" if n % 2 else "F-2",
             "updated_at": now} for n, nic in enumerate(nics)])


def set_status(engine: Engine, status: str) -> None:
    with engine.begin() as connection:
        connection.execute(sa.update(events).values(status=status))


def cloud(clock: Clock, nics: list[str], kind: type[SimulatedCloud] = SimulatedCloud,
          **profile: float) -> SimulatedCloud:
    """A cloud of `kind` holding `nics`."""
    simulated = kind(CloudProfile("ECOCLOUD", **profile), clock=clock)  # type: ignore[arg-type]
    for nic in nics:
        simulated.add_device(FleetDevice(nic, "S", "ECOTHERM", "ET300", "5", True, START - timedelta(days=10)))
    return simulated


def run_event(engine: Engine, clock: Clock, gateway: Gateway, tmp_path: Path) -> None:
    """The scheduler's rounds through the event: each stage at its start, then after the end."""
    set_status(engine, "IN_PROGRESS")
    for minutes in (0, 15, 105):
        clock.now = START + timedelta(minutes=minutes, seconds=5)
        plan_due(engine, clock.now)
        send_pending(engine, gateway, clock.now)
    set_status(engine, "COMPLETED")
    clock.now = START + timedelta(hours=2, minutes=1)
    collect_due(engine, gateway, clock.now, tmp_path)


def test_each_stage_is_dispatched_at_its_start_to_the_reserved_devices(engine: Engine) -> None:
    seed(engine, NICS)
    clock = Clock(START - timedelta(minutes=1))
    simulated = cloud(clock, NICS[:-1])  # the last one is unknown to its cloud
    set_status(engine, "IN_PROGRESS")
    assert plan_due(engine, START - timedelta(minutes=1)) == 0, "nothing before the first stage's start"
    clock.now = START + timedelta(seconds=5)
    assert plan_due(engine, clock.now) == 1
    assert send_pending(engine, Gateway([simulated]), clock.now) == 1
    with engine.connect() as connection:
        [stage] = connection.execute(sa.select(stage_dispatches)).all()
        results = {row.nic_id: row.result for row in connection.execute(
            sa.select(dispatch_devices.c.nic_id, dispatch_devices.c.result))}
    assert (stage.stage_id, stage.status, stage.devices, stage.accepted) == (f"{EVENT}-1", "SENT", 30, 29)
    assert results[NICS[-1]] == "REFUSED" and {results[nic] for nic in NICS[:-1]} == {"ACCEPTED"}
    assert plan_due(engine, clock.now) == 0 and send_pending(engine, Gateway([simulated]), clock.now) == 0


def test_a_restart_between_planning_and_sending_dispatches_once(engine: Engine) -> None:
    seed(engine, NICS)
    clock = Clock(START + timedelta(seconds=5))
    simulated = cloud(clock, NICS)
    set_status(engine, "IN_PROGRESS")
    plan_due(engine, clock.now)
    send_pending(engine, Gateway([simulated]), clock.now)
    with engine.begin() as connection:  # as if DERMS stopped after the head end answered, before recording it
        connection.execute(sa.update(stage_dispatches).values(status="PENDING", accepted=None))
    simulated.set_online(NICS[0], False)
    send_pending(engine, Gateway([simulated]), clock.now)
    with engine.connect() as connection:
        result = connection.execute(sa.select(dispatch_devices.c.result)
                                    .where(dispatch_devices.c.nic_id == NICS[0])).scalar()
    assert result == "ACCEPTED", "the head end answered the repeated order as the first time"
    assert simulated.statistics()["ordersDispatched"] == 1


def test_a_stage_first_seen_after_its_end_is_missed(engine: Engine) -> None:
    seed(engine, NICS)
    set_status(engine, "COMPLETED")
    plan_due(engine, START + timedelta(hours=3))
    with engine.connect() as connection:
        statuses = set(connection.execute(sa.select(stage_dispatches.c.status)).scalars())
    assert statuses == {"MISSED"}


def test_while_the_event_runs_the_performance_says_what_was_delivered_so_far(engine: Engine) -> None:
    seed(engine, NICS)
    clock = Clock(START - timedelta(minutes=1))
    gateway = Gateway([cloud(clock, NICS, response_rate=1.0, override_rate=0.0, offline_rate=0.0)])
    set_status(engine, "IN_PROGRESS")
    for minutes in (0, 15):
        clock.now = START + timedelta(minutes=minutes, seconds=5)
        plan_due(engine, clock.now)
        send_pending(engine, gateway, clock.now)
    clock.now = START + timedelta(minutes=50)  # the first stage and two quarter hours of the second are over
    so_far = live_performance(engine, gateway, EVENT, clock.now)
    assert set(so_far["stage_id"]) == {f"{EVENT}-1", f"{EVENT}-2"}
    shown = queries.performance(engine, EVENT, so_far)
    ramp_up, sustain, ramp_down = shown["stages"]
    assert shown["live"] and not shown["outcomesCollected"]
    assert ramp_up["deliveredKw"] > 10 and sustain["deliveredKw"] > 10
    assert (ramp_down["dispatch"], ramp_down["deliveredKw"]) == ("NOT_YET", None)
    assert queries.performance(engine, EVENT)["stages"][1]["deliveredKw"] is None, "not without asking"


def test_reserved_devices_whose_stages_were_all_missed_are_errors(engine: Engine, tmp_path: Path) -> None:
    seed(engine, NICS[:3])
    clock = Clock(START + timedelta(hours=3))
    set_status(engine, "COMPLETED")
    plan_due(engine, clock.now)
    collect_due(engine, Gateway([cloud(clock, NICS[:3])]), clock.now, tmp_path)
    with engine.connect() as connection:
        found = {(row.outcome, row.error_message) for row in connection.execute(sa.select(event_outcomes))}
    assert found == {("D1ER", "the device was never dispatched")}


def test_after_the_event_each_device_has_one_outcome_sent_in_messages_of_at_most_1000(
        engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(collect, "PER_MESSAGE", 8)
    seed(engine, NICS)
    clock = Clock(START - timedelta(minutes=1))
    gateway = Gateway([cloud(clock, NICS, response_rate=0.7, override_rate=0.3, seed=3)])
    run_event(engine, clock, gateway, tmp_path)
    with engine.connect() as connection:
        found = connection.execute(sa.select(event_outcomes)).all()
        queued = connection.execute(sa.select(outbound_messages).where(outbound_messages.c.kind == "event-outcomes")
                                    .order_by(outbound_messages.c.id)).all()
        performance = connection.execute(sa.select(stage_performance)).all()
    assert len(found) == len(NICS)
    assert {row.outcome for row in found} == {"D1SP", "D1ND", "D1IO"}
    bodies = [json.loads(row.payload) for row in queued]
    assert [len(body["postOutcomeList"]) for body in bodies] == [8, 8, 8, 6]
    assert [body["messageId"] for body in bodies] == [f"{EVENT}-O{n}" for n in range(1, 5)]
    record = bodies[0]["postOutcomeList"][0]
    assert set(record) == {"eventExternalIdentifier", "headEndSystem", "nicId", "outcome",
                           "participationStartDateTime", "participationEndDateTime", "errorMessage"}
    assert record["eventExternalIdentifier"] == EVENT
    successful = next(r for b in bodies for r in b["postOutcomeList"] if r["outcome"] == "D1SP")
    assert successful["participationStartDateTime"].endswith(".000Z")
    assert {(p.stage_id, p.feeder_id) for p in performance} == {
        (f"{EVENT}-{n}", feeder) for n in (1, 2, 3) for feeder in ("F-1", "F-2")}
    assert all(p.delivered_kw > 0 for p in performance)
    assert collect_due(engine, gateway, clock.now + timedelta(minutes=5), tmp_path) == 0, "worked out once"


def test_the_performance_shows_each_stage_per_feeder_and_the_outcomes(engine: Engine, tmp_path: Path) -> None:
    seed(engine, NICS)
    clock = Clock(START - timedelta(minutes=1))
    before = queries.performance(engine, EVENT)
    assert (before["reservedKw"], before["outcomesCollected"]) == (30.0, False)
    assert {stage["dispatch"] for stage in before["stages"]} == {"NOT_YET"}
    run_event(engine, clock, Gateway([cloud(clock, NICS, response_rate=1.0, override_rate=0.0,
                                            offline_rate=0.0)]), tmp_path)
    after = queries.performance(engine, EVENT)
    assert after["outcomes"] == {"D1SP": 30} and after["outcomesCollected"]
    sustain = after["stages"][1]
    assert (sustain["name"], sustain["dispatch"], sustain["targetKw"], sustain["reservedKw"],
            sustain["dispatchedKw"]) == ("SUSTAIN", "SENT", 20.0, 30.0, 30.0)
    assert 15.0 < sustain["deliveredKw"] <= 30.0, "a hot afternoon's thermostats shed most of what is asked"
    assert [(f["feederId"], f["devices"]) for f in sustain["byFeeder"]] == [("F-1", 15), ("F-2", 15)]


def test_more_outcomes_than_the_messages_hold_go_as_one_file(engine: Engine, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(collect, "PER_MESSAGE", 4)
    monkeypatch.setattr(collect, "MAX_MESSAGES", 2)
    seed(engine, NICS)
    clock = Clock(START - timedelta(minutes=1))
    run_event(engine, clock, Gateway([cloud(clock, NICS)]), tmp_path)
    with engine.connect() as connection:
        [file] = connection.execute(sa.select(outbound_files).where(outbound_files.c.kind == "event-outcome-file"))
        messages = connection.execute(sa.select(outbound_messages)
                                      .where(outbound_messages.c.kind == "event-outcomes")).all()
    assert not messages
    assert file.path == f"/hub/files/from-derms/eventOutcomes?fileId={EVENT}-OUTCOMES"
    lines = Path(json.loads(file.payload)["file"]).read_text().splitlines()
    assert lines[0].split(",") == ["eventExternalIdentifier", "headEndSystem", "nicId", "outcome",
                                   "participationStartDateTime", "participationEndDateTime", "errorMessage"]
    assert len(lines) == len(NICS) + 1


class Unreachable(SimulatedCloud):
    """A cloud that took the dispatches but whose telemetry cannot be read."""

    reachable = True

    def telemetry(self, nic_ids: list[str], start: datetime, end: datetime) -> pl.DataFrame:
        if not self.reachable:
            raise HeadEndUnavailable("HTTP 503")
        return super().telemetry(nic_ids, start, end)


def test_outcomes_wait_for_the_head_ends_reporting_lag(engine: Engine, tmp_path: Path) -> None:
    seed(engine, NICS[:3])
    clock = Clock(START - timedelta(minutes=1))
    lagging = cloud(clock, NICS[:3], reporting_lag_s=600)
    run_event(engine, clock, Gateway([lagging]), tmp_path)  # a minute after the end
    with engine.connect() as connection:
        assert not connection.execute(sa.select(event_outcomes)).all()
    assert collect_due(engine, Gateway([lagging]), START + timedelta(hours=2, minutes=10), tmp_path) == 1


def test_a_head_end_whose_telemetry_cannot_be_read_holds_the_outcomes_back_then_they_are_errors(
        engine: Engine, tmp_path: Path) -> None:
    seed(engine, NICS[:3])
    clock = Clock(START - timedelta(minutes=1))
    flaky = cloud(clock, NICS[:3], Unreachable)
    flaky.reachable = False  # type: ignore[attr-defined]
    run_event(engine, clock, Gateway([flaky]), tmp_path)
    end = START + timedelta(hours=2)
    assert collect_due(engine, Gateway([flaky]), end + timedelta(minutes=30), tmp_path) == 0, "asked again later"
    assert collect_due(engine, Gateway([flaky]), end + timedelta(hours=1), tmp_path) == 1
    with engine.connect() as connection:
        found = {(row.outcome, row.error_message) for row in connection.execute(sa.select(event_outcomes))}
    assert found == {("D1ER", "no telemetry: ECOCLOUD unavailable: HTTP 503")}


def test_events_started_before_dispatch_existed_are_left_as_they_were(database_url: str, tmp_path: Path) -> None:
    db = make_engine(database_url)
    try:
        with _alembic_lock:
            command.upgrade(alembic_config("derms", db), "0011")
        seed(db, NICS[:3])
        set_status(db, "COMPLETED")
        upgrade("derms", db)
        now = START + timedelta(days=1)
        assert plan_due(db, now) == 0
        assert collect_due(db, Gateway([cloud(Clock(now), NICS[:3])]), now, tmp_path) == 0
        with db.connect() as connection:
            assert {row.status for row in connection.execute(sa.select(stage_dispatches))} == {"MISSED"}
            assert not connection.execute(sa.select(event_outcomes)).all()
            assert not connection.execute(sa.select(outbound_messages)).all()
    finally:
        db.dispose()


def cancel_in_progress(engine: Engine, at: datetime) -> None:
    """An operator cancels the event while it runs: its dispatch stops (in the cancellation's transaction)."""
    event_store.cancel(engine, EVENT, "feeder fault", "op", at, "DERMS-1", on_stop=stop)


def test_an_event_cancelled_in_progress_stops_its_head_ends_and_every_device_is_cancelled(
        engine: Engine, tmp_path: Path) -> None:
    seed(engine, NICS)
    clock = Clock(START - timedelta(minutes=1))
    simulated = cloud(clock, NICS, response_rate=1.0, override_rate=0.0, offline_rate=0.0)
    gateway = Gateway([simulated])
    set_status(engine, "IN_PROGRESS")
    for minutes in (0, 15):
        clock.now = START + timedelta(minutes=minutes, seconds=5)
        plan_due(engine, clock.now)
        send_pending(engine, gateway, clock.now)
    cancelled_at = START + timedelta(minutes=45)
    clock.now = cancelled_at
    cancel_in_progress(engine, cancelled_at)
    assert collect_due(engine, gateway, cancelled_at + timedelta(minutes=5), tmp_path) == 0, "the stop comes first"
    assert end_stopped(engine, gateway, cancelled_at) == 1
    assert plan_due(engine, START + timedelta(minutes=106)) == 0, "no stage of a cancelled event is dispatched"
    with engine.connect() as connection:
        dispatches = dict(connection.execute(sa.select(stage_dispatches.c.stage_id, stage_dispatches.c.status)).all())
    assert dispatches == {f"{EVENT}-1": "SENT", f"{EVENT}-2": "STOPPED", f"{EVENT}-3": "MISSED"}

    clock.now = START + timedelta(hours=2)
    after = simulated.telemetry(NICS, cancelled_at + timedelta(minutes=15), START + timedelta(hours=2))
    assert after.height and set(after["state"]) == {"NORMAL"}, "the devices went back to normal at the stop"
    assert collect_due(engine, gateway, clock.now, tmp_path) == 1
    with engine.connect() as connection:
        found = connection.execute(sa.select(event_outcomes)).all()
    assert {row.outcome for row in found} == {"D1CN"} and len(found) == len(NICS)
    assert all(row.start_at is not None and as_utc(row.end_at) <= cancelled_at for row in found)
    assert {row.error_message for row in found} == {"the event was cancelled in progress"}


def test_a_stage_being_sent_as_the_event_is_cancelled_is_stopped_too(engine: Engine, tmp_path: Path) -> None:
    seed(engine, NICS[:3])
    clock = Clock(START + timedelta(seconds=5))
    gateway = Gateway([cloud(clock, NICS[:3])])
    set_status(engine, "IN_PROGRESS")
    plan_due(engine, clock.now)
    cancel_in_progress(engine, START + timedelta(minutes=1))
    assert send_pending(engine, gateway, clock.now) == 0, "its order is not sent once the event is cancelled"
    assert end_stopped(engine, gateway, START + timedelta(minutes=1)) == 1
    assert collect_due(engine, gateway, START + timedelta(minutes=20), tmp_path) == 1
    with engine.connect() as connection:
        found = connection.execute(sa.select(event_outcomes.c.outcome, event_outcomes.c.start_at)).all()
    assert sorted(found) == [("D1CN", None)] * 3


class NoStop(SimulatedCloud):
    """A cloud that took the dispatches but cannot be told to end them."""

    reachable = False

    def end_dispatch(self, event_id: str, at: datetime) -> None:
        if not self.reachable:
            raise HeadEndUnavailable("HTTP 503")
        super().end_dispatch(event_id, at)


def test_a_head_end_that_cannot_be_told_to_stop_is_told_later_and_the_outcomes_wait_for_it(
        engine: Engine, tmp_path: Path) -> None:
    seed(engine, NICS[:3])
    clock = Clock(START + timedelta(seconds=5))
    unreachable = cloud(clock, NICS[:3], NoStop)
    gateway = Gateway([unreachable])
    set_status(engine, "IN_PROGRESS")
    plan_due(engine, clock.now)
    send_pending(engine, gateway, clock.now)
    cancelled_at = START + timedelta(minutes=10)
    cancel_in_progress(engine, cancelled_at)
    assert end_stopped(engine, gateway, cancelled_at + timedelta(minutes=1)) == 0
    assert collect_due(engine, gateway, cancelled_at + timedelta(minutes=30), tmp_path) == 0, "waits for the stop"
    unreachable.reachable = True  # type: ignore[attr-defined]
    assert end_stopped(engine, gateway, cancelled_at + timedelta(minutes=31)) == 1
    assert collect_due(engine, gateway, cancelled_at + timedelta(minutes=32), tmp_path) == 1


def test_a_stop_no_head_end_takes_is_given_up_after_an_hour(engine: Engine, tmp_path: Path) -> None:
    seed(engine, NICS[:3])
    clock = Clock(START + timedelta(seconds=5))
    unreachable = cloud(clock, NICS[:3], NoStop)
    set_status(engine, "IN_PROGRESS")
    plan_due(engine, clock.now)
    send_pending(engine, Gateway([unreachable]), clock.now)
    cancelled_at = START + timedelta(minutes=10)
    cancel_in_progress(engine, cancelled_at)
    assert end_stopped(engine, Gateway([unreachable]), cancelled_at + timedelta(minutes=59)) == 0
    assert end_stopped(engine, Gateway([unreachable]), cancelled_at + timedelta(hours=1)) == 1


def test_a_stop_mid_quarter_keeps_that_quarter_and_frees_the_devices_for_later_events(
        engine: Engine, tmp_path: Path) -> None:
    """The quarter hour holding the cancellation is read (the devices curtailed in it); the participation ends at
    the cancellation, in the outcomes and in DERMS's own record, which later reservations go by."""
    seed(engine, NICS[:4])
    with engine.begin() as connection:
        connection.execute(sa.insert(event_participations), [
            {"event_id": EVENT, "head_end_system": "ECOCLOUD", "nic_id": nic, "start_at": START,
             "end_at": START + timedelta(hours=2), "customer_override": False, "recorded_at": START}
            for nic in NICS[:4]])
    clock = Clock(START + timedelta(seconds=5))
    gateway = Gateway([cloud(clock, NICS[:4], response_rate=1.0, override_rate=0.0, offline_rate=0.0)])
    set_status(engine, "IN_PROGRESS")
    plan_due(engine, clock.now)
    send_pending(engine, gateway, clock.now)
    cancelled_at = START + timedelta(minutes=10)
    cancel_in_progress(engine, cancelled_at)
    end_stopped(engine, gateway, cancelled_at)
    assert collect_due(engine, gateway, cancelled_at + timedelta(minutes=3), tmp_path) == 0, "its quarter not over"
    clock.now = START + timedelta(minutes=16)
    assert collect_due(engine, gateway, clock.now, tmp_path) == 1
    with engine.connect() as connection:
        found = {(row.outcome, as_utc(row.start_at), as_utc(row.end_at))
                 for row in connection.execute(sa.select(event_outcomes))}
        ramp_up = connection.execute(sa.select(stage_performance.c.delivered_kw)
                                     .where(stage_performance.c.stage_id == f"{EVENT}-1")).scalars().all()
        ends = set(connection.execute(sa.select(event_participations.c.end_at)).scalars())
    assert found == {("D1CN", START, cancelled_at)}
    assert ramp_up and sum(ramp_up) > 0, "the stage's quarter hour before the stop counted"
    assert {as_utc(end) for end in ends} == {cancelled_at}


class CancelledWhileAsked(Gateway):
    """A gateway during whose dispatch the operator cancels the event."""

    def __init__(self, engine: Engine, clouds: list[SimulatedCloud], at: datetime) -> None:
        super().__init__(clouds)
        self.engine, self.at = engine, at

    def dispatch(self, order: DispatchOrder, devices: pl.DataFrame) -> pl.DataFrame:
        cancel_in_progress(self.engine, self.at)
        return super().dispatch(order, devices)


def test_the_answers_of_an_order_sent_as_the_event_is_cancelled_are_kept_and_the_order_ended(
        engine: Engine, tmp_path: Path) -> None:
    seed(engine, NICS[:3])
    clock = Clock(START + timedelta(seconds=5))
    simulated = cloud(clock, NICS[:3], response_rate=1.0, override_rate=0.0, offline_rate=0.0)
    set_status(engine, "IN_PROGRESS")
    plan_due(engine, clock.now)
    cancelled_at = START + timedelta(minutes=20)
    assert send_pending(engine, CancelledWhileAsked(engine, [simulated], cancelled_at), clock.now) == 1
    with engine.connect() as connection:
        [stage] = connection.execute(sa.select(stage_dispatches).where(
            stage_dispatches.c.stage_id == f"{EVENT}-1")).all()
        answered = connection.execute(sa.select(sa.func.count()).select_from(dispatch_devices)).scalar_one()
    assert (stage.status, stage.accepted, answered) == ("STOPPING", 3, 3)
    assert end_stopped(engine, Gateway([simulated]), cancelled_at) == 1
    clock.now = START + timedelta(hours=2)
    reported = simulated.telemetry(NICS[:3], START, START + timedelta(hours=2))
    assert set(reported.filter(pl.col("interval_start") >= cancelled_at)["state"]) == {"NORMAL"}
