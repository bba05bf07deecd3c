"""Simulated fleets answer dispatches and report telemetry: seeded, by device type, temperature and time of day,
with customers overriding and devices going off line; the same in-process and over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl

from derbridge.bootstrap import free_port
from derbridge.derms.headend.client import HttpHeadEnd
from derbridge.derms.headend.gateway import Gateway
from derbridge.derms.headend.model import (
    ACCEPTED,
    CURTAILED,
    ERROR,
    NORMAL,
    OFFLINE,
    OVERRIDDEN,
    REFUSED,
    DispatchOrder,
)
from derbridge.derms.headend.simulator import CloudProfile, FleetDevice, SimulatedCloud
from tests.unit.test_headend_http import ServedCloud, served  # noqa: F401  (the fixture)

START = datetime(2026, 7, 15, 20, 0, tzinfo=UTC)  # 15:00 in Chicago: the afternoon peak
ORDER = DispatchOrder("EV1", "EV1-1", START, START + timedelta(hours=2))
NICS = [f"N{n}" for n in range(200)]


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def fleet_cloud(clock: Clock, **profile: float) -> SimulatedCloud:
    cloud = SimulatedCloud(CloudProfile("ECOCLOUD", **profile), clock=clock)  # type: ignore[arg-type]
    for nic in NICS:
        cloud.add_device(FleetDevice(nic, f"S{nic}", "ECOTHERM", "ET300", "5.4.2", True, START - timedelta(hours=1)))
    return cloud


def asked(nics: list[str], kw: float = 1.0) -> pl.DataFrame:
    return pl.DataFrame({"nic_id": nics, "kw": [kw] * len(nics)})


def results(answers: pl.DataFrame) -> list[tuple[str, str]]:
    return list(answers.select("nic_id", "result").iter_rows())


def run_event(**profile: float) -> pl.DataFrame:
    clock = Clock(START - timedelta(minutes=1))
    cloud = fleet_cloud(clock, **profile)
    cloud.dispatch(ORDER, asked(NICS))
    clock.now = START + timedelta(hours=3)
    return cloud.telemetry(NICS, START - timedelta(hours=1), START + timedelta(hours=3))


def test_devices_on_line_accept_an_order_others_are_off_line_or_unknown_and_a_repeat_changes_nothing() -> None:
    clock = Clock(START - timedelta(minutes=1))
    cloud = fleet_cloud(clock)
    cloud.set_online("N1", False)
    answers = cloud.dispatch(ORDER, asked(["N0", "N1", "X9"]))
    assert results(answers) == [("N0", ACCEPTED), ("N1", OFFLINE), ("X9", REFUSED)]
    assert answers["message"].to_list() == ["", "the device is off line", "ECOCLOUD has no device X9"]
    cloud.set_online("N1", True)
    again = cloud.dispatch(ORDER, asked(["N1", "N0", "N7"], 2.0))
    assert results(again) == [("N1", OFFLINE), ("N0", ACCEPTED), ("N7", ACCEPTED)], "the stage id keys the order"


def test_the_same_seed_gives_the_same_telemetry_and_another_seed_other_figures() -> None:
    first, again, other = run_event(seed=1), run_event(seed=1), run_event(seed=2)
    assert first.equals(again)
    assert not first.equals(other)


def test_a_device_sheds_what_it_is_asked_only_during_the_event() -> None:
    telemetry = run_event(response_rate=1.0, override_rate=0.0, offline_rate=0.0)
    during = pl.col("interval_start").is_between(START, START + timedelta(hours=2), closed="left")
    assert set(telemetry.filter(during)["state"]) == {CURTAILED}
    assert set(telemetry.filter(~during)["state"]) == {NORMAL}
    assert telemetry.filter(during)["kw"].mean() < telemetry.filter(~during)["kw"].mean() - 0.8  # type: ignore[operator]


def test_response_overrides_and_devices_going_off_line_follow_their_rates() -> None:
    telemetry = run_event(response_rate=0.5, override_rate=0.5, offline_rate=0.25)
    during = telemetry.filter(pl.col("interval_start").is_between(START, START + timedelta(hours=2), closed="left"))
    responded = during.filter(pl.col("state") != NORMAL)["nic_id"].n_unique()
    overridden = during.filter(pl.col("state") == OVERRIDDEN)["nic_id"].n_unique()
    silent = len(NICS) - during.filter(pl.col("interval_start") == START + timedelta(minutes=105))["nic_id"].n_unique()
    assert 70 <= responded <= 130 and 25 <= overridden <= 75 and 25 <= silent <= 75


def test_a_thermostat_uses_more_on_a_hot_afternoon_than_on_a_cool_night() -> None:
    clock = Clock(START + timedelta(days=1))
    cloud = fleet_cloud(clock)
    telemetry = cloud.telemetry(NICS, START - timedelta(hours=12), START + timedelta(hours=1))
    afternoon = telemetry.filter(pl.col("interval_start") >= START)["kw"].mean()
    night = telemetry.filter(pl.col("interval_start").dt.hour() == 8)["kw"].mean()  # 03:00 in Chicago
    assert afternoon > 2 * night  # type: ignore[operator]


def test_device_types_differ_in_what_they_draw() -> None:
    clock = Clock(START + timedelta(hours=1))
    cloud = SimulatedCloud(CloudProfile("ECOCLOUD"), clock=clock)
    cloud.add_device(FleetDevice("EV", "S", "CHARGEPOINT", "X", "1", True, START, "EV-CHARGER"))
    cloud.add_device(FleetDevice("WH", "S", "AQUA", "Y", "1", True, START, "WATER-HEATER"))
    telemetry = cloud.telemetry(["EV", "WH"], START, START + timedelta(hours=1))
    means = dict(telemetry.group_by("nic_id").agg(pl.col("kw").mean()).iter_rows())
    assert means["EV"] > means["WH"]


def test_no_report_for_a_quarter_hour_that_has_not_ended() -> None:
    cloud = fleet_cloud(Clock(START + timedelta(minutes=40)))
    telemetry = cloud.telemetry(["N0"], START, START + timedelta(hours=2))
    assert telemetry["interval_start"].to_list() == [START, START + timedelta(minutes=15)]


def test_the_gateway_dispatches_per_head_end_and_answers_error_for_an_unknown_one() -> None:
    cloud = fleet_cloud(Clock(START - timedelta(minutes=1)))
    answers = Gateway([cloud]).dispatch(ORDER, pl.DataFrame({"head_end_system": ["ECOCLOUD", "NOWHERE"],
                                                             "nic_id": ["N0", "N0"], "kw": [1.0, 1.0]}))
    assert list(answers.select("head_end_system", "result").iter_rows()) == [("ECOCLOUD", ACCEPTED),
                                                                             ("NOWHERE", ERROR)]
    assert "unknown head-end system" in answers["message"][1]


def test_dispatch_and_telemetry_over_http_are_the_clouds_own(served: ServedCloud) -> None:  # noqa: F811
    head_end = served.head_end()
    order = DispatchOrder("EV1", "EV1-1", served.cloud._clock() - timedelta(hours=2),
                          served.cloud._clock() - timedelta(hours=1))
    answers = head_end.dispatch(order, asked(["ECO-1", "ECO-2", "ECO-404"]))
    assert answers.equals(served.cloud.dispatch(order, asked(["ECO-1", "ECO-2", "ECO-404"])))
    assert answers["result"].to_list() == [ACCEPTED, OFFLINE, REFUSED]
    start, end = order.start - timedelta(hours=1), order.end
    remote = head_end.telemetry(["ECO-1", "ECO-2"], start, end)
    local = served.cloud.telemetry(["ECO-1", "ECO-2"], start, end)
    assert remote.select("nic_id", "interval_start", "state").equals(local.select("nic_id", "interval_start", "state"))
    assert (remote["kw"] - local["kw"]).abs().max() < 1e-4  # type: ignore[operator]  (4 decimals on the wire)
    assert remote.height == 8 and set(remote["nic_id"]) == {"ECO-1"}
    head_end.close()


def test_a_cloud_forgets_orders_long_ended() -> None:
    clock = Clock(START - timedelta(minutes=1))
    cloud = fleet_cloud(clock)
    cloud.dispatch(ORDER, asked(["N0"]))
    clock.now = START + timedelta(days=9)
    cloud.dispatch(DispatchOrder("EV2", "EV2-1", clock.now, clock.now + timedelta(hours=1)), asked(["N0"]))
    assert cloud.statistics()["ordersDispatched"] == 1
    past = cloud.telemetry(["N0"], START, START + timedelta(hours=2))
    assert set(past["state"]) == {NORMAL}, "the forgotten event no longer shows in its telemetry"


def test_an_order_off_the_quarter_hours_covers_the_quarter_hours_starting_within_it() -> None:
    clock = Clock(START - timedelta(minutes=1))
    cloud = fleet_cloud(clock, response_rate=1.0, override_rate=0.0, offline_rate=0.0)
    cloud.dispatch(DispatchOrder("EV3", "EV3-2", START + timedelta(minutes=22), START + timedelta(minutes=67)),
                   asked(["N0"]))
    clock.now = START + timedelta(hours=2)
    states = dict(cloud.telemetry(["N0"], START, START + timedelta(hours=2)).select("interval_start", "state")
                  .iter_rows())
    assert [at.minute for at, state in sorted(states.items()) if state == CURTAILED] == [30, 45, 0]


def test_an_order_ended_early_curtails_no_quarter_hour_from_then_and_only_its_event() -> None:
    clock = Clock(START - timedelta(minutes=1))
    cloud = fleet_cloud(clock, response_rate=1.0, override_rate=0.0, offline_rate=0.0)
    cloud.dispatch(ORDER, asked(["N0"]))
    cloud.dispatch(DispatchOrder("EV2", "EV2-1", START, START + timedelta(hours=2)), asked(["N1"]))
    cloud.end_dispatch("EV1", START + timedelta(minutes=30))
    cloud.end_dispatch("EV1", START + timedelta(minutes=30))
    cloud.end_dispatch("EV1", START + timedelta(hours=3))  # never later than the order's own end
    clock.now = START + timedelta(hours=2)

    def curtailed(nic: str) -> list[int]:
        reported = cloud.telemetry([nic], START, START + timedelta(hours=2))
        return sorted(int((at - START).total_seconds()) // 60 for at, state in
                      reported.select("interval_start", "state").iter_rows() if state == CURTAILED)

    assert curtailed("N0") == [0, 15]
    assert curtailed("N1") == list(range(0, 120, 15)), "another event's order runs on"


def test_an_order_is_ended_over_http_as_in_the_cloud(served: ServedCloud) -> None:  # noqa: F811
    head_end = served.head_end()
    now = served.cloud._clock()
    order = DispatchOrder("EV9", "EV9-1", now - timedelta(hours=2), now - timedelta(hours=1))
    head_end.dispatch(order, asked(["ECO-1"]))
    head_end.end_dispatch("EV9", order.start + timedelta(minutes=15))
    states = head_end.telemetry(["ECO-1"], order.start, order.end).select("interval_start", "state").rows()
    assert [at for at, state in states if state != NORMAL] == [order.start]
    head_end.close()


def test_a_cloud_that_does_not_listen_is_an_error_for_each_device_dispatched() -> None:
    gone = HttpHeadEnd("ECOCLOUD", f"http://127.0.0.1:{free_port()}", "derms:secret", timeout_s=2.0)
    answers = Gateway([gone]).dispatch(ORDER, asked(["N0", "N1"]).with_columns(head_end_system=pl.lit("ECOCLOUD")))
    assert answers["result"].to_list() == [ERROR, ERROR]
    assert all(message.startswith("ECOCLOUD unavailable: ") for message in answers["message"])
    gone.close()
