"""What an event has delivered so far, while it runs: the same measure as after it (performance.py), over the
quarter hours that have ended, from the head ends' telemetry read now. Nothing is stored: an operator asks."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from derbridge.clock import as_utc
from derbridge.derms.dispatch.performance import BASELINE_DAYS, PERFORMANCE_SCHEMA, performance
from derbridge.derms.dispatch.schema import dispatch_devices
from derbridge.derms.events.events import event_row
from derbridge.derms.events.schema import event_stages
from derbridge.derms.headend.gateway import Gateway
from derbridge.store.bulk import select_frame
from derbridge.store.db import reading

ANSWER_SCHEMA = {"stage_id": pl.String, "head_end_system": pl.String, "nic_id": pl.String, "feeder_id": pl.String,
                 "requested_kw": pl.Float64, "result": pl.String}


def live_performance(engine: Engine, gateway: Gateway, event_id: str, now: datetime) -> pl.DataFrame:
    """Per stage and feeder (PERFORMANCE_SCHEMA) over the stages' quarter hours ended by `now`."""
    with reading(engine) as connection:
        event = event_row(connection, event_id)
        answers = select_frame(connection, sa.select(*[dispatch_devices.c[name] for name in ANSWER_SCHEMA])
                               .where(dispatch_devices.c.event_id == event_id), ANSWER_SCHEMA)
        stages = select_frame(connection, sa.select(event_stages.c.stage_id, event_stages.c.start_at,
                                                    event_stages.c.end_at).where(event_stages.c.event_id == event_id),
                              {"stage_id": pl.String, "start_at": pl.Datetime("us", "UTC"),
                               "end_at": pl.Datetime("us", "UTC")})
    start = as_utc(event.start_at)
    ended = min(as_utc(event.end_at), _quarter_floor(now))
    if answers.height == 0 or ended <= start:
        return pl.DataFrame(schema=PERFORMANCE_SCHEMA)
    so_far = stages.filter(pl.col("start_at") < ended).with_columns(
        pl.min_horizontal("end_at", pl.lit(ended).dt.cast_time_unit("us")).alias("end_at"))
    keys = list(answers.select("head_end_system", "nic_id").unique().iter_rows())
    telemetry, _unreachable = gateway.telemetry(keys, start, ended)
    history = [gateway.telemetry(keys, start - timedelta(days=k), ended - timedelta(days=k))[0]
               for k in range(1, BASELINE_DAYS + 1)]
    return performance(so_far, answers, telemetry, pl.concat([telemetry.head(0), *history]))


def _quarter_floor(moment: datetime) -> datetime:
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)
