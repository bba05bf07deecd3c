"""A program's fleet in DERMS for reservation tests: its rules, a small rated network, devices at their own
service points on it, written straight into DERMS's tables (F2, F5 and F1 fill them in production)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from derbridge.clock import utcnow
from derbridge.derms.programs import rules as program_rules
from derbridge.derms.schema import devices, feeders, service_point_connections, substations, transformers
from tests.registry import DERMS_RULE, enroll, program_message

JAN_1 = date(2026, 1, 1)
PROGRAM = "SMARTSTAT"
EVENT_RULE = {**DERMS_RULE, "minNoticeMinutes": 0, "maxEventsPerWeek": None, "maxEventsPerMonth": None,
              "maxEventsPerSeason": None, "maxEventHoursPerYear": None, "maxConsecutiveDays": None,
              "allowedEventDays": ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"],
              "eventWindowStart": "00:00:00", "eventWindowEnd": "23:59:00", "maxEventDurationMinutes": 600}
"""A rule that lets every device take part in any event of up to ten hours on any day, without notice."""


@dataclass(frozen=True)
class Grid:
    """Substation → feeders → transformers, each with a rating in kW (None: not rated)."""

    feeders: dict[str, tuple[str, float | None]]
    transformers: dict[str, tuple[str, float | None]]


SMALL_GRID = Grid(feeders={"F-1": ("S-1", 1000.0), "F-2": ("S-1", 1000.0), "F-3": ("S-2", 1000.0)},
                  transformers={"T-1": ("F-1", 100.0), "T-2": ("F-2", 100.0), "T-3": ("F-3", 100.0)})


def add_program(engine: Engine, program: str = PROGRAM, version: int = 1, **rule: object) -> None:
    """The program's rule set, as F2 brings it; a later version replaces it."""
    message = program_rules.ProgramMessage.model_validate(
        program_message(program, version, f"V{version}{program}"[:14], {**EVENT_RULE, **rule}))
    program_rules.apply(engine, message, program_rules.check_rules(message))


def add_grid(engine: Engine, grid: Grid = SMALL_GRID) -> None:
    now = utcnow()
    with engine.begin() as connection:
        stations = sorted({station for station, _ in grid.feeders.values()})
        connection.execute(sa.insert(substations), [
            {"substation_id": s, "name": s, "capacity_kw": None, "effective_start": JAN_1, "imported_at": now}
            for s in stations])
        connection.execute(sa.insert(feeders), [
            {"feeder_id": f, "substation_id": s, "capacity_kw": kw, "effective_start": JAN_1, "imported_at": now}
            for f, (s, kw) in grid.feeders.items()])
        connection.execute(sa.insert(transformers), [
            {"transformer_id": t, "feeder_id": f, "feeder_since": JAN_1, "capacity_kw": kw, "effective_start": JAN_1,
             "imported_at": now, "updated_at": now} for t, (f, kw) in grid.transformers.items()])


def add_devices(engine: Engine, grid: Grid, transformer: str, nic_ids: list[str], program: str = PROGRAM,
                device_type: str | None = "SMART-THERMOSTAT", registered: bool = True) -> None:
    """Each device at its own service point on `transformer`."""
    feeder = grid.transformers[transformer][0]
    substation = grid.feeders[feeder][0]
    for nic_id in nic_ids:
        enroll(engine, program, f"S-{nic_id}", [nic_id], premise_id=f"PR-{nic_id}")
    with engine.begin() as connection:
        connection.execute(sa.update(devices).where(devices.c.nic_id.in_(nic_ids)).values(
            device_type=device_type, registration_status="REGISTERED" if registered else "NOT_REGISTERED"))
        connection.execute(sa.insert(service_point_connections), [
            {"cis_service_point_id": f"SP-S-{nic_id}", "effective_start": JAN_1, "transformer_id": transformer,
             "feeder_id": feeder, "substation_id": substation, "change_seq": 1} for nic_id in nic_ids])
