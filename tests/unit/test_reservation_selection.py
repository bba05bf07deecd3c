"""The reservation engine's choice over a frame of candidates: properties over random fleets (no device chosen
breaks a rule, is declared unavailable, opted out or not eligible; no transformer or feeder carries more than
its headroom; the same seed gives the same choice whatever the order of the rows), the ranking, and rotation
over a season of events."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from derbridge.derms.availability.engine import DeviceHistory, EventWindow, fleet_availability, fleet_frames
from derbridge.derms.availability.rule_set import ProgramRules
from derbridge.derms.reservations.selection import (
    FLAGS,
    RESERVED,
    STANDBY,
    Headroom,
    select,
)
from tests.unit.test_availability import local_clock_is_steady, restated_violations, scenarios

TRANSFORMER_FEEDER = {"T-0": "F-0", "T-1": "F-0", "T-2": "F-1"}


def candidates(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """A candidate frame; each row gives what differs from a device nothing rules out."""
    base = {"head_end_system": "H", "transformer_id": "T-0", "feeder_id": "F-0", "substation_id": "S-0",
            "expected_kw": 1.0, "last_called": None, "reasons": [], **dict.fromkeys(FLAGS, False)}
    return pl.DataFrame([{**base, **row} for row in rows], schema_overrides={
        "reasons": pl.List(pl.String), "last_called": pl.Date, "expected_kw": pl.Float64})


@st.composite
def reservation_cases(draw: st.DrawFn) -> dict[str, Any]:
    rules, window, fleet = draw(scenarios())
    assume(local_clock_is_steady(window))
    per_device = [{
        "transformer_id": draw(st.sampled_from(list(TRANSFORMER_FEEDER))),
        "expected_kw": draw(st.sampled_from([0.0, 0.4, 1.2, 2.5]) | st.floats(0.01, 5.0)),
        "not_eligible": draw(st.booleans()) and draw(st.booleans()),
        "opted_out": draw(st.booleans()) and draw(st.booleans()),
        "last_called": draw(st.none() | st.dates(date(2026, 6, 1), date(2026, 7, 10))),
    } for _ in fleet]
    limits = st.none() | st.floats(0.0, 8.0)
    return {"rules": rules, "window": window, "fleet": fleet, "per_device": per_device,
            "transformers": {t: draw(limits) for t in TRANSFORMER_FEEDER},
            "feeders": {f: draw(limits) for f in set(TRANSFORMER_FEEDER.values())},
            "target": draw(st.floats(0.0, 20.0)), "seed": draw(st.integers(0, 2**32 - 1)),
            "standby_share": draw(st.sampled_from([0.0, 0.2, 1.0]))}


def judged_candidates(case: dict[str, Any]) -> pl.DataFrame:
    """The availability engine's verdict on each device, with the case's other facts, as the engine takes it."""
    judged = fleet_availability(*fleet_frames(case["fleet"]), case["rules"], case["window"])
    return candidates([
        {"nic_id": device.device_id, "reasons": reasons, **extra,
         "feeder_id": TRANSFORMER_FEEDER[extra["transformer_id"]]}
        for device, reasons, extra in zip(case["fleet"], judged["reasons"].to_list(), case["per_device"],
                                          strict=True)])


def headroom_of(case: dict[str, Any]) -> Headroom:
    def frame(limits: dict[str, float | None], key: str) -> pl.DataFrame:
        given_limits = {name: kw for name, kw in limits.items() if kw is not None}
        return pl.DataFrame({key: list(given_limits), "headroom_kw": list(given_limits.values())},
                            schema={key: pl.String, "headroom_kw": pl.Float64})

    return Headroom(frame(case["transformers"], "transformer_id"), frame(case["feeders"], "feeder_id"))


PROPERTIES = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                              HealthCheck.filter_too_much])


@PROPERTIES
@given(reservation_cases())
def test_no_device_chosen_breaks_a_rule_or_a_window_or_an_opt_out_or_the_headroom(case: dict[str, Any]) -> None:
    rules: ProgramRules = case["rules"]
    window: EventWindow = case["window"]
    chosen = select(judged_candidates(case), headroom_of(case), case["target"], case["seed"], case["standby_share"])
    by_nic: dict[str, DeviceHistory] = {device.device_id: device for device in case["fleet"]}
    facts = dict(zip(by_nic, case["per_device"], strict=True))
    for row in chosen.devices.iter_rows(named=True):
        device = by_nic[row["nic_id"]]
        assert restated_violations(device, rules, window) == set(), "a chosen device breaks no rule"
        assert not any(start < window.end and window.start < end for start, end in device.unavailable)
        assert not facts[row["nic_id"]]["opted_out"] and not facts[row["nic_id"]]["not_eligible"]
        assert row["expected_kw"] > 0
    for key, limits in (("transformer_id", case["transformers"]), ("feeder_id", case["feeders"])):
        carried = chosen.devices.group_by(key).agg(pl.col("expected_kw").sum())
        for element, kw in carried.iter_rows():
            assert limits[element] is None or kw <= limits[element] + 1e-9, f"{element} carries {kw} kW"


@PROPERTIES
@given(reservation_cases(), st.randoms(use_true_random=False))
def test_the_same_seed_makes_the_same_choice_whatever_the_order_of_the_rows(case: dict[str, Any],
                                                                           shuffle: Any) -> None:
    frame = judged_candidates(case)
    order = list(range(frame.height))
    shuffle.shuffle(order)
    first = select(frame, headroom_of(case), case["target"], case["seed"], case["standby_share"])
    again = select(frame[order], headroom_of(case), case["target"], case["seed"], case["standby_share"])
    assert first.devices.equals(again.devices) and first.excluded == again.excluded


@PROPERTIES
@given(reservation_cases())
def test_the_target_is_met_with_the_fewest_ranked_devices_or_every_fitting_one_is_reserved(
        case: dict[str, Any]) -> None:
    chosen = select(judged_candidates(case), headroom_of(case), case["target"], case["seed"], 1.0)
    reserved_kw = chosen.reserved["expected_kw"].to_list()
    if sum(reserved_kw) >= case["target"] and reserved_kw:
        assert sum(reserved_kw[:-1]) < case["target"], "without its last device the target would not be met"
    else:
        assert chosen.standby.is_empty(), "short of the target: nothing fitting is left on standby"


def test_never_called_first_then_longest_waiting_then_most_kw_then_the_seed() -> None:
    frame = candidates([
        {"nic_id": "recent", "last_called": date(2026, 7, 10), "expected_kw": 5.0},
        {"nic_id": "long-ago", "last_called": date(2026, 6, 1)},
        {"nic_id": "never-small", "expected_kw": 0.5},
        {"nic_id": "never-big", "expected_kw": 2.0},
    ])
    chosen = select(frame, Headroom.unlimited(), 100.0, 1, 0.0)
    assert chosen.devices["nic_id"].to_list() == ["never-big", "never-small", "long-ago", "recent"]


def test_ties_break_by_the_seed() -> None:
    frame = candidates([{"nic_id": f"N{n}"} for n in range(40)])
    orders = {tuple(select(frame, Headroom.unlimited(), 5.0, seed, 0.0).reserved["nic_id"]) for seed in range(5)}
    assert len(orders) > 1, "another seed, another choice among equals"
    assert select(frame, Headroom.unlimited(), 5.0, 3, 0.0).reserved.equals(
        select(frame, Headroom.unlimited(), 5.0, 3, 0.0).reserved)


def test_the_devices_beyond_the_target_are_a_standby_list_in_rank_order() -> None:
    frame = candidates([{"nic_id": f"N{n}", "expected_kw": float(10 - n)} for n in range(10)])
    chosen = select(frame, Headroom.unlimited(), 20.0, 1, 0.5)
    assert chosen.devices.select("nic_id", "role").rows() == [
        ("N0", RESERVED), ("N1", RESERVED), ("N2", RESERVED), ("N3", STANDBY), ("N4", STANDBY)]
    assert chosen.expected_kw == 27.0 and chosen.eligible == 10


def test_a_device_ruled_out_counts_under_every_constraint_it_breaks() -> None:
    frame = candidates([
        {"nic_id": "A", "reasons": ["LIFE_SUPPORT", "WEEKLY_CAP_REACHED"], "opted_out": True},
        {"nic_id": "B", "not_communicating": True},
        {"nic_id": "C", "expected_kw": 0.0},
        {"nic_id": "D"},
    ])
    chosen = select(frame, Headroom.unlimited(), 10.0, 1, 0.0)
    assert chosen.excluded == {"LIFE_SUPPORT": 1, "WEEKLY_CAP_REACHED": 1, "OPTED_OUT": 1, "NOT_COMMUNICATING": 1,
                               "NO_EXPECTED_KW": 1}
    assert chosen.devices["nic_id"].to_list() == ["D"]


@pytest.mark.parametrize(("fleet", "per_event", "events", "kw_spread"), [
    (100, 10, 30, 0.0), (90, 12, 45, 0.0), (100, 10, 30, 0.01), (90, 12, 45, 0.01)])
def test_rotation_spreads_calls_evenly_over_a_season(fleet: int, per_event: int, events: int,
                                                     kw_spread: float) -> None:
    """Events through a summer, each needing about `per_event` devices' worth: the devices waiting longest go
    first, so each device is called as often as the average, give or take one, whether devices are worth the
    same or up to 6 % apart (then the better ones go first among those called on the same day)."""
    kw = {f"N{n:03d}": 1.0 - (n % 7) * kw_spread for n in range(fleet)}
    last_called: dict[str, date] = {}
    calls: Counter[str] = Counter()
    day = date(2026, 6, 1)
    for number in range(events):
        frame = candidates([{"nic_id": nic, "expected_kw": value, "last_called": last_called.get(nic)}
                            for nic, value in kw.items()])
        chosen = select(frame, Headroom.unlimited(), per_event * 0.95, number, 0.2)
        for nic in chosen.reserved["nic_id"]:
            calls[nic] += 1
            last_called[nic] = day
        day += timedelta(days=2)
    assert set(calls) == set(kw), "every device was called"
    usual = round(sum(calls.values()) / fleet)
    assert all(abs(count - usual) <= 1 for count in calls.values()), sorted(Counter(calls.values()).items())
