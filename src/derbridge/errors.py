"""One error hierarchy: transient faults are retried with backoff, permanent ones are dead-lettered."""

from __future__ import annotations


class DerbridgeError(Exception):
    """Base of every error derbridge raises on purpose."""


class TransientError(DerbridgeError):
    """The other side is down, slow or overloaded: try again later."""


class PermanentError(DerbridgeError):
    """Trying again cannot help (the payload or the target's answer is wrong): dead-letter it."""


class InvalidInput(PermanentError):
    """A request that no schema could refuse: it names something that does not exist, or its parts contradict
    each other. `problems` maps each bad field (dotted path) to what is wrong with it; answered with a 422."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{field}: {problem}" for field, problem in problems.items()))


class Conflict(PermanentError):
    """The request is well formed but the current state forbids it (e.g. a status change that does not exist);
    answered with a 409."""


class NotFound(PermanentError):
    """The request names, in its path, something that does not exist; answered with a 404."""

    def __init__(self, what: str, key: str) -> None:
        self.what = what
        self.key = key
        super().__init__(f"no {what} {key!r}")
