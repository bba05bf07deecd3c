"""The reservation engine's models: a device type's expected kW over an event, a network element's peak load
share, and the configuration file that changes them, every bad field named."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from derbridge.config import ConfigError, Settings
from derbridge.derms.reservations.api import load_models
from derbridge.derms.reservations.models import DEFAULT_KW, DEFAULT_LOAD, Models, models_from
from derbridge.errors import InvalidInput

CHICAGO = "America/Chicago"


def chicago(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=ZoneInfo(CHICAGO)).astimezone(UTC)


def test_a_thermostat_is_worth_most_on_a_summer_afternoon_and_the_mean_over_the_event_counts() -> None:
    assert DEFAULT_KW.over("SMART-THERMOSTAT", chicago(7, 15, 14), chicago(7, 15, 16), CHICAGO) == 1.2
    assert DEFAULT_KW.over("SMART-THERMOSTAT", chicago(4, 15, 2), chicago(4, 15, 3), CHICAGO) == 0.4
    half_and_half = DEFAULT_KW.over("SMART-THERMOSTAT", chicago(7, 15, 19), chicago(7, 15, 21), CHICAGO)
    assert half_and_half == pytest.approx((1.2 + 0.6) / 2), "19:00–20:00 afternoon, 20:00–21:00 evening"
    assert DEFAULT_KW.over("POOL-PUMP", chicago(7, 15, 14), chicago(7, 15, 16), CHICAGO) == DEFAULT_KW.default_kw


def test_an_elements_headroom_is_judged_at_the_events_peak_load() -> None:
    assert DEFAULT_LOAD.peak_fraction(chicago(7, 15, 12), chicago(7, 15, 15)) == 0.85, "14:00 is summer peak"
    assert DEFAULT_LOAD.peak_fraction(chicago(7, 15, 10), chicago(7, 15, 12)) == 0.65
    assert DEFAULT_LOAD.peak_fraction(chicago(4, 15, 1), chicago(4, 15, 3)) == 0.35


def test_a_file_changes_what_it_names_and_keeps_the_reference_figures_for_the_rest() -> None:
    models = models_from({"expected_kw": {"rules": [{"device_type": "BATTERY", "kw": 5.0}]}, "standby_share": 0.5})
    assert models.expected_kw.kw_at("BATTERY", 7, 14) == 5.0
    assert models.expected_kw.kw_at("SMART-THERMOSTAT", 7, 14) == 1.0, "rules given replace the reference rules"
    assert models.network_load == DEFAULT_LOAD and models.standby_share == 0.5
    assert models_from({}) == Models()


def test_a_bad_file_is_refused_naming_every_field() -> None:
    with pytest.raises(InvalidInput) as refused:
        models_from({"expected_kw": {"rules": [{"kw": -1, "months": [13]}]},
                     "network_load": {"time_zone": "Mars/Olympus", "default_fraction": 2}, "spare": 1})
    assert set(refused.value.problems) == {"expected_kw.rules.0.kw", "expected_kw.rules.0.months",
                                           "network_load.time_zone", "network_load.default_fraction", "spare"}


def test_the_setting_names_the_file_and_a_bad_one_stops_the_start(tmp_path: Path) -> None:
    assert load_models(Settings()) == Models()
    good = tmp_path / "models.toml"
    good.write_text("standby_share = 0.1\n")
    assert load_models(Settings(reservation_models=str(good))).standby_share == 0.1
    bad = tmp_path / "bad.toml"
    bad.write_text("[network_load]\ndefault_fraction = 3\n")
    with pytest.raises(ConfigError, match="default_fraction"):
        load_models(Settings(reservation_models=str(bad)))
    with pytest.raises(ConfigError, match="cannot read"):
        load_models(Settings(reservation_models=str(tmp_path / "missing.toml")))
