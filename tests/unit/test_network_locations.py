"""Effective-dated network locations (F1): one observation at a time, any sequence of them, and whole
exports applied as set operations."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import date, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from derbridge.dacs.network.locations import (
    BulkChanges,
    Location,
    Observation,
    Record,
    apply_change,
    diff_export,
    location_on,
)

JAN_1, FEB_1, MAR_1, APR_1 = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1)
NORTH: Location = ("T-1", "F-1", "S-1")
SOUTH: Location = ("T-2", "F-2", "S-1")
EAST: Location = ("T-1", "F-3", "S-2")  # same transformer, moved to another feeder and substation


def seen(day: date, location: Location, service_point: str = "SP-1") -> Observation:
    return Observation(service_point, *location, effective_date=day)


def record(start: date, end: date | None, location: Location, service_point: str = "SP-1") -> Record:
    return Record(service_point, *location, effective_start=start, effective_end=end)


def apply_all(observations: list[Observation], history: list[Record] | None = None) -> list[Record]:
    history = history or []
    for observation in observations:
        history = apply_change(history, observation)
    return history


# ---- one observation at a time ----

def test_the_first_observation_opens_a_record() -> None:
    assert apply_change([], seen(FEB_1, NORTH)) == [record(FEB_1, None, NORTH)]


def test_an_observation_that_changes_nothing_leaves_the_history_as_it_is() -> None:
    history = [record(FEB_1, None, NORTH)]
    assert apply_change(history, seen(FEB_1, NORTH)) is history
    assert apply_change(history, seen(MAR_1, NORTH)) is history


def test_a_change_ends_the_open_record_and_opens_a_new_one_on_its_date() -> None:
    history = apply_all([seen(FEB_1, NORTH), seen(MAR_1, SOUTH)])
    assert history == [record(FEB_1, MAR_1, NORTH), record(MAR_1, None, SOUTH)]


def test_a_change_of_feeder_and_substation_alone_is_a_change() -> None:
    assert apply_all([seen(FEB_1, NORTH), seen(MAR_1, EAST)]) == [record(FEB_1, MAR_1, NORTH),
                                                                   record(MAR_1, None, EAST)]


def test_a_second_observation_on_the_same_day_corrects_the_first() -> None:
    assert apply_all([seen(FEB_1, NORTH), seen(FEB_1, SOUTH)]) == [record(FEB_1, None, SOUTH)]


def test_a_correction_back_to_the_previous_location_merges_the_records() -> None:
    history = apply_all([seen(FEB_1, NORTH), seen(MAR_1, SOUTH), seen(MAR_1, NORTH)])
    assert history == [record(FEB_1, None, NORTH)]


def test_a_back_dated_change_splits_the_record_it_falls_in_and_keeps_later_ones() -> None:
    history = apply_all([seen(JAN_1, NORTH), seen(MAR_1, SOUTH), seen(FEB_1, EAST)])
    assert history == [record(JAN_1, FEB_1, NORTH), record(FEB_1, MAR_1, EAST), record(MAR_1, None, SOUTH)]


def test_a_back_dated_change_to_the_next_records_location_merges_into_it() -> None:
    history = apply_all([seen(JAN_1, NORTH), seen(MAR_1, SOUTH), seen(FEB_1, SOUTH)])
    assert history == [record(JAN_1, FEB_1, NORTH), record(FEB_1, None, SOUTH)]


def test_a_back_dated_observation_of_the_recorded_location_changes_nothing() -> None:
    history = apply_all([seen(JAN_1, NORTH), seen(MAR_1, SOUTH)])
    assert apply_change(history, seen(FEB_1, NORTH)) is history


def test_an_observation_before_the_first_record_adds_one_up_to_it() -> None:
    history = apply_all([seen(MAR_1, NORTH), seen(JAN_1, SOUTH)])
    assert history == [record(JAN_1, MAR_1, SOUTH), record(MAR_1, None, NORTH)]


def test_an_earlier_observation_of_the_same_location_moves_the_first_start_back() -> None:
    assert apply_all([seen(MAR_1, NORTH), seen(JAN_1, NORTH)]) == [record(JAN_1, None, NORTH)]


def test_location_on_a_day_is_the_record_covering_it() -> None:
    history = apply_all([seen(FEB_1, NORTH), seen(MAR_1, SOUTH)])
    assert location_on(history, JAN_1) is None
    assert location_on(history, FEB_1) == record(FEB_1, MAR_1, NORTH)
    assert location_on(history, MAR_1 - timedelta(days=1)) == record(FEB_1, MAR_1, NORTH)
    assert location_on(history, MAR_1) == record(MAR_1, None, SOUTH)
    assert location_on(history, date(2099, 1, 1)) == record(MAR_1, None, SOUTH)
    assert location_on([], FEB_1) is None


@pytest.mark.parametrize(("history", "message"), [
    ([record(FEB_1, None, NORTH, service_point="SP-2")], "other than SP-1"),
    ([record(JAN_1, FEB_1, NORTH), record(MAR_1, None, SOUTH)], "not contiguous"),
    ([record(JAN_1, FEB_1, NORTH)], "not open"),
])
def test_a_history_that_breaks_the_rules_is_refused(history: list[Record], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        apply_change(history, seen(APR_1, EAST))


# ---- any sequence of observations ----

LOCATIONS = [NORTH, SOUTH, EAST, ("T-3", "F-1", "S-1")]
DAYS = 40
days = st.integers(0, DAYS - 1).map(lambda n: JAN_1 + timedelta(days=n))
observations = st.builds(seen, days, st.sampled_from(LOCATIONS))
sequences = st.lists(observations, max_size=25)


def assert_well_formed(history: list[Record]) -> None:
    """Ordered, no overlap, no gap, no two neighbours alike, the last one open."""
    for earlier, later in zip(history, history[1:], strict=False):
        assert earlier.effective_end == later.effective_start
        assert earlier.location != later.location
    for item in history[:-1]:
        assert item.effective_end is not None and item.effective_start < item.effective_end
    if history:
        assert history[-1].effective_end is None


def every_day() -> list[date]:
    return [JAN_1 + timedelta(days=n) for n in range(-1, DAYS + 1)]


def located(history: list[Record], day: date) -> Location | None:
    found = location_on(history, day)
    return None if found is None else found.location


@given(sequences)
def test_any_sequence_leaves_ordered_contiguous_records_ending_in_an_open_one(
        sequence: list[Observation]) -> None:
    history = apply_all(sequence)
    assert_well_formed(history)
    assert bool(history) == bool(sequence)
    if sequence:
        assert history[0].effective_start == min(o.effective_date for o in sequence)


def date_ordered(sequence: list[Observation]) -> list[Observation]:
    """How exports normally arrive; the sort is stable, so same-day observations keep their order."""
    return sorted(sequence, key=lambda o: o.effective_date)


@given(sequences)
def test_in_date_order_each_day_has_the_latest_observation_effective_on_it(
        sequence: list[Observation]) -> None:
    in_date_order = date_ordered(sequence)
    history = apply_all(in_date_order)
    for day in every_day():
        effective = [o for o in in_date_order if o.effective_date <= day]
        assert located(history, day) == (effective[-1].location if effective else None)


@given(sequences)
def test_in_any_order_a_change_lasts_from_its_date_until_the_next_recorded_change(
        sequence: list[Observation]) -> None:
    """A day-by-day model: an observation that differs from its day's location repaints that day and the
    following days that had the same location (the rest of that record)."""
    model: dict[date, Location | None] = dict.fromkeys(every_day())
    history: list[Record] = []
    for observation in sequence:
        day, before = observation.effective_date, model[observation.effective_date]
        while day in model and model[day] == before and before != observation.location:
            model[day] = observation.location
            day += timedelta(days=1)
        history = apply_change(history, observation)
        assert {day: located(history, day) for day in model} == model


@given(sequences)
def test_in_date_order_applying_the_same_sequence_twice_changes_nothing(sequence: list[Observation]) -> None:
    in_date_order = date_ordered(sequence)
    once = apply_all(in_date_order)
    assert apply_all(in_date_order, once) == once


@given(sequences, observations)
def test_in_any_order_the_same_observation_twice_changes_nothing_the_second_time(
        sequence: list[Observation], observation: Observation) -> None:
    after = apply_change(apply_all(sequence), observation)
    assert apply_change(after, observation) is after


def test_out_of_order_a_confirmation_that_changed_nothing_is_not_remembered() -> None:
    """The limit of keeping only changes: NORTH confirmed on March 1 left no trace, so a later-arriving
    change dated February 1 runs on past March 1; replaying the three observations would then bring the
    March 1 confirmation back. Exports arriving in date order never meet this."""
    history = apply_all([seen(JAN_1, NORTH), seen(MAR_1, NORTH), seen(FEB_1, SOUTH)])
    assert history == [record(JAN_1, FEB_1, NORTH), record(FEB_1, None, SOUTH)]


# ---- whole exports ----

EXPORT_SCHEMA = {"service_point_id": pl.String, "transformer_id": pl.String, "feeder_id": pl.String,
                 "substation_id": pl.String, "effective_date": pl.Date}
OPEN_SCHEMA = {"service_point_id": pl.String, "transformer_id": pl.String, "feeder_id": pl.String,
               "substation_id": pl.String, "effective_start": pl.Date}


def export_frame(rows: list[Observation]) -> pl.DataFrame:
    return pl.DataFrame([(o.service_point_id, *o.location, o.effective_date) for o in rows],
                        schema=EXPORT_SCHEMA, orient="row")


def open_frame(histories: dict[str, list[Record]]) -> pl.DataFrame:
    return pl.DataFrame([(sp, *h[-1].location, h[-1].effective_start) for sp, h in histories.items() if h],
                        schema=OPEN_SCHEMA, orient="row")


def apply_bulk(histories: dict[str, list[Record]], changes: BulkChanges) -> dict[str, list[Record]]:
    """What the integration does with the changes: close, insert, then the rest one by one."""
    result = {sp: list(history) for sp, history in histories.items()}
    for row in changes.to_close.iter_rows(named=True):
        open_record = result[row["service_point_id"]][-1]
        assert open_record.effective_start == row["effective_start"] and open_record.effective_end is None
        result[row["service_point_id"]][-1] = replace(open_record, effective_end=row["effective_end"])
    for row in changes.to_insert.iter_rows(named=True):
        result.setdefault(row["service_point_id"], []).append(Record(**row))
    for row in changes.needs_history.iter_rows(named=True):
        observation = Observation(**row)
        result[observation.service_point_id] = apply_change(result.get(observation.service_point_id, []),
                                                            observation)
    return result


SERVICE_POINTS = [f"SP-{n}" for n in range(6)]
located_observations = st.builds(seen, days, st.sampled_from(LOCATIONS), st.sampled_from(SERVICE_POINTS))


def by_service_point(rows: list[Observation], start: dict[str, list[Record]]) -> dict[str, list[Record]]:
    result: dict[str, list[Record]] = defaultdict(list, {sp: list(h) for sp, h in start.items()})
    for row in rows:
        result[row.service_point_id] = apply_change(result[row.service_point_id], row)
    return {sp: h for sp, h in result.items() if h}


@settings(max_examples=300, deadline=None)
@given(st.lists(located_observations, max_size=30), st.lists(located_observations, max_size=12))
def test_a_whole_export_gives_what_applying_its_rows_one_by_one_gives(
        earlier: list[Observation], export: list[Observation]) -> None:
    histories = by_service_point(earlier, {})
    changes = diff_export(export_frame(export), open_frame(histories))
    assert apply_bulk(histories, changes) == by_service_point(export, histories)


def test_a_first_full_export_inserts_every_service_point() -> None:
    export = [seen(FEB_1, NORTH, "SP-1"), seen(FEB_1, SOUTH, "SP-2")]
    changes = diff_export(export_frame(export), open_frame({}))
    assert changes.to_close.height == 0 and changes.needs_history.height == 0
    assert [Record(**row) for row in changes.to_insert.iter_rows(named=True)] == [
        record(FEB_1, None, NORTH, "SP-1"), record(FEB_1, None, SOUTH, "SP-2")]


def test_a_repeated_export_changes_nothing_and_a_later_one_closes_and_opens() -> None:
    histories = {"SP-1": [record(FEB_1, None, NORTH, "SP-1")], "SP-2": [record(FEB_1, None, SOUTH, "SP-2")]}
    repeated = export_frame([seen(MAR_1, NORTH, "SP-1"), seen(FEB_1, SOUTH, "SP-2")])
    same = diff_export(repeated, open_frame(histories))
    assert (same.to_close.height, same.to_insert.height, same.needs_history.height) == (0, 0, 0)
    moved = diff_export(export_frame([seen(MAR_1, EAST, "SP-1")]), open_frame(histories))
    assert moved.to_close.rows() == [("SP-1", FEB_1, MAR_1)]
    inserted = [Record(**row) for row in moved.to_insert.iter_rows(named=True)]
    assert inserted == [record(MAR_1, None, EAST, "SP-1")]


def test_rows_the_open_record_cannot_decide_are_left_for_the_full_history() -> None:
    histories = {"SP-1": [record(FEB_1, None, NORTH, "SP-1")], "SP-2": [record(FEB_1, None, NORTH, "SP-2")],
                 "SP-3": [record(FEB_1, None, NORTH, "SP-3")]}
    export = [seen(JAN_1, NORTH, "SP-1"),   # back-dated
              seen(FEB_1, SOUTH, "SP-2"),   # corrects the open record on its own start
              seen(MAR_1, SOUTH, "SP-3"), seen(APR_1, EAST, "SP-3")]  # listed twice
    changes = diff_export(export_frame(export), open_frame(histories))
    assert changes.needs_history.equals(export_frame(export))
    assert (changes.to_close.height, changes.to_insert.height) == (0, 0)


def test_an_export_must_have_every_column_and_no_nulls_and_one_open_record_per_service_point() -> None:
    export = export_frame([seen(MAR_1, NORTH)])
    opened = open_frame({"SP-1": [record(FEB_1, None, NORTH)]})
    with pytest.raises(ValueError, match="lacks columns \\['effective_date'\\]"):
        diff_export(export.drop("effective_date"), opened)
    with pytest.raises(ValueError, match="nulls in \\['feeder_id'\\]"):
        diff_export(export.with_columns(feeder_id=pl.lit(None, dtype=pl.String)), opened)
    with pytest.raises(pl.exceptions.ComputeError):
        diff_export(export, pl.concat([opened, opened]))
