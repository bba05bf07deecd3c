"""A small network for tests of F1 (two substations, three feeders, three transformers, three service points,
all in service from January 1), the changes an operator can make to it, and a model of DERMS's storage rules
around the pure functions of derms/network/connections.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import polars as pl
from hypothesis import strategies as st

from derbridge.dacs.network import locations as program_system
from derbridge.derms.network.connections import (
    ChangeRefused,
    Connection,
    Location,
    check_history,
    connect,
    refeed,
    rewritten,
)

JAN_1 = date(2026, 1, 1)

FEEDERS = {"F-1": "S-1", "F-2": "S-1", "F-3": "S-2"}
TRANSFORMERS = {"T-1": "F-1", "T-2": "F-2", "T-3": "F-3"}
SERVICE_POINTS = ["SP-1", "SP-2", "SP-3"]
DAYS = 60
days = st.integers(0, DAYS - 1).map(lambda n: JAN_1 + timedelta(days=n))


@dataclass(frozen=True)
class Move:
    service_point: str
    transformer: str
    day: date


@dataclass(frozen=True)
class Refeed:
    transformer: str
    feeder: str
    day: date


changes = st.one_of(
    st.builds(Move, st.sampled_from(SERVICE_POINTS), st.sampled_from(list(TRANSFORMERS)), days),
    st.builds(Refeed, st.sampled_from(list(TRANSFORMERS)), st.sampled_from(list(FEEDERS)), days),
)


@dataclass
class Network:
    """The storage rules around the pure functions: transformer moves in date order, a service point joins a
    transformer only from when it is on its current feeder, each written record stamped with its change."""

    feeders: dict[str, tuple[str, date]] = field(default_factory=dict)
    histories: dict[str, list[Connection]] = field(default_factory=dict)
    written: dict[Connection, int] = field(default_factory=dict)
    seq: int = 0

    @classmethod
    def imported(cls) -> Network:
        network = cls(feeders={t: (f, JAN_1) for t, f in TRANSFORMERS.items()})
        for service_point in SERVICE_POINTS:
            location = network.location(first_transformer(service_point))
            network.write({service_point: [Connection(service_point, *location, JAN_1)]})
        return network

    def location(self, transformer: str) -> Location:
        feeder = self.feeders[transformer][0]
        return (transformer, feeder, FEEDERS[feeder])

    def write(self, histories: dict[str, list[Connection]]) -> None:
        self.seq += 1
        for service_point, after in histories.items():
            check_history(after)
            before = self.histories.get(service_point, [])
            rewrite = rewritten(before, after)
            self.written.update(dict.fromkeys(rewrite.inserted, self.seq))
            for record in rewrite.ended:
                [old] = [r for r in before if r.effective_start == record.effective_start]
                self.written[record] = self.written[old]
            self.histories[service_point] = after

    def apply(self, change: Move | Refeed) -> None:
        if isinstance(change, Move):
            if change.day < self.feeders[change.transformer][1]:
                return
            try:
                after = connect(self.histories[change.service_point], change.service_point,
                                self.location(change.transformer), change.day)
            except ChangeRefused:
                return
            self.write({change.service_point: after})
            return
        if change.day < self.feeders[change.transformer][1] or change.feeder == self.feeders[change.transformer][0]:
            return
        self.feeders[change.transformer] = (change.feeder, change.day)
        self.write({sp: refeed(h, change.transformer, change.feeder, FEEDERS[change.feeder], change.day)
                    for sp, h in self.histories.items()})

    def export(self, full: bool, as_of: date, since: int) -> list[program_system.Observation]:
        """A delta: the records written after change `since`; a full export: those and every record in effect
        on or after as_of."""
        records = [r for h in self.histories.values() for r in h if self.written[r] > since
                   or (full and (r.effective_end is None or r.effective_end > as_of))]
        return [program_system.Observation(r.service_point_id, *r.location, effective_date=r.effective_start)
                for r in sorted(records, key=lambda r: (r.service_point_id, r.effective_start))]


def write_network(directory: Path, fmt: str = "csv") -> Path:
    """The small network as the dataset's four network files; returns the directory."""
    directory.mkdir(parents=True, exist_ok=True)
    tables = {
        "substations": pl.DataFrame({"substationId": sorted(set(FEEDERS.values())), "name": ["North", "South"],
                                     "division": ["ELEC-N", "ELEC-S"], "capacityKw": [50000.0, 40000.0],
                                     "effectiveStartDate": [JAN_1, JAN_1]}),
        "feeders": pl.DataFrame({"feederId": list(FEEDERS), "substationId": list(FEEDERS.values()),
                                 "voltageKv": [12.47] * len(FEEDERS), "capacityKw": [9000.0] * len(FEEDERS),
                                 "effectiveStartDate": [JAN_1] * len(FEEDERS)}),
        "transformers": pl.DataFrame({"transformerId": list(TRANSFORMERS), "feederId": list(TRANSFORMERS.values()),
                                      "phase": ["A"] * len(TRANSFORMERS), "capacityKw": [50.0] * len(TRANSFORMERS),
                                      "effectiveStartDate": [JAN_1] * len(TRANSFORMERS)}),
        "service_point_locations": pl.DataFrame({
            "cisServicePointId": SERVICE_POINTS,
            "transformerId": [first_transformer(sp) for sp in SERVICE_POINTS],
            "feederId": [TRANSFORMERS[first_transformer(sp)] for sp in SERVICE_POINTS],
            "substationId": [FEEDERS[TRANSFORMERS[first_transformer(sp)]] for sp in SERVICE_POINTS],
            "effectiveStartDate": [JAN_1] * len(SERVICE_POINTS)}),
    }
    for name, frame in tables.items():
        if fmt == "csv":
            frame.write_csv(directory / f"{name}.csv")
        else:
            frame.write_parquet(directory / f"{name}.parquet")
    return directory


def first_transformer(service_point: str) -> str:
    return list(TRANSFORMERS)[SERVICE_POINTS.index(service_point) % len(TRANSFORMERS)]
