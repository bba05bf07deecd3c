"""Whether registered devices may take part in a candidate event, and every rule that stops each one.

The devices are one or more named devices, or every active device of a program. Each device's program comes
from the registry (devices.subscription_id → subscriptions.program_code; active devices of active
subscriptions only), the program's rules from F2 (program_rules.py), its time zone from its service location
(the request's default time zone when it has none), its history from its participation (participation.py).
Declared unavailability (F13): the customers' windows DERMS holds (unavailability/windows.py). Scores (F7): each
device's score and eligibility in the score set in force (scores/sets.py); a device the set marks not eligible
is never available (NOT_ELIGIBLE, not overridable).

The fleet is split by program and time zone, because each has its own rules and calendar (usually one or
two groups); each group is one SQL summary of its history and one `fleet_availability` call over all its
devices, never a loop over devices. A violated rule the operator marked overridable for the program is
reported as such and does not make the device unavailable.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl
import sqlalchemy as sa
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from sqlalchemy.engine import Connection, Engine

from derbridge.derms.availability.engine import UNAVAILABILITY_COLUMNS, EventWindow, Reason, fleet_availability
from derbridge.derms.availability.participation import HISTORY_COLUMNS, history_frame, periods_of, recent_days_frame
from derbridge.derms.availability.rule_set import ProgramRules
from derbridge.derms.programs import rules as program_rules
from derbridge.derms.reservations.scores import best_per_device
from derbridge.derms.schema import devices, sensitive_premises, service_locations, subscriptions
from derbridge.derms.scores.sets import current_scores
from derbridge.derms.unavailability.windows import overlapping
from derbridge.errors import Conflict, InvalidInput
from derbridge.store.bulk import select_frame
from derbridge.store.db import reading

MAX_LISTED_DEVICES = 10_000
KEYS = ("head_end_system", "nic_id")


class DeviceKey(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    headEndSystem: str = Field(min_length=1, max_length=50)
    nicId: str = Field(min_length=1, max_length=100)


class AvailabilityRequest(BaseModel):
    """A candidate event and the devices to judge: either `devices` or every active device of `programCode`."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    programCode: str | None = Field(default=None, min_length=1, max_length=30)
    devices: list[DeviceKey] | None = Field(default=None, min_length=1, max_length=MAX_LISTED_DEVICES)
    eventStart: AwareDatetime
    eventEnd: AwareDatetime
    now: AwareDatetime | None = None
    defaultTimeZone: str = Field(default="UTC", max_length=60)
    limit: int = Field(default=1000, ge=0, le=1_000_000)

    @field_validator("eventEnd")
    @classmethod
    def after_start(cls, value: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("eventStart")
        if start is not None and value <= start:
            raise ValueError(f"eventEnd {value.isoformat()} must be after eventStart {start.isoformat()}")
        return value

    @field_validator("defaultTimeZone")
    @classmethod
    def known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def devices_or_program(self) -> AvailabilityRequest:
        if (self.programCode is None) == (self.devices is None):
            raise ValueError("give either programCode or devices, not both or neither")
        return self


def evaluate(engine: Engine, request: AvailabilityRequest, now: datetime,
             excluding_event: str | None = None) -> pl.DataFrame:
    """One row per device: head_end_system, nic_id, program_code, time_zone, available, reasons (every
    violated rule), overridable (those of them the operator lets planners override). `now` is when the event
    is being planned (for the notice rule); the participation of `excluding_event` (the event being planned
    again) does not count."""
    with reading(engine) as connection:
        judged = judge(connection, _fleet(connection, request), request, now, excluding_event)
        scores = best_per_device(current_scores(connection))
    return with_scores(judged, scores).select(
        "head_end_system", "nic_id", "program_code", "time_zone", "available", "reasons", "overridable", "score",
        "eligible", "score_reason")


def with_scores(judged: pl.DataFrame, scores: pl.DataFrame) -> pl.DataFrame:
    """Each judged device's score, eligible and score_reason from the set in force (null where it holds none);
    one it marks not eligible gets NOT_ELIGIBLE and is not available."""
    held = scores.select(*KEYS, "score", "eligible", score_reason="reason")
    joined = judged.join(held, on=list(KEYS), how="left", maintain_order="left")
    not_eligible = pl.col("eligible").eq(False).fill_null(False)  # noqa: FBT003
    return joined.with_columns(
        reasons=pl.when(not_eligible).then(pl.col("reasons").list.concat(pl.lit([Reason.NOT_ELIGIBLE.value])))
        .otherwise(pl.col("reasons")),
        available=pl.col("available") & ~not_eligible)


def judge(connection: Connection, fleet: pl.DataFrame, request: AvailabilityRequest, now: datetime,
          excluding_event: str | None = None) -> pl.DataFrame:
    """The fleet (FLEET_SCHEMA's columns at least, as `fleet_query` reads them; any others are kept) with each
    device's available, reasons and overridable: one history summary and one engine call per program and time
    zone."""
    results = []
    for (program_code, timezone), group in fleet.group_by("program_code", "time_zone", maintain_order=True):
        rules = _rules(connection, str(program_code))
        window = _window(request, now, str(timezone), group.height)
        judged = _judge_group(connection, request, group, rules, window, excluding_event)
        overridable = sorted(program_rules.overridable_of(connection, str(program_code)))
        results.append(judged.with_columns(overridable=pl.lit(overridable, dtype=pl.List(pl.String))))
    if not results:
        return fleet.with_columns(available=pl.lit(True), reasons=pl.lit([], dtype=pl.List(pl.String)),
                                  overridable=pl.lit([], dtype=pl.List(pl.String)))
    return pl.concat(results).with_columns(
        overridable=pl.col("reasons").list.set_intersection("overridable"),
        available=pl.col("reasons").list.set_difference("overridable").list.len() == 0)


FLEET_SCHEMA: dict[str, Any] = {
    "head_end_system": pl.String, "nic_id": pl.String, "time_zone": pl.String, "life_support": pl.Int8}
"""What `fleet_query` reads first, as `read_fleet` takes it (flags as 0 or 1, the same on every database)."""
NAMED_SCHEMA: dict[str, Any] = {"program_code": pl.String, "active": pl.Int8, "status": pl.String}
"""What it reads next for named devices (a program's fleet has its program, active, of course)."""


def fleet_query(request: AvailabilityRequest) -> sa.Select[Any]:
    """The devices to judge, with their time zone and whether their premise is excluded-sensitive: every active
    device of the program, or the named devices with their program and whether they are active."""
    premise = sa.func.coalesce(subscriptions.c.cis_premise_id, service_locations.c.cis_premise_id)
    query = (_registry(request.defaultTimeZone)
             .add_columns(sa.case((sensitive_premises.c.kind.is_not(None), 1), else_=0).label("life_support"))
             .outerjoin(sensitive_premises, sensitive_premises.c.cis_premise_id == premise))
    if request.devices is None:
        return query.where(subscriptions.c.program_code == request.programCode, *_active())
    return (query.add_columns(subscriptions.c.program_code,
                              sa.case((devices.c.active.is_(True), 1), else_=0).label("active"), subscriptions.c.status)
            .where(sa.tuple_(devices.c.head_end_system, devices.c.nic_id)
                   .in_([(key.headEndSystem, key.nicId) for key in request.devices])))


def read_fleet(connection: Connection, request: AvailabilityRequest, query: sa.Select[Any],
               more: dict[str, Any] | None = None) -> pl.DataFrame:
    """The fleet's rows as a frame, in bulk (a whole program's fleet may be a million devices); `more`, the
    schema of columns a caller added to `fleet_query`."""
    if request.devices is None:
        found = select_frame(connection, query, {**FLEET_SCHEMA, **(more or {})}).with_columns(
            program_code=pl.lit(request.programCode, dtype=pl.String), active=pl.lit(True), status=pl.lit("ACTIVE"))
    else:
        found = select_frame(connection, query, {**FLEET_SCHEMA, **NAMED_SCHEMA, **(more or {})}).with_columns(
            pl.col("active").cast(pl.Boolean))
    return found.with_columns(pl.col("life_support").cast(pl.Boolean))


def _fleet(connection: Connection, request: AvailabilityRequest) -> pl.DataFrame:
    found = read_fleet(connection, request, fleet_query(request))
    if request.devices is not None:
        return _requested_in_order(request.devices, found)
    if found.is_empty() and program_rules.rules_of(connection, str(request.programCode)) is None:
        raise InvalidInput({"programCode": f"DERMS knows no program {request.programCode!r}"})
    return found.sort(KEYS)


def _requested_in_order(requested: list[DeviceKey], found: pl.DataFrame) -> pl.DataFrame:
    """The named devices in the order asked; any unknown, inactive or unenrolled one is refused by name."""
    asked = pl.DataFrame({"head_end_system": [k.headEndSystem for k in requested],
                          "nic_id": [k.nicId for k in requested]}).with_row_index("position")
    joined = asked.join(found, on=list(KEYS), how="left").sort("position")
    problems = {}
    for row in joined.iter_rows(named=True):
        device = f"{row['head_end_system']}/{row['nic_id']}"
        if row["active"] is None:
            problems[f"devices.{row['position']}"] = f"no device {device} in the registry"
        elif not row["active"] or row["status"] != "ACTIVE" or row["program_code"] is None:
            problems[f"devices.{row['position']}"] = f"device {device} is not active in a program"
    if problems:
        raise InvalidInput(problems)
    return joined.unique(subset=list(KEYS), keep="first", maintain_order=True).drop("position")


def _registry(default_timezone: str) -> sa.Select[Any]:
    """Devices with their time zone: devices → subscriptions → service location."""
    joined = (devices
              .outerjoin(subscriptions, subscriptions.c.subscription_id == devices.c.subscription_id)
              .outerjoin(service_locations,
                         service_locations.c.cis_service_point_id == subscriptions.c.cis_service_point_id))
    return sa.select(devices.c.head_end_system, devices.c.nic_id,
                     _time_zone(default_timezone).label("time_zone")).select_from(joined)


def _time_zone(default_timezone: str) -> sa.ColumnElement[str]:
    return sa.func.coalesce(service_locations.c.time_zone, sa.literal(default_timezone, sa.String))


def _active() -> tuple[sa.ColumnElement[bool], ...]:
    return devices.c.active.is_(True), subscriptions.c.status == "ACTIVE"


def _rules(connection: Connection, program_code: str) -> ProgramRules:
    held = program_rules.rules_of(connection, program_code)
    if held is None:
        raise Conflict(f"DERMS has no rules for program {program_code}: the program system has not synced it")
    try:
        return program_rules.combined(held)
    except Conflict as exc:
        raise Conflict(f"program {program_code}: {exc}") from exc


def _window(request: AvailabilityRequest, now: datetime, timezone: str, devices_in_zone: int) -> EventWindow:
    try:
        return EventWindow(start=request.eventStart, end=request.eventEnd, now=now, timezone=timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise Conflict(f"{devices_in_zone} device(s) have a service location in an unknown time zone "
                       f"{timezone!r}") from exc


def _judge_group(connection: Connection, request: AvailabilityRequest, group: pl.DataFrame, rules: ProgramRules,
                 window: EventWindow, excluding_event: str | None) -> pl.DataFrame:
    """One program and time zone: summarise the group's history in bulk, then one engine call."""
    members = fleet_members(request)
    periods = periods_of(window.start, window.timezone)
    history = history_frame(connection, members, periods, rules.cycle_frequency, excluding_event)
    fleet = group.join(history, on=list(KEYS), how="left").with_columns(pl.col(HISTORY_COLUMNS).fill_null(0))
    if rules.max_consecutive_days is not None:
        recent = recent_days_frame(connection, members, window.local_dates(), rules.max_consecutive_days,
                                   window.timezone, excluding_event)
        fleet = fleet.join(recent, on=list(KEYS), how="left")
    fleet = fleet.with_columns(
        device_id=pl.int_range(pl.len()).cast(pl.String),
        recent_event_days=_days_or_empty(fleet),
    )
    judged = fleet_availability(fleet, declared_unavailability(connection, fleet, window), rules, window)
    return fleet.select(group.columns).with_columns(available=judged["available"], reasons=judged["reasons"])


def _days_or_empty(fleet: pl.DataFrame) -> pl.Expr:
    if "recent_event_days" not in fleet.columns:
        return pl.lit([], dtype=pl.List(pl.Date))
    return pl.col("recent_event_days").fill_null(pl.lit([], dtype=pl.List(pl.Date)))


def fleet_members(request: AvailabilityRequest) -> sa.Select[Any] | None:
    """The named devices' keys, as a select the history queries join to; None for a whole program's fleet, whose
    history is summarised over every device and joined to the fleet in memory (one pass over the participation
    in the event's periods, rather than the registry joined once more)."""
    if request.devices is None:
        return None
    return (sa.select(devices.c.head_end_system, devices.c.nic_id)
            .where(sa.tuple_(devices.c.head_end_system, devices.c.nic_id)
                   .in_([(key.headEndSystem, key.nicId) for key in request.devices])))


def declared_unavailability(connection: Connection, fleet: pl.DataFrame, window: EventWindow) -> pl.DataFrame:
    """Customers' declared windows (F13) over the event, for the fleet's devices (their `device_id` in the fleet):
    device_id, start, end. Only windows overlapping the event are read, whatever the fleet's size."""
    device_id, start, end = UNAVAILABILITY_COLUMNS
    declared = overlapping(connection, window.start, window.end)
    return fleet.select(*KEYS, device_id).join(declared, on=list(KEYS)).select(device_id, start, end)


def answer(request: AvailabilityRequest, judged: pl.DataFrame, now: datetime) -> dict[str, Any]:
    """The JSON answer: a summary of the whole fleet and up to `limit` devices with every violated rule."""
    listed = judged.head(request.limit)
    return {
        "eventStart": request.eventStart.isoformat(), "eventEnd": request.eventEnd.isoformat(),
        "now": now.isoformat(),
        "summary": summary(judged),
        "devices": [
            {"headEndSystem": row["head_end_system"], "nicId": row["nic_id"], "programCode": row["program_code"],
             "timeZone": row["time_zone"], "available": row["available"], "score": row["score"],
             "eligible": row["eligible"], "scoreReason": row["score_reason"],
             "violations": [{"code": code, "text": Reason(code).text, "overridable": code in row["overridable"]}
                            for code in row["reasons"]]}
            for row in listed.iter_rows(named=True)
        ],
        "truncated": judged.height > listed.height,
    }


def summary(judged: pl.DataFrame) -> dict[str, Any]:
    """Counts: devices, available, unavailable, and per violated rule how many devices it touches and blocks."""
    per_reason = (
        judged.select("reasons", "overridable").with_row_index("device")
        .explode("reasons").drop_nulls("reasons")
        .group_by("reasons")
        .agg(devices=pl.len(), blocking=(~pl.col("overridable").list.contains(pl.col("reasons"))).sum())
    )
    counts = {row["reasons"]: row for row in per_reason.iter_rows(named=True)}
    available = int(judged["available"].sum())
    return {
        "devices": judged.height, "available": available, "unavailable": judged.height - available,
        "reasons": [{"code": reason.value, "text": reason.text, "devices": counts[reason.value]["devices"],
                     "blocking": counts[reason.value]["blocking"]}
                    for reason in Reason if reason.value in counts],
    }
