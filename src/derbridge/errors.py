"""One error hierarchy: transient faults are retried with backoff, permanent ones are dead-lettered."""

from __future__ import annotations


class DerbridgeError(Exception):
    """Base of every error derbridge raises on purpose."""


class TransientError(DerbridgeError):
    """The other side is down, slow or overloaded: try again later."""


class PermanentError(DerbridgeError):
    """Trying again cannot help (the payload or the target's answer is wrong): dead-letter it."""
