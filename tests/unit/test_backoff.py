"""Retries back off exponentially up to a cap."""

from derbridge.store.outbox import backoff_seconds


def test_backoff_doubles_from_the_initial_interval_up_to_the_cap() -> None:
    assert [backoff_seconds(n, 1.0, 10.0) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
