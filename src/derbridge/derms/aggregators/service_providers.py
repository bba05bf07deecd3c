"""DERMS's copy of the program system's energy aggregators (F3 receiver).

Each message is taken once (keyed by its dacsMessageId) and answered with an ack through the outbox: SUCCESS once
applied, or ERROR naming DERMS's message (acks.py) for details it will not hold, which are then not applied.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from derbridge.clock import as_utc, utcnow
from derbridge.derms.acks import AGGREGATOR_ENDS_BEFORE_START, refusal, sync_ack
from derbridge.derms.schema import aggregators, outbound_messages, received_messages
from derbridge.store.db import reading
from derbridge.store.outbox import new_outbox_values
from derbridge.web.wire import UtcDateTime

ACK_PATH = "/hub/from-derms/aggregatorAck"


class AggregatorMessage(BaseModel):
    """The aggregator message DERMS accepts at /aggregator."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    dacsMessageId: str = Field(min_length=1, max_length=14)
    aggregatorId: str = Field(min_length=1, max_length=14)
    aggregatorName: str = Field(min_length=1, max_length=100)
    status: Literal["Active", "Inactive"]
    effectiveStartDateTimeISO: UtcDateTime
    effectiveEndDateTimeISO: UtcDateTime | None = None
    contactName: str = Field(min_length=1, max_length=100)
    contactEmail: str | None = Field(default=None, max_length=254)
    contactPhone: str | None = Field(default=None, max_length=30)
    externalReferenceId: str | None = Field(default=None, max_length=50)
    externalSystem: str | None = Field(default=None, max_length=50)
    programCodes: list[str] = Field(default_factory=list)


def apply(engine: Engine, message: AggregatorMessage) -> bool:
    """Create or update the aggregator (unless refused) and queue the ack, atomically; False if already taken."""
    now = utcnow()
    errors = refusals(message)
    try:
        with engine.begin() as connection:
            connection.execute(sa.insert(received_messages).values(
                message_id=message.dacsMessageId, kind="aggregator", received_at=now))
            if not errors:
                _upsert(connection, message, now)
            connection.execute(sa.insert(outbound_messages).values(
                message_key=f"aggregator-ack:{message.dacsMessageId}", kind="aggregator-ack",
                **new_outbox_values(ACK_PATH, sync_ack(message.dacsMessageId, now, errors))))
    except IntegrityError:
        return False
    return True


def refusals(message: AggregatorMessage) -> list[dict[str, Any]]:
    """Well-formed details DERMS will not hold: an aggregator that ends before it starts (90200/211)."""
    start, end = message.effectiveStartDateTimeISO, message.effectiveEndDateTimeISO
    if end is not None and end < start:
        return [refusal(AGGREGATOR_ENDS_BEFORE_START, f"aggregator {message.aggregatorId}: its end "
                                                      f"{end.isoformat()} is before its start {start.isoformat()}")]
    return []


def _upsert(connection: Connection, message: AggregatorMessage, now: datetime) -> None:
    values = {
        "name": message.aggregatorName, "active": message.status == "Active",
        "effective_start": message.effectiveStartDateTimeISO, "effective_end": message.effectiveEndDateTimeISO,
        "contact_name": message.contactName, "contact_email": message.contactEmail,
        "contact_phone": message.contactPhone, "external_reference_id": message.externalReferenceId,
        "external_system": message.externalSystem, "program_codes": json.dumps(message.programCodes),
        "last_message_id": message.dacsMessageId, "updated_at": now,
    }
    updated = connection.execute(sa.update(aggregators)
                                 .where(aggregators.c.aggregator_id == message.aggregatorId).values(**values))
    if not updated.rowcount:
        connection.execute(sa.insert(aggregators).values(aggregator_id=message.aggregatorId, **values))


def list_all(engine: Engine) -> list[dict[str, Any]]:
    with reading(engine) as connection:
        rows = connection.execute(sa.select(aggregators).order_by(aggregators.c.name)).all()
    return [describe(row) for row in rows]


def describe(row: Any) -> dict[str, Any]:
    end = as_utc(row.effective_end)
    return {
        "aggregatorId": row.aggregator_id, "name": row.name, "active": row.active,
        "effectiveStart": as_utc(row.effective_start).isoformat(),
        "effectiveEnd": end.isoformat() if end else None,
        "contact": {"name": row.contact_name, "email": row.contact_email, "phone": row.contact_phone},
        "externalReferenceId": row.external_reference_id, "externalSystem": row.external_system,
        "programCodes": json.loads(row.program_codes), "lastMessageId": row.last_message_id,
    }
