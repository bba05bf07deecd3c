"""The candidate devices of an event, from DERMS's storage, as the reservation engine (selection.py) takes them.

Every active device of the event's program, judged by the availability engine (program rules and caps,
excluded premises, declared unavailability; overridable rules do not block), with what else decides: its
current score and eligibility (scores.py), whether it communicates (registered with its head end, and its
latest status check, if any, not failed), where the network serves it on the event's day (transformer, feeder,
substation), whether that is within the event's zone, whether it is reserved for another event at the same
time or opted out of this one, the day it was last called, and its expected kW (score × its type's kW over the
window, models.py). And the headroom of every rated transformer and feeder. A few set-based queries, whatever
the fleet's size.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from derbridge.clock import as_utc
from derbridge.derms.availability import devices as device_availability
from derbridge.derms.optouts.store import opted_out as customers_opted_out
from derbridge.derms.reservations.models import Models
from derbridge.derms.reservations.scores import DEFAULT_ELIGIBLE, DEFAULT_SCORE, device_scores
from derbridge.derms.reservations.selection import Headroom
from derbridge.derms.schema import (
    devices,
    event_participations,
    feeders,
    service_point_connections,
    status_checks,
    subscriptions,
    transformers,
)
from derbridge.store.bulk import select_frame
from derbridge.store.db import reading

KEYS = ["head_end_system", "nic_id"]


def candidates_of(engine: Engine, event: Any, now: datetime, models: Models) -> tuple[pl.DataFrame, Headroom]:
    """The event's candidates (selection.CANDIDATE_COLUMNS and the nullable ones) and the network's headroom."""
    start, end = as_utc(event.start_at), as_utc(event.end_at)
    request = device_availability.AvailabilityRequest(programCode=event.program_code, eventStart=start,
                                                      eventEnd=end, now=now, limit=0)
    day = start.astimezone(ZoneInfo(models.network_load.time_zone)).date()
    with reading(engine) as connection:
        fleet = _fleet(connection, request, day)
        judged = device_availability.judge(connection, fleet, request, now, excluding_event=event.event_id)
        last_called = _last_called(connection, event.event_id, start)
        elsewhere = _reserved_elsewhere(connection, event.event_id, start, end)
        opted_out = customers_opted_out(connection, event.event_id)
        scores = device_scores(connection)
        headroom = _headroom(connection, models, start, end)
    frame = (judged.join(scores, on=KEYS, how="left").join(last_called, on=KEYS, how="left")
             .pipe(_flagged, elsewhere, "reserved_elsewhere").pipe(_flagged, opted_out, "opted_out")
             .with_columns(
                 reasons=pl.col("reasons").list.set_difference("overridable"),
                 score=pl.col("score").fill_null(DEFAULT_SCORE),
                 not_eligible=~pl.col("eligible").fill_null(DEFAULT_ELIGIBLE),
                 not_communicating=~pl.col("communicating"),
                 no_location=pl.col("transformer_id").is_null(),
                 outside_zone=_outside_zone(event)))
    return _with_expected_kw(frame, models, start, end), headroom


def _fleet(connection: Connection, request: device_availability.AvailabilityRequest, day: Any) -> pl.DataFrame:
    """The program's active devices as availability reads them, with their type, whether they communicate, and
    their network location that day (the substation from its feeder): one query over the fleet."""
    latest = (sa.select(status_checks.c.head_end_system, status_checks.c.nic_id,
                        sa.func.max(status_checks.c.answered_at).label("answered_at"))
              .where(status_checks.c.answered_at.is_not(None))
              .group_by(status_checks.c.head_end_system, status_checks.c.nic_id).subquery())
    last_check = sa.select(status_checks.c.head_end_system, status_checks.c.nic_id, status_checks.c.response_code) \
        .join(latest, sa.and_(latest.c.head_end_system == status_checks.c.head_end_system,
                              latest.c.nic_id == status_checks.c.nic_id,
                              latest.c.answered_at == status_checks.c.answered_at)).subquery()
    spc = service_point_connections
    communicating = sa.and_(devices.c.registration_status == "REGISTERED",
                            sa.func.coalesce(last_check.c.response_code, "SUCCESS") != "FAILURE")
    query = (device_availability.fleet_query(request)
             .add_columns(devices.c.device_type, sa.case((communicating, 1), else_=0).label("communicating"),
                          spc.c.transformer_id, spc.c.feeder_id)
             .outerjoin(spc, sa.and_(spc.c.cis_service_point_id == subscriptions.c.cis_service_point_id,
                                     spc.c.effective_start <= day,
                                     sa.or_(spc.c.effective_end.is_(None), spc.c.effective_end > day)))
             .outerjoin(last_check, sa.and_(last_check.c.head_end_system == devices.c.head_end_system,
                                            last_check.c.nic_id == devices.c.nic_id)))
    found = device_availability.read_fleet(connection, request, query, {
        "device_type": pl.String, "communicating": pl.Int8, "transformer_id": pl.String, "feeder_id": pl.String})
    substation_of = select_frame(connection, sa.select(feeders.c.feeder_id, feeders.c.substation_id),
                                 {"feeder_id": pl.String, "substation_id": pl.String})
    return (found.join(substation_of, on="feeder_id", how="left")
            .with_columns(pl.col("communicating").cast(pl.Boolean)))


def _last_called(connection: Connection, event_id: str, start: datetime) -> pl.DataFrame:
    """The day each device was last called before this event (devices never called have no row)."""
    p = event_participations
    query = (sa.select(p.c.head_end_system, p.c.nic_id, sa.func.max(p.c.start_at).label("last_start"))
             .where(p.c.start_at < start, p.c.event_id != event_id)
             .group_by(p.c.head_end_system, p.c.nic_id))
    found = select_frame(connection, query, {"head_end_system": pl.String, "nic_id": pl.String,
                                             "last_start": pl.Datetime("us", "UTC")})
    return found.select(*KEYS, last_called=pl.col("last_start").dt.date())


def _reserved_elsewhere(connection: Connection, event_id: str, start: datetime, end: datetime) -> pl.DataFrame:
    p = event_participations
    query = (sa.select(p.c.head_end_system, p.c.nic_id).distinct()
             .where(p.c.event_id != event_id, p.c.start_at < end, p.c.end_at > start))
    return select_frame(connection, query, {"head_end_system": pl.String, "nic_id": pl.String})


def _headroom(connection: Connection, models: Models, start: datetime, end: datetime) -> Headroom:
    """Each rated element's rating less its expected load at the window's peak (models.LoadModel)."""
    free = 1.0 - models.network_load.peak_fraction(start, end)

    def rated(key: sa.Column[Any], capacity: sa.Column[Any], name: str) -> pl.DataFrame:
        query = sa.select(key, capacity).where(capacity.is_not(None))
        found = select_frame(connection, query, {name: pl.String, "capacity_kw": pl.Float64})
        return found.select(name, headroom_kw=pl.col("capacity_kw") * free)

    return Headroom(rated(transformers.c.transformer_id, transformers.c.capacity_kw, "transformer_id"),
                    rated(feeders.c.feeder_id, feeders.c.capacity_kw, "feeder_id"))


def _outside_zone(event: Any) -> pl.Expr:
    ids = json.loads(event.zone_ids)
    if event.zone == "SUBSTATIONS":
        return ~pl.col("substation_id").is_in(ids).fill_null(False)
    if event.zone == "FEEDERS":
        return ~pl.col("feeder_id").is_in(ids).fill_null(False)
    return pl.lit(False)


def _flagged(frame: pl.DataFrame, keys: pl.DataFrame, flag: str) -> pl.DataFrame:
    """`frame` with a column `flag`: whether the row's device is among `keys` (head_end_system, nic_id)."""
    marked = keys.unique().with_columns(pl.lit(True).alias(flag))
    return frame.join(marked, on=KEYS, how="left").with_columns(pl.col(flag).fill_null(False))


def _with_expected_kw(frame: pl.DataFrame, models: Models, start: datetime, end: datetime) -> pl.DataFrame:
    """score × the type's mean kW over the window in the device's time zone: one figure per (type, zone)."""
    groups = frame.select("device_type", "time_zone").unique()
    kw = groups.with_columns(type_kw=pl.Series([
        models.expected_kw.over(device_type, start, end, time_zone)
        for device_type, time_zone in groups.iter_rows()], dtype=pl.Float64))
    return (frame.join(kw, on=["device_type", "time_zone"], how="left", nulls_equal=True)
            .with_columns(expected_kw=pl.col("score") * pl.col("type_kw")))
