"""The one clock and the rules every date-time follows: aware UTC, offset-less read as UTC, one wire form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import BaseModel

from derbridge.clock import (
    ManualClock,
    SharedClock,
    SystemClock,
    advance_shared_clock,
    as_utc,
    clock_for,
    iso_utc,
    iso_z,
    use_clock,
    utcnow,
)
from derbridge.web.wire import UtcDateTime

CHICAGO_SUMMER = timezone(timedelta(hours=-5))


def test_every_system_reads_the_clock_it_is_given() -> None:
    manual = ManualClock(datetime(2026, 7, 1, 12, tzinfo=UTC))
    previous = use_clock(manual)
    try:
        assert utcnow() == datetime(2026, 7, 1, 12, tzinfo=UTC)
        manual.advance(timedelta(days=2))
        assert utcnow() == datetime(2026, 7, 3, 12, tzinfo=UTC)
    finally:
        use_clock(previous)


def test_a_shared_clock_moves_every_reader_of_its_file_at_once(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    hub, derms = SharedClock(path), SharedClock(path)
    before = hub.now()
    advance_shared_clock(path, timedelta(days=30))
    assert timedelta(days=30) <= hub.now() - before < timedelta(days=30, seconds=5)
    assert abs(hub.now() - derms.now()) < timedelta(seconds=1)
    assert advance_shared_clock(path, timedelta(days=1)) == timedelta(days=31)


def test_without_its_file_a_shared_clock_is_the_machines(tmp_path: Path) -> None:
    assert abs(SharedClock(tmp_path / "none").now() - datetime.now(UTC)) < timedelta(seconds=1)
    assert isinstance(clock_for(""), SystemClock)
    assert isinstance(clock_for(str(tmp_path / "clock")), SharedClock)


def test_a_time_without_an_offset_is_utc_and_one_with_an_offset_is_converted() -> None:
    assert as_utc(datetime(2026, 7, 1, 9, 0)) == datetime(2026, 7, 1, 9, 0, tzinfo=UTC)  # noqa: DTZ001 (on purpose)
    converted = as_utc(datetime(2026, 7, 1, 9, 0, tzinfo=CHICAGO_SUMMER))
    assert converted.tzinfo is UTC and converted.hour == 14
    assert as_utc(None) is None


def test_wire_times_take_the_vendors_documented_form() -> None:
    assert iso_z(datetime(2026, 7, 1, 9, 5, 7, 123456, tzinfo=CHICAGO_SUMMER)) == "2026-07-01T14:05:07.123Z"
    assert iso_z(datetime(2026, 7, 1, tzinfo=UTC)) == "2026-07-01T00:00:00.000Z"
    assert iso_utc(datetime(2026, 7, 1, tzinfo=CHICAGO_SUMMER)) == "2026-07-01T05:00:00+00:00"
    assert iso_z(None) is None


class Message(BaseModel):
    at: UtcDateTime


@pytest.mark.parametrize(("given", "read"), [
    ("2026-07-01T09:00:00", datetime(2026, 7, 1, 9, tzinfo=UTC)),
    ("2026-07-01T09:00:00Z", datetime(2026, 7, 1, 9, tzinfo=UTC)),
    ("2026-07-01T09:00:00-05:00", datetime(2026, 7, 1, 14, tzinfo=UTC)),
])
def test_wire_models_read_date_times_by_the_one_rule(given: str, read: datetime) -> None:
    at = Message.model_validate({"at": given}).at
    assert at == read and at.utcoffset() == timedelta(0)
