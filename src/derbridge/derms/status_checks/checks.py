"""F6, DERMS's side: the program system asks whether a device communicates; DERMS asks the device's head end and
answers later, through its outbox, at the hub's `/hub/from-derms/status-check-ack-to-dacs`.

A check is recorded once per dacsMessageId and acknowledged at once. A worker thread, woken on each receipt,
takes the new checks in rounds, asks the gateway once per head end per round, and holds each answer until the
cloud's reporting lag has passed. The due time is stored with the answer, so a restart loses nothing and waits
no longer than it must. A due answer becomes its outbox row in the same transaction that closes the check.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from derbridge.clock import as_utc, iso_utc, iso_z, utcnow
from derbridge.derms.headend.gateway import Gateway
from derbridge.derms.headend.model import DeviceStatus
from derbridge.derms.schema import outbound_messages, status_checks
from derbridge.runtime.worker import Worker
from derbridge.store.db import reading
from derbridge.store.outbox import new_outbox_values

log = structlog.get_logger()

RESULT_PATH = "/hub/from-derms/status-check-ack-to-dacs"
NEW, HELD, ANSWERED = "NEW", "HELD", "ANSWERED"
SUCCESS, FAILURE = "SUCCESS", "FAILURE"
ROUND = 500
"""Most checks one round takes: one gateway call per head end for all of them."""
MESSAGE_LIMIT = 254


class CheckedDevice(BaseModel):
    """`DeviceInfo` of a status check, spelled as the vendor's DERMS spells it."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    division: str | None = Field(default=None, max_length=30)
    deviceType: str | None = Field(default=None, max_length=30)
    specification: str | None = Field(default=None, max_length=60)
    headEndSystem: str = Field(min_length=1, max_length=50)
    nicid: str = Field(min_length=1, max_length=100)


class ConnectionPlugin(BaseModel):
    model_config = ConfigDict(extra="ignore")
    ConnectionId: str | None = Field(default=None, max_length=60)


class Connectivity(BaseModel):
    model_config = ConfigDict(extra="ignore")
    Plugin: ConnectionPlugin | None = None


