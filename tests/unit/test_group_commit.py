"""Group commit: items handed in at the same time are handled together, and each caller gets its own result."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from derbridge.runtime.group_commit import GroupCommit


def test_a_lone_caller_is_handled_at_once_in_a_group_of_one() -> None:
    groups: list[list[int]] = []
    together = GroupCommit(lambda items: groups.append(list(items)) or [item * 2 for item in items])
    assert together.submit(21) == 42
    assert groups == [[21]]


def test_callers_arriving_while_a_group_is_handled_form_the_next_group() -> None:
    release = threading.Event()
    groups: list[list[int]] = []

    def handle(items: list[int]) -> list[int]:
        groups.append(list(items))
        if len(groups) == 1:
            release.wait(5)  # the first group holds the turn while the others arrive
        return [item + 100 for item in items]

    together = GroupCommit(handle, max_items=50)
    with ThreadPoolExecutor(20) as pool:
        first = pool.submit(together.submit, 0)
        while not groups:
            time.sleep(0.001)
        rest = [pool.submit(together.submit, n) for n in range(1, 20)]
        while together.waiting < 19:  # every other caller has handed its item in
            time.sleep(0.001)
        release.set()
        assert first.result(5) == 100
        assert [future.result(5) for future in rest] == [n + 100 for n in range(1, 20)]
    assert groups[0] == [0]
    assert sorted(item for group in groups[1:] for item in group) == list(range(1, 20))
    assert len(groups) == 2, groups


def test_no_group_is_larger_than_max_items() -> None:
    sizes: list[int] = []
    gate = threading.Lock()

    def handle(items: list[int]) -> list[int]:
        with gate:
            sizes.append(len(items))
        time.sleep(0.01)
        return items

    together = GroupCommit(handle, max_items=3)
    with ThreadPoolExecutor(12) as pool:
        assert sorted(pool.map(together.submit, range(40))) == list(range(40))
    assert max(sizes) <= 3 and sum(sizes) == 40


def test_a_failing_group_fails_each_of_its_callers_and_the_next_group_goes_on() -> None:
    def handle(items: list[int]) -> list[int]:
        if 13 in items:
            raise ValueError("unlucky")
        return items

    together = GroupCommit(handle)
    with pytest.raises(ValueError, match="unlucky"):
        together.submit(13)
    assert together.submit(7) == 7


def test_a_result_count_that_does_not_match_is_an_error_not_a_wrong_answer() -> None:
    together: GroupCommit[int, int] = GroupCommit(lambda items: [])
    with pytest.raises(RuntimeError, match="0 results for 1 items"):
        together.submit(1)
