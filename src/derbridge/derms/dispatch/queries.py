"""What operators see of an event's dispatch: per stage and per feeder, the target, reserved, dispatched and
delivered kW (delivered once the outcomes are worked out), and how many devices had each outcome."""

from __future__ import annotations

from collections import defaultdict
from types import SimpleNamespace
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from derbridge.clock import iso_utc
from derbridge.derms.dispatch.schema import (
    dispatch_devices,
    event_outcomes,
    outcome_runs,
    stage_dispatches,
    stage_performance,
)
from derbridge.derms.events.events import event_row, stages_of
from derbridge.derms.headend.model import ACCEPTED
from derbridge.derms.reservations.schema import reservation_devices
from derbridge.derms.reservations.selection import RESERVED
from derbridge.store.db import reading


def performance(engine: Engine, event_id: str, live: pl.DataFrame | None = None) -> dict[str, Any]:
    """The event's performance, stage by stage and feeder by feeder (NotFound for an unknown event); until its
    outcomes are worked out, delivered kW from `live` (live.py) when given."""
    r, d, p = reservation_devices, dispatch_devices, stage_performance
    with reading(engine) as connection:
        event = event_row(connection, event_id)
        stages = stages_of(connection, event_id)
        reserved = {row.feeder_id or "": float(row.kw) for row in connection.execute(
            sa.select(r.c.feeder_id, sa.func.sum(r.c.expected_kw).label("kw"))
            .where(r.c.event_id == event_id, r.c.status == RESERVED).group_by(r.c.feeder_id))}
        dispatches = {row.stage_id: row for row in connection.execute(
            sa.select(stage_dispatches).where(stage_dispatches.c.event_id == event_id))}
        dispatched = list(connection.execute(
            sa.select(d.c.stage_id, d.c.feeder_id, sa.func.sum(d.c.requested_kw).label("kw"),
                      sa.func.count().label("devices"))
            .where(d.c.event_id == event_id, d.c.result == ACCEPTED).group_by(d.c.stage_id, d.c.feeder_id)))
        delivered: dict[tuple[str, str], Any] = {(row.stage_id, row.feeder_id): row for row in connection.execute(
            sa.select(p).where(p.c.event_id == event_id))}
        run = connection.execute(sa.select(outcome_runs).where(outcome_runs.c.event_id == event_id)).first()
        if run is None and live is not None:
            delivered = {(row.stage_id, row.feeder_id): row
                         for row in (SimpleNamespace(**each) for each in live.to_dicts())}
        counts = {row.outcome: int(row.devices) for row in connection.execute(
            sa.select(event_outcomes.c.outcome, sa.func.count().label("devices"))
            .where(event_outcomes.c.event_id == event_id).group_by(event_outcomes.c.outcome))}
    measured = {stage_id for stage_id, _feeder in delivered}
    by_stage: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for feeder, kw in reserved.items():
        for stage in stages:
            by_stage[stage.stage_id][feeder] = _feeder(feeder, kw)
    for row in dispatched:
        entry = by_stage[row.stage_id].setdefault(row.feeder_id or "", _feeder(row.feeder_id or "", 0.0))
        entry.update(dispatchedKw=round(float(row.kw), 3), devices=int(row.devices))
    for (stage_id, feeder), row in delivered.items():
        entry = by_stage[stage_id].setdefault(feeder, _feeder(feeder, 0.0))
        entry.update(deliveredKw=round(row.delivered_kw, 3), baselineKw=round(row.baseline_kw, 3))
    return {
        "eventId": event_id, "status": event.status, "targetKw": event.target_kw,
        "reservedKw": round(sum(reserved.values()), 3), "outcomesCollected": run is not None,
        "live": run is None and live is not None,
        "stages": [_stage(stage, dispatches.get(stage.stage_id), event.target_kw, by_stage[stage.stage_id],
                          run is not None or (live is not None and stage.stage_id in measured))
                   for stage in stages],
        "outcomes": counts,
        "outcomeMessages": run.messages if run else None, "outcomeFile": run.file_id if run else None,
        "collectedAt": iso_utc(run.collected_at) if run else None,
    }


def _feeder(feeder: str, reserved_kw: float) -> dict[str, Any]:
    return {"feederId": feeder or None, "reservedKw": round(reserved_kw, 3), "dispatchedKw": 0.0,
            "deliveredKw": None, "baselineKw": None, "devices": 0}


def _stage(stage: Any, dispatch: Any, target_kw: float, feeders: dict[str, dict[str, Any]],
           collected: bool) -> dict[str, Any]:
    rows = sorted(feeders.values(), key=lambda entry: entry["feederId"] or "")
    if collected:
        for entry in rows:
            entry["deliveredKw"] = entry["deliveredKw"] or 0.0
    return {
        "stageId": stage.stage_id, "name": stage.name, "start": iso_utc(stage.start_at), "end": iso_utc(stage.end_at),
        "dispatch": dispatch.status if dispatch else "NOT_YET", "dispatchedAt": iso_utc(dispatch.sent_at)
        if dispatch else None, "targetKw": target_kw,
        "reservedKw": round(sum(entry["reservedKw"] for entry in rows), 3),
        "dispatchedKw": round(sum(entry["dispatchedKw"] for entry in rows), 3),
        "deliveredKw": round(sum(entry["deliveredKw"] for entry in rows), 3) if collected else None,
        "devicesDispatched": dispatch.devices if dispatch else 0,
        "devicesAccepted": dispatch.accepted if dispatch else 0,
        "byFeeder": rows,
    }


def outcomes_of(engine: Engine, event_id: str, outcome: str | None, limit: int) -> list[dict[str, Any]]:
    """The event's devices' outcomes as sent, by device."""
    o = event_outcomes
    query = sa.select(o).where(o.c.event_id == event_id).order_by(o.c.head_end_system, o.c.nic_id).limit(limit)
    if outcome:
        query = query.where(o.c.outcome == outcome)
    with reading(engine) as connection:
        event_row(connection, event_id)
        return [{"headEndSystem": row.head_end_system, "nicId": row.nic_id, "outcome": row.outcome,
                 "participationStart": iso_utc(row.start_at), "participationEnd": iso_utc(row.end_at),
                 "errorMessage": row.error_message, "messageId": row.message_id} for row in connection.execute(query)]
