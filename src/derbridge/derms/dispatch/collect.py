"""After an event: its devices' outcomes and its performance, worked out once and sent to the program system.

An event is due once it is Completed, or Cancelled once started (its head ends told to stop), every stage's
dispatch is recorded, and its head ends' reporting lag has passed since its end (a stopped event's end is the end
of the quarter hour holding its cancellation: every device of it is cancelled, D1CN, with the part of its window it
curtailed in, up to the cancellation; each stage's delivery is over its quarter hours until then). Its devices are
those dispatched and those still reserved (a device reserved but never dispatched, its stages missed while DERMS
was down, is D1ER). DERMS then reads, in bulk per head end, the telemetry of the event's window and of the
`BASELINE_DAYS` days before it, works out the outcomes (outcomes.py) and the performance (performance.py), and
writes them with the messages for the hub in one transaction: up to `MAX_MESSAGES` messages of 1,000 outcomes, each
keyed by its id (`<event>-O<n>`), or one file through the hub's file relay when there are more. A head end whose
telemetry cannot be read holds the event back until `GIVE_UP_AFTER` past its end; its devices are then D1ER.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from derbridge.clock import as_utc
from derbridge.derms.dispatch.outcomes import KEY, outcomes
from derbridge.derms.dispatch.performance import BASELINE_DAYS, performance
from derbridge.derms.dispatch.schema import (
    dispatch_devices,
    event_outcomes,
    outcome_runs,
    stage_dispatches,
    stage_performance,
)
from derbridge.derms.dispatch.stages import NOT_SETTLED
from derbridge.derms.events.events import cancelled_at
from derbridge.derms.events.lifecycle import Status
from derbridge.derms.events.schema import event_stages, events
from derbridge.derms.headend.gateway import Gateway
from derbridge.derms.headend.model import INTERVAL
from derbridge.derms.reservations.schema import reservation_devices
from derbridge.derms.reservations.selection import RESERVED
from derbridge.derms.schema import outbound_files, outbound_messages
from derbridge.store.bulk import bulk_insert, select_frame
from derbridge.store.db import reading
from derbridge.store.outbox import new_file_values, new_outbox_values
from derbridge.tables.spec import sha256_of

MESSAGE_PATH = "/hub/from-derms/eventOutcome"
FILE_PATH = "/hub/files/from-derms/eventOutcomes"
PER_MESSAGE = 1000
MAX_MESSAGES = 10
GIVE_UP_AFTER = timedelta(hours=1)
WITHDRAWN = ("OPTED_OUT", "RELEASED")
ANSWER_SCHEMA = {"stage_id": pl.String, "head_end_system": pl.String, "nic_id": pl.String, "feeder_id": pl.String,
                 "requested_kw": pl.Float64, "result": pl.String, "message": pl.String}


def collect_due(engine: Engine, gateway: Gateway, now: datetime, files: Path) -> int:
    """Work out and send the outcomes of every event that is due; returns how many events were done."""
    done = 0
    for event in _ended_without_outcomes(engine):
        end = read_until(event)
        with reading(engine) as connection:
            answers = select_frame(connection, sa.select(*[dispatch_devices.c[name] for name in ANSWER_SCHEMA])
                                   .where(dispatch_devices.c.event_id == event.event_id), ANSWER_SCHEMA)
        lag = max((gateway.reporting_lag_s(name) for name in answers["head_end_system"].unique()), default=0.0)
        if now < end + timedelta(seconds=lag):
            continue
        if collect(engine, gateway, event, answers, now, files):
            done += 1
    return done


def _ended_without_outcomes(engine: Engine) -> list[Any]:
    """Completed events, and events cancelled once started, with no outcomes yet whose stages' dispatches are all
    settled (none PENDING, none STOPPING); a cancelled one with the time of its cancellation."""
    e, d = events, stage_dispatches
    unsettled = sa.select(d.c.event_id).where(d.c.status.in_(NOT_SETTLED))
    with reading(engine) as connection:
        return list(connection.execute(
            sa.select(e.c.event_id, e.c.start_at, e.c.end_at, cancelled_at(e.c.event_id).label("cancelled_at"))
            .outerjoin(outcome_runs, outcome_runs.c.event_id == e.c.event_id)
            .where(e.c.status.in_([Status.COMPLETED, Status.CANCELLED]), outcome_runs.c.event_id.is_(None),
                   e.c.event_id.not_in(unsettled))
            .where(sa.exists(sa.select(d.c.stage_id).where(d.c.event_id == e.c.event_id)))
            .order_by(e.c.end_at)))


def ended_at(event: Any) -> datetime:
    """When the event's dispatch ended: its end, or its cancellation when it was cancelled in progress."""
    end = as_utc(event.end_at)
    return end if event.cancelled_at is None else min(end, as_utc(event.cancelled_at))


def read_until(event: Any) -> datetime:
    """The end of the telemetry read for the event: its end, or, stopped, the end of the quarter hour that holds
    the cancellation (the head ends report whole quarter hours, and the devices curtailed in that one)."""
    if event.cancelled_at is None:
        return as_utc(event.end_at)
    quarter = INTERVAL.total_seconds()
    after = datetime.fromtimestamp(math.ceil(ended_at(event).timestamp() / quarter) * quarter, UTC)
    return min(as_utc(event.end_at), after)


