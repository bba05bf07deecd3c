"""A program's fleet in DERMS's tables for the reservation benchmarks, loaded in bulk: the program's rules, a
rated network (substations, feeders, transformers of ten service points each), N devices each at its own
service point, two past events' participation over a fifth of the fleet each (for rotation), and one scheduled
event of a summer afternoon."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from derbridge.derms.events import events
from derbridge.derms.events.wire import EventIn
from derbridge.derms.programs import rules as program_rules
from derbridge.derms.schema import (
    devices,
    event_participations,
    feeders,
    service_locations,
    service_point_connections,
    subscriptions,
    substations,
    transformers,
)
from derbridge.store.bulk import bulk_insert

PROGRAM = "BENCHSTAT"
HEAD_END = "ECOCLOUD"
TIME_ZONE = "America/Chicago"
EVENT_START = datetime(2026, 7, 15, 19, tzinfo=UTC)  # a Wednesday, 14:00 in Chicago: 1.2 kW a thermostat
PLANNED_AT = EVENT_START - timedelta(hours=6)
PER_TRANSFORMER, PER_FEEDER, PER_SUBSTATION = 10, 250, 20
TRANSFORMER_KW, FEEDER_KW = 75.0, 20_000.0
RULE = {
    "ruleId": "1", "ruleCode": "SUMMER", "availableForEvents": True, "allowedOverrides": 1,
    "maxEventDurationMinutes": 240, "allowedEventDays": ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"],
    "cycleFrequency": "MONTH", "maxEventsPerSeason": 20, "maxEventsPerMonth": 8, "maxEventsPerWeek": 2,
    "maxEventHoursPerYear": 40.0, "eventWindowStart": "12:00:00", "eventWindowEnd": "19:00:00",
    "minNoticeMinutes": 120, "maxConsecutiveDays": 2, "excludeLifeSupport": True,
}


def load_fleet(engine: Engine, size: int) -> None:
    """The rules, the network and N registered thermostats at their service points, and their history."""
    message = program_rules.ProgramMessage.model_validate(
        {"dacsMessageId": "1", "programId": "1", "programCode": PROGRAM, "rulesVersion": 1, "rules": [RULE]})
    program_rules.apply(engine, message, program_rules.check_rules(message))
    now = datetime.now(UTC)
    row = pl.int_range(size, dtype=pl.Int64, eager=True)
    sites = pl.select(id=pl.format("{}", row), n=row,
                      transformer=pl.format("T{}", row // PER_TRANSFORMER),
                      feeder=pl.format("F{}", row // (PER_TRANSFORMER * PER_FEEDER)),
                      substation=pl.format("S{}", row // (PER_TRANSFORMER * PER_FEEDER * PER_SUBSTATION)))
    with engine.begin() as connection:
        _network(connection, sites, now)
        bulk_insert(connection, service_locations, sites.select(
            cis_service_point_id="SP" + pl.col("id"), cis_premise_id="PR" + pl.col("id"),
            cis_account_id="AC" + pl.col("id"), location_id=pl.lit("L"), address1=pl.lit("1 Main St"),
            city=pl.lit("Springfield"), state=pl.lit("IL"), postal=pl.lit("62701"), country=pl.lit("USA"),
            time_zone=pl.lit(TIME_ZONE), imported_at=pl.lit(now)))
        bulk_insert(connection, subscriptions, sites.select(
            subscription_id="SU" + pl.col("id"), status=pl.lit("ACTIVE"), program_code=pl.lit(PROGRAM),
            cis_person_id="PE" + pl.col("id"), cis_account_id="AC" + pl.col("id"),
            cis_service_point_id="SP" + pl.col("id"), start_at=pl.lit(now), last_message_id=pl.lit("1"),
            updated_at=pl.lit(now)))
        bulk_insert(connection, devices, sites.select(
            head_end_system=pl.lit(HEAD_END), nic_id="NIC" + pl.col("id"), device_id=pl.col("id"),
            subscription_id="SU" + pl.col("id"), device_type=pl.lit("SMART-THERMOSTAT"), active=pl.lit(True),
            registration_status=pl.lit("REGISTERED"), last_message_id=pl.lit("1"), updated_at=pl.lit(now)))
        bulk_insert(connection, event_participations, _history(sites, now))


def _network(connection: sa.Connection, sites: pl.DataFrame, now: datetime) -> None:
    start = date(2026, 1, 1)
    bulk_insert(connection, substations, sites.select("substation").unique().select(
        substation_id="substation", name="substation", effective_start=pl.lit(start), imported_at=pl.lit(now)))
    bulk_insert(connection, feeders, sites.select("feeder", "substation").unique().select(
        feeder_id="feeder", substation_id="substation", capacity_kw=pl.lit(FEEDER_KW),
        effective_start=pl.lit(start), imported_at=pl.lit(now)))
    bulk_insert(connection, transformers, sites.select("transformer", "feeder").unique().select(
        transformer_id="transformer", feeder_id="feeder", feeder_since=pl.lit(start),
        capacity_kw=pl.lit(TRANSFORMER_KW), effective_start=pl.lit(start), imported_at=pl.lit(now),
        updated_at=pl.lit(now)))
    bulk_insert(connection, service_point_connections, sites.select(
        cis_service_point_id="SP" + pl.col("id"), effective_start=pl.lit(start), transformer_id="transformer",
        feeder_id="feeder", substation_id="substation", change_seq=pl.lit(1)))


def _history(sites: pl.DataFrame, now: datetime) -> pl.DataFrame:
    """Two events earlier this summer, each over a fifth of the fleet."""
    frames = []
    for event, days_before in ((0, 20), (1, 9)):
        start = EVENT_START - timedelta(days=days_before)
        called = sites.filter(pl.col("n").hash(event) % 5 == 0)
        frames.append(called.select(
            event_id=pl.lit(f"EV-PAST-{event}"), head_end_system=pl.lit(HEAD_END), nic_id="NIC" + pl.col("id"),
            start_at=pl.lit(start), end_at=pl.lit(start + timedelta(hours=2)), customer_override=pl.lit(False),
            recorded_at=pl.lit(now)))
    return pl.concat(frames)


def schedule_event(engine: Engine, target_kw: float) -> str:
    """A two-hour event of the program on the benchmark's summer afternoon, scheduled."""
    body = EventIn.model_validate({"name": "Bench", "eventType": "ECONOMIC", "programCode": PROGRAM,
                                   "targetKw": target_kw, "start": EVENT_START.isoformat(),
                                   "end": (EVENT_START + timedelta(hours=2)).isoformat()})
    return str(events.create(engine, body, "bench", PLANNED_AT, "DERMS-1")["eventId"])


def count(engine: Engine, table: sa.Table) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
