"""Energy aggregators: service providers of type DER aggregator, offered to programs.

Create and update write a sync request in the same transaction (F3); delete does not sync, as documented.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator
from sqlalchemy.engine import Connection, Engine

from derbridge.clock import utcnow
from derbridge.dacs.ids import new_id
from derbridge.dacs.schema import aggregators
from derbridge.dacs.sync.sync_requests import write_sync_request
from derbridge.store.db import reading

SYNC_PATH = "/hub/from-dacs/energyAggregatorSync"
AGGREGATOR_ID_DIGITS = 12


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=100)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=30, pattern=r"^[0-9+()\-. ]*$")


class AggregatorIn(BaseModel):
    """What an agent enters for an aggregator."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=100)
    status: Literal["ACTIVE", "INACTIVE"]
    startDate: date
    endDate: date | None = None
    contact: Contact
    externalReferenceId: str | None = Field(default=None, max_length=50)
    externalSystem: str | None = Field(default=None, max_length=50)
    programOfferings: list[str] = Field(default_factory=list, max_length=500)

    @model_validator(mode="after")
    def end_after_start(self) -> AggregatorIn:
        if self.endDate is not None and self.endDate < self.startDate:
            raise ValueError("endDate is before startDate")
        for code in self.programOfferings:
            if not 1 <= len(code) <= 30:
                raise ValueError("each programOfferings entry is a program code of 1 to 30 characters")
        return self


def create(engine: Engine, data: AggregatorIn) -> dict[str, str]:
    aggregator_id = new_id(AGGREGATOR_ID_DIGITS)
    now = utcnow()
    with engine.begin() as connection:
        connection.execute(sa.insert(aggregators).values(
            aggregator_id=aggregator_id, version=1, created_at=now, updated_at=now, **_columns(data)))
        sync_request_id = _write_sync(connection, aggregator_id, data)
    return {"aggregatorId": aggregator_id, "syncRequestId": sync_request_id}


def update(engine: Engine, aggregator_id: str, data: AggregatorIn) -> dict[str, str] | None:
    with engine.begin() as connection:
        changed = connection.execute(sa.update(aggregators).where(aggregators.c.aggregator_id == aggregator_id)
                                     .values(version=aggregators.c.version + 1, updated_at=utcnow(),
                                             **_columns(data))).rowcount
        if not changed:
            return None
        sync_request_id = _write_sync(connection, aggregator_id, data)
    return {"aggregatorId": aggregator_id, "syncRequestId": sync_request_id}


def delete(engine: Engine, aggregator_id: str) -> bool:
    """Remove an aggregator. No sync request: DERMS keeps its copy (documented behaviour)."""
    with engine.begin() as connection:
        return bool(connection.execute(sa.delete(aggregators)
                                       .where(aggregators.c.aggregator_id == aggregator_id)).rowcount)


def get(engine: Engine, aggregator_id: str) -> dict[str, Any] | None:
    with reading(engine) as connection:
        row = connection.execute(sa.select(aggregators).where(aggregators.c.aggregator_id == aggregator_id)).first()
    return describe(row) if row else None


def list_all(engine: Engine, limit: int = 1000) -> list[dict[str, Any]]:
    with reading(engine) as connection:
        rows = connection.execute(sa.select(aggregators).order_by(aggregators.c.name).limit(limit)).all()
    return [describe(row) for row in rows]


def _columns(data: AggregatorIn) -> dict[str, Any]:
    return {
        "name": data.name, "status": data.status, "start_date": data.startDate, "end_date": data.endDate,
        "contact_name": data.contact.name, "contact_email": data.contact.email,
        "contact_phone": data.contact.phone, "external_reference_id": data.externalReferenceId,
        "external_system": data.externalSystem, "program_offerings": json.dumps(data.programOfferings),
    }


def _write_sync(connection: Connection, aggregator_id: str, data: AggregatorIn) -> str:
    return write_sync_request(connection, "AGGREGATOR", aggregator_id, SYNC_PATH,
                              lambda sync_request_id: sync_payload(sync_request_id, aggregator_id, data))


def sync_payload(sync_request_id: str, aggregator_id: str, data: AggregatorIn) -> dict[str, Any]:
    """The program system's aggregator sync message, as it leaves for the hub."""
    return {
        "syncRequestId": sync_request_id,
        "serviceProviderId": aggregator_id,
        "serviceProviderType": "DER_AGGREGATOR",
        "name": data.name,
        "status": data.status,
        "startDate": data.startDate.isoformat(),
        "endDate": data.endDate.isoformat() if data.endDate else None,
        "contact": {"name": data.contact.name, "email": data.contact.email, "phone": data.contact.phone},
        "externalReferenceId": data.externalReferenceId,
        "externalSystem": data.externalSystem,
        "programOfferings": [{"programCode": code} for code in data.programOfferings],
    }


def describe(row: Any) -> dict[str, Any]:
    return {
        "aggregatorId": row.aggregator_id, "name": row.name, "status": row.status,
        "startDate": row.start_date.isoformat(), "endDate": row.end_date.isoformat() if row.end_date else None,
        "contact": {"name": row.contact_name, "email": row.contact_email, "phone": row.contact_phone},
        "externalReferenceId": row.external_reference_id, "externalSystem": row.external_system,
        "programOfferings": json.loads(row.program_offerings), "version": row.version,
    }
