"""Event outcomes (F11) applied to the program system's participations, on SQLite and PostgreSQL: every outcome
code, a repeat that changes nothing, a later outcome replacing an earlier one, and an outcome for a device the
program system never heard was reserved."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from derbridge.dacs.outcomes.outcomes import OUTCOMES, Applied, Outcome, apply_outcomes
from derbridge.dacs.schema import event_participations
from tests.event_seed import HEAD_END, add_device, add_event, reserve
from tests.seed import NOW

START = NOW + timedelta(hours=4)
LATER = NOW + timedelta(hours=8)


@pytest.fixture
def dacs_db(dacs_db: Engine) -> Iterator[Engine]:
    """The migrated database (contract/conftest.py), seeded."""
    with dacs_db.begin() as connection:
        add_event(connection, "EV-1", START)
        for n in range(1, 7):
            add_device(connection, f"D{n:011d}", f"NIC-{n}")
            reserve(connection, "EV-1", f"NIC-{n}", f"D{n:011d}")
    yield dacs_db


def outcome(nic: str, code: str = "D1SP", event: str = "EV-1", message: str | None = None) -> Outcome:
    return Outcome(event, HEAD_END, nic, code, START, START + timedelta(hours=2), message)


def participation(engine: Engine, nic: str, event: str = "EV-1") -> Any:
    p = event_participations
    with engine.connect() as connection:
        return connection.execute(sa.select(p).where(p.c.event_external_id == event, p.c.nic_id == nic)).one()


def test_each_outcome_code_is_kept_on_its_participation_which_stays_reserved(dacs_db: Engine) -> None:
    outcomes = [outcome(f"NIC-{n}", code, message="thermostat offline" if code == "D1ER" else None)
                for n, code in enumerate(OUTCOMES, start=1)]
    assert apply_outcomes(dacs_db, outcomes, LATER) == Applied(received=5, created=0, updated=5, unchanged=0)
    for n, code in enumerate(OUTCOMES, start=1):
        row = participation(dacs_db, f"NIC-{n}")
        assert (row.outcome, row.reserved, row.opted_out) == (code, True, False)
        assert row.participation_start.replace(tzinfo=None) == START.replace(tzinfo=None)
    assert participation(dacs_db, "NIC-4").outcome_message == "thermostat offline"
    assert participation(dacs_db, "NIC-6").outcome is None


def test_the_same_outcomes_again_change_nothing(dacs_db: Engine) -> None:
    outcomes = [outcome("NIC-1"), outcome("NIC-2", "D1ND")]
    apply_outcomes(dacs_db, outcomes, LATER)
    assert apply_outcomes(dacs_db, outcomes, LATER + timedelta(hours=1)) == Applied(2, 0, 0, 2)
    assert participation(dacs_db, "NIC-1").outcome_at.replace(tzinfo=None) == LATER.replace(tzinfo=None)


def test_a_later_outcome_for_the_same_device_replaces_the_earlier_one(dacs_db: Engine) -> None:
    apply_outcomes(dacs_db, [outcome("NIC-1", "D1ER", message="no answer")], LATER)
    assert apply_outcomes(dacs_db, [outcome("NIC-1", "D1SP")], LATER) == Applied(1, 0, 1, 0)
    row = participation(dacs_db, "NIC-1")
    assert (row.outcome, row.outcome_message) == ("D1SP", None)


def test_a_device_named_twice_in_one_message_takes_its_last_outcome(dacs_db: Engine) -> None:
    applied = apply_outcomes(dacs_db, [outcome("NIC-1", "D1ND"), outcome("NIC-1", "D1IO")], LATER)
    assert participation(dacs_db, "NIC-1").outcome == "D1IO"
    assert (applied.received, applied.updated) == (2, 1)


def test_an_outcome_without_a_participation_creates_one_unreserved(dacs_db: Engine) -> None:
    with dacs_db.begin() as connection:
        add_device(connection, "D00000000099", "NIC-99")
    applied = apply_outcomes(dacs_db, [outcome("NIC-99", "D1SP"), outcome("NIC-UNKNOWN", "D1ND")], LATER)
    assert applied == Applied(received=2, created=2, updated=0, unchanged=0)
    known = participation(dacs_db, "NIC-99")
    assert (known.reserved, known.opted_out, known.outcome, known.device_id, known.subscription_id,
            known.program_code) == (False, False, "D1SP", "D00000000099", "SUB00000000001", "SMARTSTAT")
    unknown = participation(dacs_db, "NIC-UNKNOWN")
    assert (unknown.reserved, unknown.outcome, unknown.device_id) == (False, "D1ND", None)


def test_an_outcome_of_an_event_the_program_system_does_not_hold_is_kept_without_a_program(dacs_db: Engine) -> None:
    apply_outcomes(dacs_db, [outcome("NIC-1", "D1CN", event="EV-ELSEWHERE")], LATER)
    row = participation(dacs_db, "NIC-1", "EV-ELSEWHERE")
    assert (row.outcome, row.program_code, row.reserved) == ("D1CN", None, False)
