"""Date-times the hub writes itself take the vendor's form: UTC, milliseconds, Z."""

import re
from datetime import UTC, date, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from derbridge.clock import iso_z
from derbridge.hub.flows.wire import iso_day, iso_now, msg_ack

VENDOR_FORM = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def test_a_time_is_written_in_utc_with_milliseconds() -> None:
    chicago = timezone(timedelta(hours=-6))
    assert iso_z(datetime(2026, 11, 23, 18, 30, 5, 123456, tzinfo=chicago)) == "2026-11-24T00:30:05.123Z"
    assert iso_z(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01T00:00:00.000Z"


def test_a_naive_time_is_utc_whatever_the_machines_zone() -> None:
    assert iso_z(datetime(2026, 7, 1, 12, 0)) == "2026-07-01T12:00:00.000Z"  # noqa: DTZ001 (naive on purpose)


def test_a_date_becomes_its_first_moment_in_utc() -> None:
    assert iso_day(date(2026, 12, 31)) == "2026-12-31T00:00:00.000Z"


@given(st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2999, 12, 30),  # noqa: DTZ001 (bounds)
                    timezones=st.timezones()))
def test_every_time_has_the_vendor_form_and_the_same_instant(value: datetime) -> None:
    written = iso_z(value)
    assert VENDOR_FORM.match(written)
    back = datetime.fromisoformat(written)
    assert abs(back - value) < timedelta(milliseconds=1)


def test_the_hubs_msg_ack_carries_vendor_times() -> None:
    ack = msg_ack("S1", 7, duplicate=False)
    [response] = ack["responses"]["response"]
    assert VENDOR_FORM.match(ack["whenISO"]) and VENDOR_FORM.match(response["responseTimeISO"])
    assert VENDOR_FORM.match(iso_now())
