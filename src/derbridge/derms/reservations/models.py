"""The two models the reservation engine plans with, both configurable (a TOML file, `reservation_models`):

- expected kW: what one device of a type is expected to deliver in an hour of a month, in the device's local
  time (a thermostat 1.2 kW on a summer afternoon, 0.4 kW on a spring night). The first rule whose device type,
  months and hours all match applies; `default_kw` when none does. A device's expected kW for an event is the
  mean over the event's quarter hours, times its score (the share of that it is expected to deliver).
- network load: the share of a transformer's or feeder's rating already taken by its expected load in an hour
  of a month, in the network's time zone. An element's headroom for an event is its rating times one less the
  largest share over the event's hours; an element without a rating is not limited.

Pure: reading the file is the caller's; `models_from` checks a parsed file and names every bad field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from derbridge.errors import InvalidInput

SUMMER, WINTER = frozenset({6, 7, 8, 9}), frozenset({12, 1, 2})
QUARTER_HOUR = timedelta(minutes=15)


@dataclass(frozen=True)
class KwRule:
    kw: float
    device_type: str | None = None
    """None: any device type."""
    months: frozenset[int] = frozenset()
    """Empty: every month."""
    hours: frozenset[int] = frozenset()
    """Local hours 0–23; empty: every hour."""

    def matches(self, device_type: str | None, month: int, hour: int) -> bool:
        return ((self.device_type is None or self.device_type == device_type)
                and (not self.months or month in self.months) and (not self.hours or hour in self.hours))


@dataclass(frozen=True)
class KwModel:
    rules: tuple[KwRule, ...]
    default_kw: float = 1.0

    def kw_at(self, device_type: str | None, month: int, hour: int) -> float:
        return next((rule.kw for rule in self.rules if rule.matches(device_type, month, hour)), self.default_kw)

    def over(self, device_type: str | None, start: datetime, end: datetime, time_zone: str) -> float:
        """The mean kW of a device of this type over the window's quarter hours, in its local time."""
        zone = ZoneInfo(time_zone)
        quarters = quarter_hours(start, end)
        return sum(self.kw_at(device_type, (q := moment.astimezone(zone)).month, q.hour)
                   for moment in quarters) / len(quarters)


@dataclass(frozen=True)
class LoadRule:
    fraction: float
    months: frozenset[int] = frozenset()
    hours: frozenset[int] = frozenset()

    def matches(self, month: int, hour: int) -> bool:
        return (not self.months or month in self.months) and (not self.hours or hour in self.hours)


@dataclass(frozen=True)
class LoadModel:
    rules: tuple[LoadRule, ...]
    default_fraction: float = 0.5
    time_zone: str = "America/Chicago"

    def peak_fraction(self, start: datetime, end: datetime) -> float:
        """The largest share of rating taken over the window's quarter hours."""
        zone = ZoneInfo(self.time_zone)
        return max(next((rule.fraction for rule in self.rules if rule.matches(local.month, local.hour)),
                        self.default_fraction)
                   for local in (moment.astimezone(zone) for moment in quarter_hours(start, end)))


def quarter_hours(start: datetime, end: datetime) -> list[datetime]:
    count = max(1, int((end - start) / QUARTER_HOUR))
    return [start + QUARTER_HOUR * n for n in range(count)]


AFTERNOON = frozenset(range(12, 20))
PEAK = frozenset(range(14, 20))
THERMOSTAT = "SMART-THERMOSTAT"
DEFAULT_KW = KwModel(rules=(
    KwRule(1.2, THERMOSTAT, SUMMER, AFTERNOON),
    KwRule(0.6, THERMOSTAT, SUMMER),
    KwRule(0.8, THERMOSTAT, WINTER, frozenset({6, 7, 8, 17, 18, 19, 20})),
    KwRule(0.4, THERMOSTAT),
    KwRule(3.3, "BATTERY"),
    KwRule(6.6, "EV-CHARGER", hours=frozenset(range(17, 23))),
    KwRule(1.0, "EV-CHARGER"),
    KwRule(2.5, "WATER-HEATER"),
), default_kw=1.0)
"""Reference figures: a cycled air conditioner behind a thermostat on a hot afternoon, a home battery's
sustained discharge, a level-2 charger in the evening, a resistive water heater element."""
DEFAULT_LOAD = LoadModel(rules=(
    LoadRule(0.85, SUMMER, PEAK),
    LoadRule(0.65, SUMMER),
    LoadRule(0.75, WINTER, frozenset({6, 7, 8, 17, 18, 19, 20})),
    LoadRule(0.35, hours=frozenset(range(0, 6))),
), default_fraction=0.55)
"""Reference load shapes: summer afternoon peaks at 85 % of rating, winter mornings and evenings at 75 %,
nights at 35 %, 55 % otherwise."""


