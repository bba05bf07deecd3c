"""DERMS's head ends, built from its settings at start-up: which clouds run inside DERMS, which are reached by URL.

The `headends` setting lists them, comma-separated; each entry is a name and options:

    ECOCLOUD                           a simulated cloud in DERMS's process, answering at once, never failing
    ECOCLOUD lag=2 status_failure_rate=0.05 registration_failure_rate=0.01 seed=7
                                       the same with a profile (simulator.CloudProfile)
    ECOCLOUD response_rate=0.8 override_rate=0.1 offline_rate=0.05 peak_temperature=38 temperature_swing=12
                                       how its fleet answers dispatches (behaviour.py, docs/fleets.md)
    NESTLIKE url=http://127.0.0.1:8481 a cloud in a process of its own (`derbridge headend serve NESTLIKE …`),
                                       whose profile is set where it runs

In-process clouds take their devices from the `headend_dataset` directory, or start empty.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from derbridge.config import ConfigError, Settings
from derbridge.derms.headend.client import HttpHeadEnd
from derbridge.derms.headend.gateway import Gateway
from derbridge.derms.headend.simulator import CloudProfile, SimulatedCloud, devices_file, load_fleets
from derbridge.web.auth import outbound_credential

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,49}$")
PROFILE_OPTIONS = {"lag": ("reporting_lag_s", float), "status_failure_rate": ("status_failure_rate", float),
                   "registration_failure_rate": ("registration_failure_rate", float), "seed": ("seed", int),
                   "response_rate": ("response_rate", float), "override_rate": ("override_rate", float),
                   "offline_rate": ("offline_rate", float), "peak_temperature": ("peak_temperature_c", float),
                   "temperature_swing": ("temperature_swing_c", float)}


@dataclass(frozen=True)
class HeadEndEntry:
    name: str
    url: str = ""
    """Empty: a simulated cloud inside DERMS."""
    profile: CloudProfile = field(default_factory=lambda: CloudProfile(""))


def parse_headends(text: str) -> list[HeadEndEntry]:
    """The entries of the `headends` setting; a ConfigError names what is wrong."""
    entries: list[HeadEndEntry] = []
    for part in text.split(","):
        words = part.split()
        if not words:
            continue
        name, options = words[0], words[1:]
        if not NAME.match(name):
            raise ConfigError(f"setting headends: {name!r} is not a head-end system name (letters, digits, _.-)")
        url, profile = "", CloudProfile(name)
        for option in options:
            key, equals, value = option.partition("=")
            if not equals or not value:
                raise ConfigError(f"setting headends: {name}: {option!r} is not key=value")
            if key == "url":
                url = value
            elif key in PROFILE_OPTIONS:
                attribute, kind = PROFILE_OPTIONS[key]
                profile = _with(profile, attribute, kind, value, name, key)
            else:
                raise ConfigError(f"setting headends: {name}: unknown option {key!r}; known: url, "
                                  f"{', '.join(PROFILE_OPTIONS)}")
        if url and profile != CloudProfile(name):
            raise ConfigError(f"setting headends: {name}: a cloud at a URL has its profile where it runs "
                              "(`derbridge headend serve --lag …`), not here")
        entries.append(HeadEndEntry(name, url, profile))
    names = [entry.name for entry in entries]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ConfigError(f"setting headends: {', '.join(repeated)} listed more than once")
    return entries


def _with(profile: CloudProfile, attribute: str, kind: type, value: str, name: str, key: str) -> CloudProfile:
    try:
        number = kind(value)
    except ValueError as exc:
        raise ConfigError(f"setting headends: {name}: {key}={value!r} is not a number") from exc
    if (number < 0 and key != "peak_temperature") or (key.endswith("rate") and number > 1):
        raise ConfigError(f"setting headends: {name}: {key}={value} is out of range")
    return replace(profile, **{attribute: number})


class HeadEnds:
    """DERMS's gateway, and the simulated clouds it runs in its own process (an operator can change those)."""

    def __init__(self, entries: list[HeadEndEntry], local: dict[str, SimulatedCloud],
                 remote: dict[str, HttpHeadEnd]) -> None:
        self.entries = entries
        self.local = local
        self.remote = remote
        self.gateway = Gateway([*local.values(), *remote.values()])

    @classmethod
    def from_settings(cls, settings: Settings) -> HeadEnds:
        entries = parse_headends(settings.headends)
        inside = [entry.profile for entry in entries if not entry.url]
        if settings.headend_dataset:
            local = load_fleets(devices_file(Path(settings.headend_dataset)), inside)
        else:
            local = {profile.name: SimulatedCloud(profile) for profile in inside}
        apart = [entry for entry in entries if entry.url]
        credential = outbound_credential(settings, "derms", "headend") if apart else ""
        remote = {entry.name: HttpHeadEnd(entry.name, entry.url, credential, settings.headend_timeout_s)
                  for entry in apart}
        return cls(entries, local, remote)

    def cloud(self, name: str) -> SimulatedCloud:
        """An in-process cloud, for operator actions; KeyError names why there is none."""
        if name in self.local:
            return self.local[name]
        if name in self.remote:
            raise KeyError(f"{name} runs in its own process at {self.remote[name].base_url}: use its own API")
        raise KeyError(f"DERMS knows no head-end system {name!r}")

    def describe(self) -> list[dict[str, Any]]:
        described = []
        for entry in self.entries:
            if entry.url:
                described.append({"name": entry.name, "where": entry.url,
                                  "reportingLagS": self.remote[entry.name].reporting_lag_s})
            else:
                described.append({**self.local[entry.name].statistics(), "where": "in-process"})
        return described

    def close(self) -> None:
        for head_end in self.remote.values():
            head_end.close()
