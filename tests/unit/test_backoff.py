"""Retries back off exponentially up to a cap, and stop at a limit when one is set."""

from derbridge.runtime.retry import RetryPolicy


def test_backoff_doubles_from_the_initial_wait_up_to_its_cap() -> None:
    policy = RetryPolicy(initial_s=1.0, max_interval_s=10.0)
    assert [policy.delay_s(n) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_a_policy_without_a_limit_is_never_exhausted_and_one_with_a_limit_is_at_it() -> None:
    assert not RetryPolicy(max_attempts=None).exhausted(10_000)
    assert [RetryPolicy(max_attempts=3).exhausted(n) for n in (2, 3, 4)] == [False, True, True]
