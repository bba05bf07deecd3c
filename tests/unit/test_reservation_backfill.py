"""Dropping devices from a reservation and backfilling from its standby list (the pure choice): enough standby,
standby exhausted, a standby device no longer free, a drop of a device not reserved, headroom, several drops at
once."""

from __future__ import annotations

from typing import Any

import polars as pl

from derbridge.derms.reservations.backfill import choose
from derbridge.derms.reservations.selection import RESERVED, STANDBY, Headroom

NO_DROPS = pl.DataFrame(schema={"head_end_system": pl.String, "nic_id": pl.String, "cause": pl.String,
                                "source_id": pl.String})
NONE_BLOCKED = pl.DataFrame(schema={"head_end_system": pl.String, "nic_id": pl.String, "constraint": pl.String})


def reservation(reserved: int, standby: int, kw: float = 1.0, **per_device: dict[str, Any]) -> pl.DataFrame:
    """R1…Rn reserved, then S1…Sm on standby, ranked in that order, each `kw` on transformer T-0 of feeder F-0
    unless `per_device` (by NIC id) says otherwise."""
    names = [(f"R{n}", RESERVED) for n in range(1, reserved + 1)] + [(f"S{n}", STANDBY) for n in range(1, standby + 1)]
    rows = [{"head_end_system": "H", "nic_id": nic, "status": status, "rank": rank, "expected_kw": kw,
             "transformer_id": "T-0", "feeder_id": "F-0", **per_device.get(nic, {})}
            for rank, (nic, status) in enumerate(names, start=1)]
    return pl.DataFrame(rows, schema_overrides={"rank": pl.Int64, "expected_kw": pl.Float64})


def drops(*nics: str, cause: str = "OPTED_OUT") -> pl.DataFrame:
    return pl.DataFrame([{"head_end_system": "H", "nic_id": nic, "cause": cause, "source_id": "EV1"} for nic in nics],
                        schema=NO_DROPS.schema)


def blocked(**constraints: str) -> pl.DataFrame:
    return pl.DataFrame([{"head_end_system": "H", "nic_id": nic, "constraint": code}
                         for nic, code in constraints.items()], schema=NONE_BLOCKED.schema)


def nics(frame: pl.DataFrame) -> list[str]:
    return list(frame["nic_id"])


def test_a_dropped_device_is_replaced_by_the_first_standby_device() -> None:
    result = choose(reservation(3, 2), drops("R2"), NONE_BLOCKED, Headroom.unlimited(), target_kw=3.0)
    assert nics(result.dropped) == ["R2"] and list(result.dropped["status"]) == ["OPTED_OUT"]
    assert nics(result.added) == ["S1"] and set(result.added["status"]) == {RESERVED}
    assert (result.expected_kw, result.target_met, result.standby_left) == (3.0, True, 1)
    assert sorted(result.changes.rows()) == [("H", "R2", "RELEASED"), ("H", "S1", "RESERVED")]


def test_standby_devices_are_taken_in_rank_order_until_the_target_is_met_again() -> None:
    per_device = {"S1": {"expected_kw": 0.5}, "S2": {"expected_kw": 0.4}, "S3": {"expected_kw": 2.0}}
    result = choose(reservation(3, 4, **per_device), drops("R1", "R3"), NONE_BLOCKED, Headroom.unlimited(), 3.0)
    assert nics(result.added) == ["S1", "S2", "S3"], "0.5 + 0.4 fall short, S3 crosses the target and is taken"
    assert result.target_met and result.expected_kw == 3.9 and result.standby_left == 1


def test_several_drops_for_one_event_are_one_change() -> None:
    result = choose(reservation(4, 4), drops("R1", "R2", "R4"), NONE_BLOCKED, Headroom.unlimited(), 4.0)
    assert nics(result.dropped) == ["R1", "R2", "R4"] and nics(result.added) == ["S1", "S2", "S3"]
    assert result.changes.height == 6


