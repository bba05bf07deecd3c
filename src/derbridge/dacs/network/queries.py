"""The program system's network locations (F1): which transformer, feeder and substation served a service
point on a given day, and the network exports it applied. Applying an export, which needs polars, is
dacs/network/apply.py's; the rules of the records are dacs/network/locations.py's.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Engine

from derbridge.clock import as_utc
from derbridge.dacs.schema import network_exports, network_locations
from derbridge.store.db import reading

EXPORT_ID = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9._:-]+$")


class ExportParameters(BaseModel):
    """What a network export file comes with, in the query string of `PUT /rest/files/networkLocations`."""

    model_config = ConfigDict(extra="ignore")
    exportType: Literal["full", "delta"]
    exportId: str = EXPORT_ID
    asOf: date
    previousExportId: str | None = Field(default=None, min_length=1, max_length=40, pattern=r"^[A-Za-z0-9._:-]+$")
    """The export DERMS made before this one: this one is applied only after it."""


def location_on(engine: Engine, service_point_id: str, day: date) -> dict[str, Any] | None:
    """The record in effect for the service point on `day`, or None."""
    t = network_locations
    with reading(engine) as connection:
        row = connection.execute(sa.select(t).where(
            t.c.cis_service_point_id == service_point_id, t.c.effective_start <= day,
            sa.or_(t.c.effective_end.is_(None), t.c.effective_end > day))).first()
    return describe(row) if row is not None else None


def history(engine: Engine, service_point_id: str) -> list[dict[str, Any]]:
    """The service point's records, oldest first."""
    t = network_locations
    with reading(engine) as connection:
        rows = connection.execute(sa.select(t).where(t.c.cis_service_point_id == service_point_id)
                                  .order_by(t.c.effective_start)).all()
    return [describe(row) for row in rows]


def describe(row: Any) -> dict[str, Any]:
    return {"servicePointId": row.cis_service_point_id, "transformerId": row.transformer_id,
            "feederId": row.feeder_id, "substationId": row.substation_id,
            "effectiveStart": row.effective_start.isoformat(),
            "effectiveEnd": row.effective_end.isoformat() if row.effective_end else None}


def exports(engine: Engine, limit: int = 50) -> list[dict[str, Any]]:
    """The network exports applied, newest first."""
    with reading(engine) as connection:
        rows = connection.execute(sa.select(network_exports).order_by(network_exports.c.applied_at.desc())
                                  .limit(limit)).all()
    return [describe_export(row) for row in rows]


def describe_export(row: Any, result: str = "applied") -> dict[str, Any]:
    """What applying an export did: `result` is "applied", or "already applied" for a repeat."""
    return {"exportId": row.export_id, "exportType": row.export_type, "asOf": row.as_of.isoformat(),
            "previousExportId": row.previous_export_id, "result": result, "rows": row.rows, "closed": row.closed,
            "inserted": row.inserted, "unchanged": row.unchanged, "backDated": row.back_dated, "sha256": row.sha256,
            "appliedAt": as_utc(row.applied_at).isoformat()}
