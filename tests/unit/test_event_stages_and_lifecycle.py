"""DERMS events: the default split of a window into stages, entered stages checked, and the moves of the
lifecycle on the clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from derbridge.derms.events.lifecycle import Status, can_move, cancellable, due_moves
from derbridge.derms.events.stages import RAMP_DOWN, RAMP_UP, SUSTAIN, Stage, checked_stages, default_stages
from derbridge.errors import InvalidInput

START = datetime(2026, 7, 15, 19, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


@pytest.mark.parametrize(("minutes", "split"), [
    (120, [(RAMP_UP, 15), (SUSTAIN, 90), (RAMP_DOWN, 15)]),
    (60, [(RAMP_UP, 8), (SUSTAIN, 44), (RAMP_DOWN, 8)]),
    (30, [(RAMP_UP, 4), (SUSTAIN, 22), (RAMP_DOWN, 4)]),
    (29, [(SUSTAIN, 29)]),
    (240, [(RAMP_UP, 30), (SUSTAIN, 180), (RAMP_DOWN, 30)]),
])
def test_the_default_split_is_an_eighth_up_three_quarters_sustained_an_eighth_down(
        minutes: int, split: list[tuple[str, int]]) -> None:
    stages = default_stages(START, START + minutes * MINUTE)
    assert [(s.name, int((s.end - s.start) / MINUTE)) for s in stages] == split
    assert stages[0].start == START and stages[-1].end == START + minutes * MINUTE
    assert all(a.end == b.start for a, b in zip(stages, stages[1:], strict=False))


def test_entered_stages_that_cover_the_window_in_order_are_kept() -> None:
    stages = [Stage("PRE-COOL", START, START + 30 * MINUTE), Stage("SHED", START + 30 * MINUTE, START + 90 * MINUTE)]
    assert checked_stages(stages, START, START + 90 * MINUTE) == stages


@pytest.mark.parametrize(("stages", "fields"), [
    ([Stage("A", START + MINUTE, START + 60 * MINUTE)], {"stages.0.start"}),
    ([Stage("A", START, START + 30 * MINUTE), Stage("B", START + 31 * MINUTE, START + 60 * MINUTE)],
     {"stages.1.start"}),
    ([Stage("A", START, START + 30 * MINUTE)], {"stages.0.end"}),
    ([Stage("A", START, START), Stage("B", START, START + 60 * MINUTE)], {"stages.0.end"}),
    ([Stage(" ", START, START + 60 * MINUTE)], {"stages.0.name"}),
    ([], {"stages"}),
])
def test_entered_stages_with_a_gap_an_overlap_or_a_short_end_are_refused_naming_each(
        stages: list[Stage], fields: set[str]) -> None:
    with pytest.raises(InvalidInput) as refused:
        checked_stages(stages, START, START + 60 * MINUTE)
    assert set(refused.value.problems) == fields


@pytest.mark.parametrize(("status", "now", "moves"), [
    (Status.SCHEDULED, START - MINUTE, []),
    (Status.SCHEDULED, START, [Status.IN_PROGRESS]),
    (Status.SCHEDULED, START + 3 * timedelta(hours=1), [Status.IN_PROGRESS, Status.COMPLETED]),
    (Status.IN_PROGRESS, START + timedelta(hours=1), []),
    (Status.IN_PROGRESS, START + timedelta(hours=2), [Status.COMPLETED]),
    (Status.NEW, START - MINUTE, []),
    (Status.NEW, START, [Status.CANCELLED]),
    (Status.COMPLETED, START + timedelta(days=1), []),
    (Status.CANCELLED, START + timedelta(days=1), []),
])
def test_the_clock_moves_an_event_through_every_state_it_passed(status: Status, now: datetime,
                                                                  moves: list[Status]) -> None:
    assert due_moves(status, START, START + timedelta(hours=2), now) == moves


def test_states_never_move_backwards_and_only_an_event_not_ended_can_be_cancelled() -> None:
    order = [Status.NEW, Status.SCHEDULED, Status.IN_PROGRESS, Status.COMPLETED]
    for later, earlier in [(b, a) for i, a in enumerate(order) for b in order[i + 1:]]:
        assert not can_move(later, earlier)
    assert not can_move(Status.CANCELLED, Status.SCHEDULED)
    assert can_move(Status.IN_PROGRESS, Status.CANCELLED)
    end = START + timedelta(hours=2)
    assert cancellable(Status.SCHEDULED, end, START - MINUTE) is None
    assert cancellable(Status.NEW, end, START - MINUTE) is None
    assert cancellable(Status.IN_PROGRESS, end, START + MINUTE) is None
    assert "has not ended" in (cancellable(Status.IN_PROGRESS, end, end) or "")
    assert "COMPLETED" in (cancellable(Status.COMPLETED, end, START) or "")
    assert "CANCELLED" in (cancellable(Status.CANCELLED, end, START) or "")