@dataclass(frozen=True)
class Models:
    expected_kw: KwModel = DEFAULT_KW
    network_load: LoadModel = DEFAULT_LOAD
    standby_share: float = 0.2
    """How many standby devices to keep, as a share of the devices reserved."""


# ---- the configuration file -------------------------------------------------------------------------------------

class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    months: list[int] = Field(default_factory=list)
    hours: list[int] = Field(default_factory=list)

    @field_validator("months")
    @classmethod
    def months_of_year(cls, value: list[int]) -> list[int]:
        if any(not 1 <= month <= 12 for month in value):
            raise ValueError("months are 1 (January) to 12 (December)")
        return value

    @field_validator("hours")
    @classmethod
    def hours_of_day(cls, value: list[int]) -> list[int]:
        if any(not 0 <= hour <= 23 for hour in value):
            raise ValueError("hours are 0 to 23, local time")
        return value


class _KwRuleIn(_Rule):
    device_type: str | None = Field(default=None, min_length=1, max_length=30)
    kw: float = Field(ge=0, le=10_000)


class _LoadRuleIn(_Rule):
    fraction: float = Field(ge=0, le=1)


class _KwIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    default_kw: float = Field(default=DEFAULT_KW.default_kw, ge=0, le=10_000)
    rules: list[_KwRuleIn] | None = None


class _LoadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    default_fraction: float = Field(default=DEFAULT_LOAD.default_fraction, ge=0, le=1)
    time_zone: str = DEFAULT_LOAD.time_zone
    rules: list[_LoadRuleIn] | None = None

    @field_validator("time_zone")
    @classmethod
    def known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (KeyError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class _ModelsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    expected_kw: _KwIn = Field(default_factory=_KwIn)
    network_load: _LoadIn = Field(default_factory=_LoadIn)
    standby_share: float = Field(default=0.2, ge=0, le=10)


def models_from(parsed: dict[str, Any]) -> Models:
    """The models a parsed TOML file describes (what it leaves out keeps the reference figures); InvalidInput
    names every bad field."""
    try:
        given = _ModelsIn.model_validate(parsed)
    except ValidationError as exc:
        raise InvalidInput({".".join(str(part) for part in error["loc"]): error["msg"]
                            for error in exc.errors()}) from exc
    kw, load = given.expected_kw, given.network_load
    kw_rules = DEFAULT_KW.rules if kw.rules is None else tuple(
        KwRule(rule.kw, rule.device_type, frozenset(rule.months), frozenset(rule.hours)) for rule in kw.rules)
    load_rules = DEFAULT_LOAD.rules if load.rules is None else tuple(
        LoadRule(rule.fraction, frozenset(rule.months), frozenset(rule.hours)) for rule in load.rules)
    return Models(KwModel(kw_rules, kw.default_kw), LoadModel(load_rules, load.default_fraction, load.time_zone),
                  given.standby_share)


def describe(models: Models) -> dict[str, Any]:
    """The models as the configuration file writes them."""
    def months_hours(rule: KwRule | LoadRule) -> dict[str, list[int]]:
        return {"months": sorted(rule.months), "hours": sorted(rule.hours)}

    return {
        "expected_kw": {"default_kw": models.expected_kw.default_kw, "rules": [
            {"device_type": rule.device_type, **months_hours(rule), "kw": rule.kw}
            for rule in models.expected_kw.rules]},
        "network_load": {"default_fraction": models.network_load.default_fraction,
                         "time_zone": models.network_load.time_zone, "rules": [
                             {**months_hours(rule), "fraction": rule.fraction} for rule in models.network_load.rules]},
        "standby_share": models.standby_share,
    }