def test_when_the_standby_list_runs_out_every_free_standby_device_is_taken_and_the_target_is_not_met() -> None:
    result = choose(reservation(3, 1), drops("R1", "R2"), NONE_BLOCKED, Headroom.unlimited(), 3.0)
    assert nics(result.added) == ["S1"]
    assert (result.expected_kw, result.target_met, result.standby_left) == (2.0, False, 0)


def test_a_standby_device_no_longer_free_is_passed_over_and_counted() -> None:
    result = choose(reservation(2, 3), drops("R1", cause="UNAVAILABLE_DECLARED"),
                    blocked(S1="UNAVAILABLE_DECLARED", S2="RESERVED_ELSEWHERE"), Headroom.unlimited(), 2.0)
    assert list(result.dropped["status"]) == ["RELEASED"], "a declared window releases; only an opt-out is one"
    assert nics(result.added) == ["S3"]
    assert result.skipped == {"UNAVAILABLE_DECLARED": 1, "RESERVED_ELSEWHERE": 1}


def test_a_drop_of_a_device_not_reserved_changes_nothing() -> None:
    result = choose(reservation(2, 2), drops("S1", "X9"), NONE_BLOCKED, Headroom.unlimited(), 2.0)
    assert result.dropped.is_empty() and result.added.is_empty() and result.changes.is_empty()
    assert nics(result.not_reserved) == ["S1", "X9"]
    assert result.expected_kw == 2.0 and result.target_met


def test_a_device_named_twice_is_dropped_once() -> None:
    twice = pl.concat([drops("R1"), drops("R1", cause="UNAVAILABLE_DECLARED")])
    result = choose(reservation(2, 2), twice, NONE_BLOCKED, Headroom.unlimited(), 2.0)
    assert result.dropped.rows(named=True) == [{"head_end_system": "H", "nic_id": "R1", "cause": "OPTED_OUT",
                                                "source_id": "EV1", "status": "OPTED_OUT"}]
    assert nics(result.added) == ["S1"]


def test_nothing_is_added_when_what_is_left_still_meets_the_target() -> None:
    result = choose(reservation(3, 2), drops("R3"), NONE_BLOCKED, Headroom.unlimited(), 2.0)
    assert nics(result.dropped) == ["R3"] and result.added.is_empty() and result.standby_left == 2


def test_a_standby_device_fits_only_within_what_the_devices_still_reserved_leave_of_its_transformer() -> None:
    per_device = {"R1": {"transformer_id": "T-1"}, "S1": {"transformer_id": "T-0", "expected_kw": 2.0},
                  "S2": {"transformer_id": "T-1", "expected_kw": 1.5}, "S3": {"transformer_id": "T-2"}}
    limits = Headroom(pl.DataFrame({"transformer_id": ["T-0", "T-1"], "headroom_kw": [2.5, 2.0]}),
                      pl.DataFrame(schema={"feeder_id": pl.String, "headroom_kw": pl.Float64}))
    # T-0 carries R2 (1 kW) after the drop of R1 from T-1: S1 (2 kW) does not fit T-0, S2 (1.5) fits T-1 again,
    # S3's transformer is not limited.
    result = choose(reservation(2, 3, **per_device), drops("R1"), NONE_BLOCKED, limits, 3.0)
    assert nics(result.added) == ["S2", "S3"] and result.expected_kw == 3.5
    assert result.skipped == {"TRANSFORMER_HEADROOM": 1}


def test_a_feeder_without_headroom_for_a_standby_device_passes_it_over() -> None:
    limits = Headroom(pl.DataFrame(schema={"transformer_id": pl.String, "headroom_kw": pl.Float64}),
                      pl.DataFrame({"feeder_id": ["F-0"], "headroom_kw": [2.0]}))
    per_device = {"S1": {"expected_kw": 1.5}, "S2": {"feeder_id": "F-1"}}
    # F-0 carries R2 (1 kW) after the drop: 1 kW left, too little for S1; S2 is on another feeder.
    result = choose(reservation(2, 2, **per_device), drops("R1"), NONE_BLOCKED, limits, 3.0)
    assert nics(result.added) == ["S2"]
    assert result.skipped == {"FEEDER_HEADROOM": 1} and not result.target_met
