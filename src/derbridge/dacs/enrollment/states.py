"""An enrollment's states, the moves between them with a history line each, and the answer an enroll call gets.

    PENDING ──validation──► DEVICE-SETUP ──every device's status check SUCCESS──► ACTIVE ──► UNENROLLED
       │                         │
       └──► VAL-ERROR            └──► SETUP-ERROR (a check failed or got no result in time)

Both error states carry a message category, number and text, and an agent can retry them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from derbridge.dacs.enrollment.validation import Refusal
from derbridge.dacs.schema import (
    enrollment_history,
    enrollments,
)
from derbridge.errors import NotFound

PENDING, VAL_ERROR, DEVICE_SETUP, SETUP_ERROR = "PENDING", "VAL-ERROR", "DEVICE-SETUP", "SETUP-ERROR"
ACTIVE, UNENROLLED = "ACTIVE", "UNENROLLED"
RETRYABLE = (VAL_ERROR, SETUP_ERROR)
UNENROLL_REASONS = ("LSSL", "CUSTOMEROPTOUT", "INACTIVESERVICE", "INELIGIBLERATE")
ENROLLMENT_DIGITS, SUBSCRIPTION_DIGITS, DEVICE_DIGITS = 12, 14, 12


# ---- the enroll call --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Enrolled:
    """The answer to an enroll call."""

    enrollment_id: str
    status: str
    refusal: Refusal | None = None
    duplicate: bool = False

    def as_answer(self, request_transaction_id: str | None) -> dict[str, Any]:
        answer: dict[str, Any] = {"enrollmentId": self.enrollment_id, "transactionId": request_transaction_id,
                                  "status": self.status}
        if self.refusal is not None:
            answer["exception"] = {"messageCategory": self.refusal.category, "messageNumber": self.refusal.number,
                                   "comments": self.refusal.text}
        return answer


# ---- state and history ------------------------------------------------------------------------------------


StatusChange = tuple[str, str, Refusal | None, str | None]
"""(enrollment id, new status, the refusal that caused it, or a note for the history)."""


def set_statuses(connection: Connection, changes: list[StatusChange], now: datetime) -> None:
    """Move enrollments to new states, with a history line each, in two statements for all."""
    if not changes:
        return
    connection.execute(sa.update(enrollments).where(enrollments.c.enrollment_id == sa.bindparam("enrollment"))
                       .values(status=sa.bindparam("new_status"), updated_at=now,
                               exception_category=sa.bindparam("category"), exception_number=sa.bindparam("number"),
                               exception_text=sa.bindparam("text")),
                       [{"enrollment": enrollment_id, "new_status": status, **exception_params(refused)}
                        for enrollment_id, status, refused, _note in changes])
    histories(connection, [(enrollment_id, status, refused.text if refused else note)
                            for enrollment_id, status, refused, note in changes], now)


def exception_values(refused: Refusal | None) -> dict[str, Any]:
    """An enrollment's exception columns: the refusal's message, or none."""
    if refused is None:
        return {"exception_category": None, "exception_number": None, "exception_text": None}
    return {"exception_category": refused.category, "exception_number": refused.number,
            "exception_text": refused.text}


def exception_params(refused: Refusal | None) -> dict[str, Any]:
    values = exception_values(refused)
    return {"category": values["exception_category"], "number": values["exception_number"],
            "text": values["exception_text"]}


def histories(connection: Connection, lines: list[tuple[str, str, str | None]], now: datetime) -> None:
    if lines:
        connection.execute(sa.insert(enrollment_history), [
            {"enrollment_id": enrollment_id, "status": status, "note": (note or "")[:254] or None, "at": now}
            for enrollment_id, status, note in lines])


def enrollment_row(connection: Connection, enrollment_id: str) -> Any:
    return connection.execute(sa.select(enrollments).where(enrollments.c.enrollment_id == enrollment_id)).one_or_none()


def required(connection: Connection, enrollment_id: str) -> Any:
    found = enrollment_row(connection, enrollment_id)
    if found is None:
        raise NotFound("enrollment", enrollment_id)
    return found
