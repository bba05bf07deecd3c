"""The one error tree every system raises from: transient faults are retried, permanent ones are not.

Domain code raises these and nothing HTTP; each app maps them to problem+json in one place
(web/problems.py `problem_of`): NotFound 404, Conflict 409, Refused 409 with its vendor message,
InvalidInput 422 naming each field, FileRefused with its own status, TooEarly 425, TransientError 503.
The hub reads the same classes as delivery verdicts: transient is retried with backoff, permanent is
dead-lettered.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class DerbridgeError(Exception):
    """Base of every error derbridge raises on purpose."""


class TransientError(DerbridgeError):
    """The other side is down, slow or overloaded, or something it needs is not there yet: try again later."""


class TooEarly(TransientError):
    """The request depends on one not applied yet (e.g. an export after the one it follows): answered 425, which
    senders retry, so the order restores itself."""


class PermanentError(DerbridgeError):
    """Trying again cannot help (the payload or the target's answer is wrong): dead-letter it."""


class NotFound(PermanentError):
    """The request names something that does not exist."""

    def __init__(self, what: str, key: str, hint: str = "") -> None:
        self.what = what
        self.key = key
        super().__init__(f"no {what} {key!r}" + (f"; {hint}" if hint else ""))


class Conflict(PermanentError):
    """The request is well formed but the current state forbids it (e.g. a status change that does not exist)."""


class Refused(Conflict):
    """A business rule refuses the request, with the vendor-style message that says which: a category, a number
    and its text (e.g. the program system's enrollment messages, category 90000)."""

    def __init__(self, text: str, *, category: int, number: int) -> None:
        self.text = text
        self.category = category
        self.number = number
        super().__init__(text)


class InvalidInput(PermanentError):
    """A request that no schema could refuse: it names something that does not exist, or its parts contradict
    each other. `problems` maps each bad field (dotted path) to what is wrong with it."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{field}: {problem}" for field, problem in problems.items()))


class FileRefused(PermanentError):
    """A file cannot be applied; `errors` name each problem's column and rows (problem+json `errors`), and
    `status` says how it failed (400 unreadable, 413 too large, 415 media type, 422 its columns or values)."""

    def __init__(self, status: int, title: str, detail: str, errors: Sequence[dict[str, Any]] = ()) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = list(errors)
