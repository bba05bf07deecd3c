"""The registration worker: makes the head ends hold exactly the devices the registry wants registered, then
acknowledges the syncs that were waiting for it.

Enrollment syncs and bulk syncs only mark devices (registration_wanted, registration_due); this worker,
woken on every receipt, takes the due devices in chunks, asks the gateway once per head end for each chunk
(register those wanted, deregister those no longer wanted), and records each device's registration and the
head end's message. Devices of many syncs share one gateway call. Then it queues the ack of every
enrollment sync whose devices are all settled, and, after a round that took every due device, the ack file
of every bulk sync that was waiting for registrations when the round began.

A failed registration is recorded (NOT_REGISTERED with the head end's message) and reported; it is tried
again when a later sync touches the device's subscription, not in a loop here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Engine

from derbridge.clock import utcnow
from derbridge.derms.headend.gateway import Gateway
from derbridge.derms.headend.model import Registration
from derbridge.derms.registry import bulk_sync, enrollment_sync
from derbridge.derms.registry import records as registry
from derbridge.derms.registry.records import DEREGISTERED, NOT_REGISTERED, REGISTERED
from derbridge.derms.schema import devices, enrollment_sync_devices, enrollment_syncs, outbound_messages
from derbridge.runtime.worker import Worker
from derbridge.store.bulk import bulk_insert
from derbridge.store.db import reading
from derbridge.store.outbox import new_outbox_values

log = structlog.get_logger()

DEVICES_PER_ROUND = 50_000
ACKS_PER_ROUND = 2_000

results = sa.Table(
    "registration_results", registry.staging,
    sa.Column("head_end_system", sa.String(50), nullable=False),
    sa.Column("nic_id", sa.String(100), nullable=False),
    sa.Column("wanted", sa.Boolean, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("message", sa.Text, nullable=True),
    prefixes=["TEMPORARY"],
)


def reconcile_due(engine: Engine, gateway: Gateway, limit: int = DEVICES_PER_ROUND) -> int:
    """Register or deregister up to `limit` due devices and record the outcome; returns how many were due."""
    with reading(engine) as connection:
        rows = connection.execute(
            sa.select(devices.c.head_end_system, devices.c.nic_id, devices.c.registration_wanted,
                      devices.c.registration_status).where(devices.c.registration_due == sa.true()).limit(limit)
        ).all()
    if not rows:
        return 0
    due = pl.DataFrame(rows, schema=KEYS | {"wanted": pl.Boolean, "current": pl.String}, orient="row")
    wanted, current = pl.col("wanted"), pl.col("current")
    register = due.filter(wanted & (current != REGISTERED)).select(*KEYS).rows()
    deregister = due.filter(~wanted & (current == REGISTERED)).select(*KEYS).rows()
    answers = pl.concat([_answers("register", gateway.register(register) if register else {}),
                         _answers("deregister", gateway.deregister(deregister) if deregister else {})])
    _record(engine, outcome(due.join(answers, on=list(KEYS), how="left")), utcnow())
    return due.height


KEYS = {"head_end_system": pl.String, "nic_id": pl.String}


def _answers(action: str, replies: dict[tuple[str, str], Registration]) -> pl.DataFrame:
    return pl.DataFrame({
        "head_end_system": [key[0] for key in replies], "nic_id": [key[1] for key in replies],
        "action": [action] * len(replies), "ok": [reply.ok for reply in replies.values()],
        "registered": [reply.registered for reply in replies.values()],
        "reply": [reply.message or None for reply in replies.values()],
    }, schema=KEYS | {"action": pl.String, "ok": pl.Boolean, "registered": pl.Boolean, "reply": pl.String})


def outcome(answered: pl.DataFrame) -> pl.DataFrame:
    """Each device's registration after the head end's answer. A registration that failed leaves the device
    not registered (unless the head end says it holds it), with the head end's message; a deregistration that
    failed leaves it registered. A device nobody asked about keeps its registration, with nothing to say."""
    action, ok, registered, reply = pl.col("action"), pl.col("ok"), pl.col("registered"), pl.col("reply")
    status = (pl.when(action == "register").then(pl.when(ok | registered).then(pl.lit(REGISTERED))
                                                 .otherwise(pl.lit(NOT_REGISTERED)))
              .when(action == "deregister").then(pl.when(ok | ~registered).then(pl.lit(DEREGISTERED))
                                                 .otherwise(pl.lit(REGISTERED)))
              .otherwise(pl.col("current")))
    message = (pl.when(ok | action.is_null()).then(None)
               .when(action == "register").then(reply.fill_null("the head end did not register the device"))
               .when(registered).then(pl.format("deregistration failed: {}", reply.fill_null("no reason given")))
               .otherwise(reply))
    return answered.select(*KEYS, "wanted", status=status, message=message)


def _record(engine: Engine, outcome: pl.DataFrame, now: datetime) -> None:
    """One statement for the whole chunk. A device whose wanted state changed since it was read stays due."""
    with engine.begin() as connection, registry.temporary(connection, results):
        bulk_insert(connection, results, outcome)
        changed = devices.c.registration_status != results.c.status
        connection.execute(
            sa.update(devices)
            .where(devices.c.head_end_system == results.c.head_end_system, devices.c.nic_id == results.c.nic_id)
            .values(registration_status=results.c.status, registration_message=results.c.message,
                    registration_changed_at=sa.case((changed, sa.literal(now, devices.c.updated_at.type)),
                                                    else_=devices.c.registration_changed_at),
                    registration_due=devices.c.registration_wanted != results.c.wanted))


def ack_settled_syncs(engine: Engine, limit: int = ACKS_PER_ROUND) -> int:
    """Queue the ack of every pending enrollment sync none of whose devices is due; returns how many."""
    s, listed = enrollment_syncs, enrollment_sync_devices
    waiting = sa.exists().where(listed.c.dacs_message_id == s.c.dacs_message_id,
                                devices.c.head_end_system == listed.c.head_end_system,
                                devices.c.nic_id == listed.c.nic_id, devices.c.registration_due == sa.true())
    now = utcnow()
    with engine.begin() as connection:
        ready = connection.execute(sa.select(s.c.dacs_message_id).where(s.c.state == enrollment_sync.PENDING, ~waiting)
                                   .order_by(s.c.received_at).limit(limit)).scalars().all()
        if not ready:
            return 0
        statuses: dict[str, list[dict[str, Any]]] = {message_id: [] for message_id in ready}
        for start in range(0, len(ready), 500):
            part = ready[start:start + 500]
            rows = connection.execute(
                sa.select(listed.c.dacs_message_id, listed.c.device_id, listed.c.newer_message_id,
                          devices.c.registration_status, devices.c.registration_message)
                .join(devices, sa.and_(devices.c.head_end_system == listed.c.head_end_system,
                                       devices.c.nic_id == listed.c.nic_id))
                .where(listed.c.dacs_message_id.in_(part)).order_by(listed.c.dacs_message_id, listed.c.device_id))
            for row in rows:
                statuses[row.dacs_message_id].append(enrollment_sync.device_status(
                    row.device_id, row.registration_status, row.registration_message, row.newer_message_id))
            connection.execute(sa.delete(listed).where(listed.c.dacs_message_id.in_(part)))
            connection.execute(sa.update(s).where(s.c.dacs_message_id.in_(part), s.c.state == enrollment_sync.PENDING)
                               .values(state=enrollment_sync.ACKED, acked_at=now))
        connection.execute(sa.insert(outbound_messages), [
            {"message_key": enrollment_sync.ack_key(message_id), "kind": "enroll-ack",
             **new_outbox_values(enrollment_sync.ACK_PATH, enrollment_sync.settled_ack(message_id, found, now))}
            for message_id, found in statuses.items()])
    return len(ready)


class RegistrationWorker(Worker):
    """The thread that runs the rounds: woken on every receipt, and every `poll_s` to resume after a restart."""

    def __init__(self, engine: Engine, gateway: Gateway, files_dir: Path, on_queued: Callable[[], None],
                 poll_s: float = 1.0) -> None:
        super().__init__("registrations", poll_s)
        self.engine = engine
        self.gateway = gateway
        self.files_dir = files_dir
        self.on_queued = on_queued

    def round(self) -> float:
        return 0.0 if self.run_once() else self.poll_s

    def run_once(self) -> bool:
        """One round; True when there may be more to do at once."""
        started = utcnow()
        reconciled = reconcile_due(self.engine, self.gateway)
        acked = ack_settled_syncs(self.engine)
        drained = reconciled < DEVICES_PER_ROUND
        files = bulk_sync.finish_registered(self.engine, self.files_dir, started) if drained else 0
        if acked or files:
            self.on_queued()
        return reconciled > 0 or acked >= ACKS_PER_ROUND