class StatusCheckMessage(BaseModel):
    """The status check DERMS accepts at /status_check."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    dacsMessageId: str = Field(min_length=1, max_length=30)
    DeviceInfo: CheckedDevice
    ConnectivityProperties: Connectivity | None = None


def receive(engine: Engine, message: StatusCheckMessage, now: datetime | None = None) -> bool:
    """Record the check to be asked; False if this dacsMessageId is already recorded."""
    device = message.DeviceInfo
    plugin = message.ConnectivityProperties.Plugin if message.ConnectivityProperties else None
    try:
        with engine.begin() as connection:
            connection.execute(sa.insert(status_checks).values(
                dacs_message_id=message.dacsMessageId, head_end_system=device.headEndSystem, nic_id=device.nicid,
                division=device.division, device_type=device.deviceType, specification=device.specification,
                connection_id=plugin.ConnectionId if plugin else None, status=NEW, received_at=now or utcnow()))
    except IntegrityError:
        return False
    return True


def result_of(status: DeviceStatus) -> tuple[str, str]:
    """SUCCESS when the head end knows the device and it is online; otherwise FAILURE and why."""
    if status.known and status.online:
        return SUCCESS, "online"
    why = status.message or ("offline" if status.known else "unknown device")
    return FAILURE, why[:MESSAGE_LIMIT]


def result_payload(dacs_message_id: str, code: str, message: str, last_seen: datetime | None) -> dict[str, Any]:
    return {"dacsMessageId": dacs_message_id, "responseCode": code, "message": message, "lastSeenISO": iso_z(last_seen)}



class StatusCheckWorker(Worker):
    """Asks head ends about new checks and releases answers when due; one thread, woken on receipt (so a
    check is asked now rather than at the next poll)."""

    def __init__(self, engine: Engine, gateway: Gateway, wake_outbox: Callable[[], None], *, poll_s: float = 0.5,
                 round_size: int = ROUND, clock: Callable[[], datetime] = utcnow) -> None:
        super().__init__("status-checks", poll_s)
        self.engine = engine
        self.gateway = gateway
        self.wake_outbox = wake_outbox
        self.round_size = round_size
        self.clock = clock

    def round(self) -> float:
        busy, next_due = self.run_once()
        if busy:
            return 0.0
        if next_due is None:
            return self.poll_s
        return min(self.poll_s, max(0.0, (next_due - self.clock()).total_seconds()))

    def run_once(self) -> tuple[bool, datetime | None]:
        """Ask about one round of new checks and release the due answers.

        Returns whether a round was full (more may wait) and when the next held answer falls due.
        """
        asked, answered = self._ask_new()
        released = self._release_due()
        if answered or released:
            self.wake_outbox()
        return asked == self.round_size or released == self.round_size, self._next_due()

    def _ask_new(self) -> tuple[int, int]:
        """Ask the head ends about one round of new checks: how many were asked, how many answered already."""
        t = status_checks
        with reading(self.engine) as connection:
            rows = connection.execute(
                sa.select(t.c.dacs_message_id, t.c.head_end_system, t.c.nic_id)
                .where(t.c.status == NEW).order_by(t.c.received_at).limit(self.round_size)).all()
        if not rows:
            return 0, 0
        asked_at = self.clock()
        answers = self.gateway.latest_status(sorted({(row.head_end_system, row.nic_id) for row in rows}))
        now = self.clock()
        updates, results = [], []
        for row in rows:
            status = answers.get((row.head_end_system, row.nic_id)) or DeviceStatus(
                row.nic_id, False, False, None, f"{row.head_end_system} gave no answer for this device")
            code, message = result_of(status)
            due = asked_at + timedelta(seconds=self.gateway.reporting_lag_s(row.head_end_system))
            answered = due <= now
            updates.append({"key": row.dacs_message_id, "new_status": ANSWERED if answered else HELD,
                            "asked": asked_at, "due": due, "answered": now if answered else None, "code": code,
                            "text": message, "seen": status.last_seen})
            if answered:
                results.append(result_payload(row.dacs_message_id, code, message, status.last_seen))
        statement = (sa.update(t).where(t.c.dacs_message_id == sa.bindparam("key"), t.c.status == NEW)
                     .values(status=sa.bindparam("new_status"), asked_at=sa.bindparam("asked"),
                             due_at=sa.bindparam("due"), answered_at=sa.bindparam("answered"),
                             response_code=sa.bindparam("code"), message=sa.bindparam("text"),
                             last_seen=sa.bindparam("seen")))
        with self.engine.begin() as connection:
            connection.execute(statement, updates)
            _queue_results(connection, results)
        return len(rows), len(results)

    def _release_due(self) -> int:
        t = status_checks
        now = self.clock()
        with reading(self.engine) as connection:
            rows = connection.execute(
                sa.select(t.c.dacs_message_id, t.c.response_code, t.c.message, t.c.last_seen)
                .where(t.c.status == HELD, t.c.due_at <= now).order_by(t.c.due_at).limit(self.round_size)).all()
        if not rows:
            return 0
        statement = (sa.update(t).where(t.c.dacs_message_id == sa.bindparam("key"), t.c.status == HELD)
                     .values(status=ANSWERED, answered_at=now))
        with self.engine.begin() as connection:
            connection.execute(statement, [{"key": row.dacs_message_id} for row in rows])
            _queue_results(connection, [result_payload(row.dacs_message_id, row.response_code, row.message,
                                                       as_utc(row.last_seen)) for row in rows])
        return len(rows)

    def _next_due(self) -> datetime | None:
        t = status_checks
        with reading(self.engine) as connection:
            due = connection.execute(sa.select(sa.func.min(t.c.due_at)).where(t.c.status == HELD)).scalar()
        return as_utc(due)


def _queue_results(connection: Connection, results: list[dict[str, Any]]) -> None:
    if results:
        connection.execute(sa.insert(outbound_messages), [
            {"message_key": f"status-check-ack:{result['dacsMessageId']}", "kind": "status-check-ack",
             **new_outbox_values(RESULT_PATH, result)} for result in results])


# ---- what an operator asks ----

def find(engine: Engine, dacs_message_id: str) -> dict[str, Any] | None:
    found = search(engine, dacs_message_id=dacs_message_id, limit=1)
    return found[0] if found else None


def search(engine: Engine, *, dacs_message_id: str | None = None, nic_id: str | None = None,
           head_end_system: str | None = None, status: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Checks, newest first, each with the delivery of its result to the hub."""
    t, o = status_checks, outbound_messages
    query = (sa.select(t, o.c.status.label("delivery"), o.c.last_error)
             .select_from(t.outerjoin(o, o.c.message_key == sa.literal("status-check-ack:") + t.c.dacs_message_id))
             .order_by(t.c.received_at.desc()).limit(limit))
    for column, value in ((t.c.dacs_message_id, dacs_message_id), (t.c.nic_id, nic_id),
                          (t.c.head_end_system, head_end_system), (t.c.status, status)):
        if value is not None:
            query = query.where(column == value)
    with reading(engine) as connection:
        return [describe(row) for row in connection.execute(query).all()]


def describe(row: Any) -> dict[str, Any]:
    return {
        "dacsMessageId": row.dacs_message_id, "headEndSystem": row.head_end_system, "nicId": row.nic_id,
        "division": row.division, "deviceType": row.device_type, "specification": row.specification,
        "connectionId": row.connection_id, "status": row.status, "receivedAt": iso_utc(row.received_at),
        "askedAt": iso_utc(row.asked_at), "dueAt": iso_utc(row.due_at), "answeredAt": iso_utc(row.answered_at),
        "responseCode": row.response_code, "message": row.message, "lastSeenISO": iso_z(as_utc(row.last_seen)),
        "delivery": row.delivery, "deliveryError": row.last_error,
    }
