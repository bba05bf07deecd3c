"""DERMS's network model (F1): service points moved between transformers, transformers between feeders, each
effective a date; any sequence of such changes leaves contiguous records, and the records each change wrote,
sent as exports, tell the program system exactly where every service point was on every day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from derbridge.dacs.network import locations as program_system
from derbridge.derms.network.connections import (
    ChangeRefused,
    Connection,
    Location,
    Rewrite,
    check_history,
    connect,
    location_on,
    refeed,
    rewritten,
)
from tests.networks import DAYS, FEEDERS, JAN_1, TRANSFORMERS, Move, Network, Refeed, changes, days

FEB_1, MAR_1, APR_1 = date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1)
T1: Location = ("T-1", "F-1", "S-1")
T2: Location = ("T-2", "F-2", "S-1")


def record(start: date, end: date | None, location: Location, service_point: str = "SP-1") -> Connection:
    return Connection(service_point, *location, effective_start=start, effective_end=end)


def test_a_first_connection_opens_a_record() -> None:
    assert connect([], "SP-1", T1, JAN_1) == [record(JAN_1, None, T1)]


def test_moving_a_service_point_ends_its_open_record_and_opens_one_on_the_date() -> None:
    assert connect([record(JAN_1, None, T1)], "SP-1", T2, MAR_1) == [record(JAN_1, MAR_1, T1),
                                                                     record(MAR_1, None, T2)]


def test_moving_it_where_it_already_is_changes_nothing() -> None:
    history = [record(JAN_1, None, T1)]
    assert connect(history, "SP-1", T1, MAR_1) is history


def test_a_move_dated_on_the_latest_start_corrects_that_record() -> None:
    history = [record(JAN_1, MAR_1, T1), record(MAR_1, None, T2)]
    assert connect(history, "SP-1", ("T-3", "F-1", "S-1"), MAR_1) == [record(JAN_1, MAR_1, T1),
                                                                      record(MAR_1, None, ("T-3", "F-1", "S-1"))]


def test_a_correction_back_to_the_previous_transformer_keeps_both_records() -> None:
    """Not merged: the export must tell the program system that from March 1 it is T-1 again."""
    history = [record(JAN_1, MAR_1, T1), record(MAR_1, None, T2)]
    assert connect(history, "SP-1", T1, MAR_1) == [record(JAN_1, MAR_1, T1), record(MAR_1, None, T1)]


def test_a_move_dated_before_the_latest_start_is_refused() -> None:
    with pytest.raises(ChangeRefused, match="from 2026-03-01; a move must take effect on or after it"):
        connect([record(JAN_1, MAR_1, T1), record(MAR_1, None, T2)], "SP-1", T1, FEB_1)


def test_a_transformer_moved_to_another_feeder_splits_the_records_that_run_past_the_date() -> None:
    history = [record(JAN_1, MAR_1, T1), record(MAR_1, None, T2)]
    assert refeed(history, "T-1", "F-3", "S-2", FEB_1) == [
        record(JAN_1, FEB_1, T1), record(FEB_1, MAR_1, ("T-1", "F-3", "S-2")), record(MAR_1, None, T2)]


def test_a_transformer_move_changes_records_that_start_on_or_after_the_date_and_leaves_earlier_ones() -> None:
    history = [record(JAN_1, FEB_1, T1), record(FEB_1, MAR_1, T2), record(MAR_1, None, T1)]
    assert refeed(history, "T-1", "F-3", "S-2", FEB_1) == [
        record(JAN_1, FEB_1, T1), record(FEB_1, MAR_1, T2), record(MAR_1, None, ("T-1", "F-3", "S-2"))]


def test_a_transformer_move_to_its_own_feeder_changes_nothing() -> None:
    history = [record(JAN_1, None, T1)]
    assert refeed(history, "T-1", "F-1", "S-1", FEB_1) == history


def test_storage_rewrites_only_what_changed_and_tells_new_observations_from_new_ends() -> None:
    before = [record(JAN_1, None, T1)]
    after = connect(before, "SP-1", T2, APR_1)
    assert rewritten(before, after) == Rewrite(deleted=[], inserted=[record(APR_1, None, T2)],
                                               ended=[record(JAN_1, APR_1, T1)])
    corrected = connect(after, "SP-1", T1, APR_1)
    assert rewritten(after, corrected) == Rewrite(deleted=[record(APR_1, None, T2)], inserted=[record(APR_1, None, T1)],
                                                  ended=[])
    assert rewritten(after, after) == Rewrite([], [], [])


# ---- any sequence of changes -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Export:
    full: bool
    day: date


def applied(histories: dict[str, list[program_system.Record]],
            export: list[program_system.Observation]) -> dict[str, list[program_system.Record]]:
    for observation in export:
        histories[observation.service_point_id] = program_system.apply_change(
            histories.get(observation.service_point_id, []), observation)
    return histories


@given(st.lists(changes, max_size=30))
def test_any_sequence_of_changes_leaves_contiguous_records_ending_in_an_open_one(
        sequence: list[Move | Refeed]) -> None:
    network = Network.imported()
    for change in sequence:
        network.apply(change)
        for history in network.histories.values():
            check_history(history)
            assert history[0].effective_start == JAN_1 and history[-1].effective_end is None


@given(st.lists(changes, max_size=30))
def test_on_every_day_a_service_point_has_the_feeder_its_transformer_was_on_that_day(
        sequence: list[Move | Refeed]) -> None:
    network = Network.imported()
    moves: dict[str, dict[date, str]] = {t: {JAN_1: f} for t, f in TRANSFORMERS.items()}
    for change in sequence:
        before = network.seq
        network.apply(change)
        if isinstance(change, Refeed) and network.seq > before:
            moves[change.transformer][change.day] = change.feeder
    for day in (JAN_1 + timedelta(days=n) for n in range(DAYS)):
        for history in network.histories.values():
            found = location_on(history, day)
            assert found is not None
            feeder = moves[found.transformer_id][max(d for d in moves[found.transformer_id] if d <= day)]
            assert (found.feeder_id, found.substation_id) == (feeder, FEEDERS[feeder])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(changes, st.builds(Export, st.booleans(), days)), max_size=40), days)
def test_exports_tell_the_program_system_where_every_service_point_was_on_every_day(
        sequence: list[Move | Refeed | Export], first_as_of: date) -> None:
    """Any mix of changes and exports, each export full or a delta after the previous one, and a last delta:
    the program system agrees with DERMS on every day."""
    network = Network.imported()
    received = applied({}, network.export(True, first_as_of, 0))
    since = network.seq
    for step in sequence:
        if isinstance(step, Export):
            received = applied(received, network.export(step.full, step.day, since))
            since = network.seq
        else:
            network.apply(step)
    received = applied(received, network.export(False, first_as_of, since))
    for day in (JAN_1 + timedelta(days=n) for n in range(-1, DAYS + 1)):
        for service_point, history in network.histories.items():
            expected = location_on(history, day)
            found = program_system.location_on(received.get(service_point, []), day)
            assert (found.location if found else None) == (expected.location if expected else None), (
                service_point, day)
