"""The scores of a seeded, varied history pinned, on SQLite and PostgreSQL: how the history is read and summed may
change for speed, the scores may not. Three hundred devices over four programs (monthly, weekly, seasonal, one
without rules), six time zones and an unknown one, with participations of every outcome spread over more than a
year (some starting exactly at a cycle's start, 90 and 365 days ago, some in the future), missing start and end
times, opt-outs with and without their time, devices sharing a NIC with a removed one, and status checks of
every kind. The default rule set scores three programs, a rule set using every variable the fourth.

tests/data/pinned_scores.csv holds the score file the run wrote (every score, eligibility, reason and the
components with every variable) before the history was summed in polars; write it again only when the scores are
meant to change (`PIN_SCORES_WRITE=1`).
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from derbridge.dacs import schema as dacs
from derbridge.dacs.scores import rule_sets, runs
from derbridge.dacs.scores.cycles import current_cycle
from derbridge.dacs.scores.schedule import Destination
from derbridge.store.db import make_engine, reading
from derbridge.store.migrations import upgrade
from tests.score_seed import HEAD_END, Device, add_device, add_program, add_rule, add_status_check
from tests.seed import NOW

PINNED = Path(__file__).parent.parent / "data" / "pinned_scores.csv"
DEVICES = 300
PROGRAMS = ("SMARTSTAT", "PEAKWEEK", "SUMMER", "NORULES")
ZONES = ("America/Chicago", "America/New_York", "America/Denver", "America/Los_Angeles", "Pacific/Honolulu",
         "Europe/London", "Nowhere/Unknown")
OUTCOMES = ("D1SP", "D1SP", "D1SP", "D1ND", "D1IO", "D1ER", None)
EVERY_VARIABLE = rule_sets.RuleSetCreate.model_validate({
    "name": "every-variable", "description": "Uses every variable",
    "rules": [{"name": "USED", "formula": "CU / CA + BR"},
              {"name": "LATE", "formula": "DE > DP or OO + IO + ND > 2"},
              {"name": "SC", "formula": "AC * AV * CM * (if LATE then 5 else 1) * SN[CU + 1] + USED"}],
    "eligibility": [{"formula": "CM > 0", "reason": "NOT_COMMUNICATING"},
                    {"formula": "CU < CA", "reason": "CAP_REACHED"}],
    "factors": {"SN": [3, 2, 1.5, 1]}})


@pytest.fixture
def seeded(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade("dacs", engine)
    with engine.begin() as connection:
        seed(connection, random.Random(20261123))
    rule_sets.create(engine, EVERY_VARIABLE, "Pat Manager")
    rule_sets.attach(engine, "every-variable", "PEAKWEEK", "Pat Manager")
    yield engine
    engine.dispose()


def seed(connection: Any, draw: random.Random) -> None:
    add_programs(connection)
    boundaries = [*(current_cycle(NOW, zone, frequency).start for zone in ZONES
                    for frequency in ("WEEKLY", "MONTHLY", "SEASONAL")),
                  NOW - timedelta(days=90), NOW - timedelta(days=365), NOW]
    participations: list[dict[str, Any]] = []
    for number in range(1, DEVICES + 1):
        device = Device(number, draw.choice(PROGRAMS))
        add_device(connection, device, registration=draw.choice(("D1RE",) * 8 + ("D1NR", None)),
                   start_at=NOW + timedelta(days=draw.choice((-200,) * 9 + (1,))),
                   end_at=draw.choice((None,) * 9 + (NOW - timedelta(days=1),)))
        connection.execute(sa.update(dacs.premises).where(dacs.premises.c.cis_premise_id == f"R{number:09d}")
                           .values(time_zone=draw.choice(ZONES)))
        participations += [participation(draw, device, event, boundaries) for event in range(draw.randrange(9))]
        for check in range(draw.choice((0, 0, 1, 2, 3))):
            add_status_check(connection, device, draw.choice(("SUCCESS", "SUCCESS", "FAILURE", "TIMEOUT")),
                             NOW - timedelta(days=draw.choice((1, 2, 2, 5)), hours=check))
    add_removed_twins(connection)
    connection.execute(sa.insert(dacs.event_participations), participations)


def add_programs(connection: Any) -> None:
    """Monthly with caps, weekly, seasonal without a cap for its cycle, and a program without rules."""
    add_rule(connection, add_program(connection, "SMARTSTAT", program_id="100000000001"), "MONTHLY4", "MONTHLY",
             max_events_per_month=4, max_events_per_week=2)
    add_rule(connection, add_program(connection, "PEAKWEEK", program_id="100000000002"), "WEEKLY2", "WEEKLY",
             max_events_per_week=2)
    summer = add_program(connection, "SUMMER", program_id="100000000003")
    add_rule(connection, summer, "SEASON", "SEASONAL", max_events_per_month=3)
    add_rule(connection, summer, "SEASONWK", "WEEKLY", max_events_per_week=1)
    add_program(connection, "NORULES", program_id="100000000004")


def participation(draw: random.Random, device: Device, event: int, boundaries: list[datetime]) -> dict[str, Any]:
    """One event of the device at a drawn time (often exactly on a boundary), with drawn gaps in its times."""
    chance = draw.random()
    start: datetime | None = (None if chance < 0.03 else draw.choice(boundaries) if chance < 0.3
                              else NOW - timedelta(days=draw.uniform(-2, 12)) if chance < 0.6
                              else NOW - timedelta(days=draw.uniform(-2, 420)))
    outcome = draw.choice(OUTCOMES)
    opted = outcome is None and draw.random() < 0.8
    hours = timedelta(hours=draw.choice((1, 2, 4)))
    later = start and start + hours
    return {"event_external_id": f"EV{event}", "head_end_system": HEAD_END, "nic_id": device.nic,
            "device_id": device.device_id, "subscription_id": device.subscription, "program_code": device.program,
            "reserved": True, "reservation_start": start, "reservation_end": draw.choice((later, later, None)),
            "opted_out": opted,
            "opted_out_at": draw.choice((None, start and start - hours, NOW - timedelta(days=89))) if opted else None,
            "outcome": outcome,
            "participation_start": draw.choice((start, start, None)) if outcome else None,
            "participation_end": draw.choice((later, later, None)) if outcome else None, "updated_at": NOW}


def add_removed_twins(connection: Any) -> None:
    """Removed devices on the NICs of scored ones (the same physical device, an earlier enrollment)."""
    for number in (3, 17, 42):
        twin = Device(number)
        connection.execute(sa.insert(dacs.controllable_devices).values(
            device_id=f"X{number:011d}", enrollment_id=f"F{number:011d}", subscription_id=twin.subscription,
            status="REMOVED", head_end_system=HEAD_END, nic_id=twin.nic, cis_service_point_id=f"S{number:09d}",
            installed_at=NOW - timedelta(days=400), updated_at=NOW))


def test_the_scores_of_a_varied_history_are_the_pinned_ones(seeded: Engine, tmp_path: Path) -> None:
    done = runs.run_now(seeded, Destination(tmp_path / "files"), "Pat Manager", NOW)

    written = (tmp_path / "files" / "scores" / done["fileName"]).read_text(encoding="utf-8")
    if os.environ.get("PIN_SCORES_WRITE") == "1":
        PINNED.write_text(written, encoding="utf-8")
    assert written == PINNED.read_text(encoding="utf-8")
    assert done["devices"] == len(written.splitlines()) - 1
    with reading(seeded) as connection:
        stored = connection.execute(sa.select(dacs.device_scores.c.device_id, dacs.device_scores.c.components)
                                    .order_by(dacs.device_scores.c.device_id)).all()
    assert [f"{row.device_id},{row.components}" for row in stored] == [
        f"{line.split(',')[0]},{line.split(',')[-1]}" for line in written.splitlines()[1:]]
