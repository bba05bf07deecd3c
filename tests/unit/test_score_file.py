"""The score file's pure parts: a program's cycle in a premise's time zone, numbers written as decimals the way
the layout says, the components column and its names, and the file's name."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from derbridge.dacs.scores import score_file
from derbridge.dacs.scores.cycles import Cycle, Frequency, current_cycle
from derbridge.dacs.scores.explain import parse_components
from derbridge.dacs.scores.formula import Condition, Rule, compile_rules


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(("now", "zone", "frequency", "expected"), [
    pytest.param(utc(2026, 11, 23, 12), "America/Chicago", "MONTHLY", Cycle(utc(2026, 11, 1, 5), 30),
                 id="the month began at midnight in Chicago, still on summer time"),
    pytest.param(utc(2026, 12, 1, 3), "America/Chicago", "MONTHLY", Cycle(utc(2026, 11, 1, 5), 30),
                 id="1 December in UTC is still 30 November in Chicago"),
    pytest.param(utc(2026, 11, 23, 5), "America/Chicago", "WEEKLY", Cycle(utc(2026, 11, 16, 6), 7),
                 id="Sunday night in Chicago is last week"),
    pytest.param(utc(2026, 2, 10), "UTC", "SEASONAL", Cycle(utc(2025, 12, 1), 90), id="winter from 1 December"),
    pytest.param(utc(2026, 8, 31, 23), "UTC", "SEASONAL", Cycle(utc(2026, 6, 1), 92), id="summer"),
    pytest.param(utc(2028, 2, 10), "Nowhere/Else", "MONTHLY", Cycle(utc(2028, 2, 1), 29),
                 id="an unknown zone counts in UTC; a leap February"),
])
def test_the_current_cycle_is_counted_in_the_premises_time_zone(now: datetime, zone: str, frequency: Frequency,
                                                                 expected: Cycle) -> None:
    assert current_cycle(now, zone, frequency) == expected


@pytest.mark.parametrize(("number", "text"), [
    (72.5, "72.5"), (100.0, "100"), (1 / 3, "0.333333"), (2 / 30, "0.066667"), (0.0, "0"), (-0.0, "0"),
    (5e-6, "0.000005"), (-5e-6, "-0.000005"), (4e-7, "0"), (0.1 + 0.2, "0.3"), (-3.0, "-3"),
    (123456789.1234567, "123456789.123457"), (1e20, "1000000000000"), (None, None),
])
def test_numbers_are_decimals_with_at_most_six_fraction_digits_and_no_exponent(number: float | None,
                                                                                text: str | None) -> None:
    frame = pl.DataFrame({"x": [number]}, schema={"x": pl.Float64})

    assert frame.select(score_file.decimal_text(pl.col("x"))).item() == text


def test_components_list_inputs_as_first_used_then_every_rule_and_read_back() -> None:
    rule_set = compile_rules([Rule("FRESH", "DE > 7"), Rule("SC", "if FRESH then 10 * AV else CU / CA")],
                             [Condition("AV > 0", "NOT_AVAILABLE")])
    frame = pl.DataFrame({"DE": [3.0], "FRESH": [False], "AV": [1.0], "CU": [1.0], "CA": [0.0], "SC": [None]},
                         schema_overrides={"SC": pl.Float64})

    text = frame.select(score_file.components(rule_set, {"DE", "AV", "CU", "CA"})).item()

    assert [name for name, _ in score_file.component_names(rule_set)] == ["DE", "AV", "CU", "CA", "FRESH", "SC"]
    assert text == "DE=3;AV=1;CU=1;CA=0;FRESH=false;SC="
    assert parse_components(text) == {"DE": 3.0, "AV": 1.0, "CU": 1.0, "CA": 0.0, "FRESH": False, "SC": None}


def test_the_file_is_named_by_its_computed_time_in_utc() -> None:
    assert score_file.file_name(utc(2026, 11, 23, 2, 0, 5)) == "SDCSE_V1_20261123T020005Z.csv"
    assert score_file.sidecar_name("SDCSE_V1_20261123T020005Z.csv") == "SDCSE_V1_20261123T020005Z.csv.sha256"