def collect(engine: Engine, gateway: Gateway, event: Any, answers: pl.DataFrame, now: datetime, files: Path) -> bool:
    """One event's outcomes and performance, written and queued; False when a head end must be asked again."""
    start, end, ended = as_utc(event.start_at), read_until(event), ended_at(event)
    r = reservation_devices
    with reading(engine) as connection:
        held = select_frame(connection, sa.select(r.c.head_end_system, r.c.nic_id, r.c.status)
                            .where(r.c.event_id == event.event_id, r.c.status.in_([RESERVED, *WITHDRAWN])),
                            {"head_end_system": pl.String, "nic_id": pl.String, "status": pl.String})
    devices = pl.concat([answers.select(KEY), held.filter(pl.col("status") == RESERVED).select(KEY)]).unique(
        maintain_order=True)
    keys = list(devices.iter_rows())
    telemetry, unreachable = gateway.telemetry(keys, start, end) if keys else (_no_telemetry(), {})
    if unreachable and now < end + GIVE_UP_AFTER:
        return False
    history = [gateway.telemetry(keys, start - timedelta(days=k), end - timedelta(days=k))[0]
               for k in range(1, BASELINE_DAYS + 1)] if keys else []
    withdrawn = held.filter(pl.col("status").is_in(WITHDRAWN)).select(KEY)
    with reading(engine) as connection:
        stages = select_frame(connection, sa.select(event_stages.c.stage_id, event_stages.c.start_at,
                                                    event_stages.c.end_at)
                              .where(event_stages.c.event_id == event.event_id),
                              {"stage_id": pl.String, "start_at": pl.Datetime("us", "UTC"),
                               "end_at": pl.Datetime("us", "UTC")})
    flagged = devices.join(withdrawn.with_columns(withdrawn=pl.lit(True)), on=KEY, how="left").with_columns(
        pl.col("withdrawn").fill_null(False) | pl.lit(event.cancelled_at is not None))
    found = outcomes(flagged, answers, telemetry, unreachable).with_columns(  # no participation past the stop
        end_at=pl.when(pl.col("end_at") > ended).then(pl.lit(ended).dt.cast_time_unit("us")).otherwise("end_at"))
    read = stages.with_columns(end_at=pl.min_horizontal("end_at", pl.lit(end).dt.cast_time_unit("us")))
    delivered = performance(read, answers, telemetry, pl.concat([telemetry.head(0), *history]))
    with engine.begin() as connection:
        if connection.execute(sa.select(outcome_runs.c.event_id)
                              .where(outcome_runs.c.event_id == event.event_id).with_for_update()).first():
            return False
        messages, file_id = _queue(connection, event.event_id, found, files)
        bulk_insert(connection, stage_performance, delivered.with_columns(event_id=pl.lit(event.event_id)))
        connection.execute(sa.insert(outcome_runs).values(
            event_id=event.event_id, outcomes=found.height, messages=messages, file_id=file_id,
            unreachable=json.dumps(unreachable), collected_at=now))
    return True


def _queue(connection: Connection, event_id: str, found: pl.DataFrame, files: Path) -> tuple[int, str | None]:
    """The outcomes, each with the id of the message or file that carries it, and those messages or that file."""
    if found.height > PER_MESSAGE * MAX_MESSAGES:
        file_id = f"{event_id}-OUTCOMES"
        bulk_insert(connection, event_outcomes, found.with_columns(event_id=pl.lit(event_id),
                                                                   message_id=pl.lit(file_id)))
        path = files / "outcomes" / f"{file_id}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        wire_records(found, event_id).write_csv(path)
        connection.execute(sa.insert(outbound_files).values(
            message_key=f"F11:{file_id}", kind="event-outcome-file",
            **new_file_values(f"{FILE_PATH}?fileId={file_id}", path, sha256_of(path), "text/csv")))
        return 0, file_id
    numbered = found.with_row_index("n").with_columns(
        message_id=pl.format("{}-O{}", pl.lit(event_id), (pl.col("n") // PER_MESSAGE + 1))).drop("n")
    bulk_insert(connection, event_outcomes, numbered.with_columns(event_id=pl.lit(event_id)))
    messages = 0
    for (message_id,), part in numbered.partition_by("message_id", as_dict=True, maintain_order=True).items():
        connection.execute(sa.insert(outbound_messages).values(
            message_key=f"F11:{message_id}", kind="event-outcomes", **new_outbox_values(MESSAGE_PATH, {
                "messageId": message_id, "postOutcomeList": wire_records(part, event_id).to_dicts()})))
        messages += 1
    return messages, None


def wire_records(found: pl.DataFrame, event_id: str) -> pl.DataFrame:
    """The documented record: eventExternalIdentifier, headEndSystem, nicId, outcome, the participation's times
    (UTC, `…Z`) and errorMessage."""
    def when(column: str) -> pl.Expr:
        return pl.col(column).dt.strftime("%Y-%m-%dT%H:%M:%S.000Z")

    return found.select(eventExternalIdentifier=pl.lit(event_id), headEndSystem="head_end_system", nicId="nic_id",
                        outcome="outcome", participationStartDateTime=when("start_at"),
                        participationEndDateTime=when("end_at"), errorMessage="error_message")


def _no_telemetry() -> pl.DataFrame:
    return pl.DataFrame(schema={"head_end_system": pl.String, "nic_id": pl.String,
                                "interval_start": pl.Datetime("us", "UTC"), "kw": pl.Float64, "state": pl.String})

