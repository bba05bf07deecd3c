"""Event participations from reservations (F9): one per event and device, reserved; taken back when DERMS drops
the device or cancels the event.

A call names up to 10,000 devices; every device must be one the program system holds active, or the call is
refused naming each unknown device and nothing of it is applied. A reservation for a cancelled event is
refused (409). The calls that arrive together are applied in one transaction, one after another, so a group
costs one commit (the endpoint gathers them: runtime/group_commit.py).

Each call is applied set-based, its devices passed as one JSON parameter (thousands of keys bound one by one
cost more to prepare than the statements cost to run), in a savepoint: one UPDATE for the participations
already held (reserved again over the window given now), one INSERT … SELECT … ON CONFLICT DO NOTHING for the
others, joined to the enrolled devices for their ids and program. Every active device listed is then either
refreshed or inserted, so fewer than the distinct devices listed means some are unknown: the query naming them
runs only then, and the savepoint undoes the call. A call repeated, a chunk delivered twice, or a device named
twice finds its participation held, so there is never a second participation for a device and event.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from derbridge.dacs.events import program_events
from derbridge.dacs.events.wire import ReserveDeviceIn
from derbridge.dacs.schema import active_device_keys, controllable_devices, event_participations, program_subscriptions
from derbridge.errors import Conflict, DerbridgeError, InvalidInput

DEFAULT_CATEGORY = "X1EC"
SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"
"""How SQLAlchemy keeps a UTC date-time in SQLite: naive text."""
GROUP_PAGE_CACHE_KB = 65_536
"""SQLite's page cache while a group is written. Reserving 100,000 of 120,000 enrolled devices goes through
about 70 MB of tables and indexes (the device keys, devices, subscriptions and participations): the usual 2 MB
cache reads most pages again for each device, and took twice the CPU (measured)."""
Answer = dict[str, Any] | DerbridgeError
"""A call's answer, or why it is refused."""


def reserve(engine: Engine, body: ReserveDeviceIn, now: datetime) -> dict[str, Any]:
    """Reserve the listed devices for the event (and release those listed as released), all or nothing."""
    [answer] = reserve_many(engine, [body], now)
    if isinstance(answer, DerbridgeError):
        raise answer
    return answer


def reserve_many(engine: Engine, bodies: list[ReserveDeviceIn], now: datetime) -> list[Answer]:
    """Apply the calls in order in one transaction, one answer each: a refused call changes nothing, the others
    are applied. When the database refuses the group (another writer created the same event meanwhile), each
    call is applied on its own, so the others do not pay for it."""
    try:
        with engine.begin() as connection, _page_cache_for_a_group(connection):
            return [_answer(connection, body, now) for body in bodies]
    except IntegrityError:
        if len(bodies) == 1:
            raise
        return [answer for body in bodies for answer in reserve_many(engine, [body], now)]


@contextmanager
def _page_cache_for_a_group(connection: Connection) -> Iterator[None]:
    """On SQLite, a page cache that holds what a group reads and writes while it is written, given back after."""
    if connection.dialect.name != "sqlite":
        yield
        return
    usual = int(connection.exec_driver_sql("PRAGMA cache_size").scalar_one())
    connection.exec_driver_sql(f"PRAGMA cache_size=-{GROUP_PAGE_CACHE_KB}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size={usual}")


def _answer(connection: Connection, body: ReserveDeviceIn, now: datetime) -> Answer:
    try:
        return _apply(connection, body, now)
    except (InvalidInput, Conflict) as refusal:  # what the call wrote is undone: the others stand
        return refusal


def _apply(connection: Connection, body: ReserveDeviceIn, now: datetime) -> dict[str, Any]:
    """Write first, then count: every device the program system holds active is either refreshed or inserted
    (once), so fewer than the distinct devices listed means some are unknown, and the savepoint undoes the call."""
    event_id = body.eventExternalIdentifier
    listed = _listed(connection, body)
    if program_events.is_cancelled(connection, event_id):
        _refuse_unknown(connection, listed)  # an unknown device is named first, as for an open event
        raise Conflict(f"event {event_id} is cancelled: no device can be reserved for it")
    with connection.begin_nested():
        created = not program_events.exists(connection, event_id)
        if created:
            program_events.placeholder(connection, event_id, _most_listed_program(connection, listed),
                                       body.eventType or DEFAULT_CATEGORY, body.eventStartDateTime,
                                       body.eventEndDateTime, now)
        again = _refresh(connection, event_id, listed, now)
        fresh = _insert_new(connection, event_id, listed, now)
        if again + fresh < len({(device.headEndSystem, device.nicId) for device in body.deviceList}):
            _refuse_unknown(connection, listed)
        released = [(device.headEndSystem, device.nicId) for device in body.releasedDeviceList]
        unreserved = _release(connection, event_id, released, now)
    return {"eventExternalIdentifier": event_id, "reserved": fresh, "alreadyReserved": again,
            "released": unreserved, "programEventCreated": created}


# ---- the call's devices as rows of one JSON parameter ------------------------------------------------------------


def _listed(connection: Connection, body: ReserveDeviceIn) -> sa.Subquery:
    """The call's devices as rows: position (in the list), head_end_system, nic_id, reservation_start and
    reservation_end (the event's window where the device gives none), read from one JSON parameter built
    column by column."""
    devices = body.deviceList
    stored = _stored_time(connection.dialect.name)

    def window(given: list[datetime | None], default: datetime) -> list[str]:
        """Each distinct date-time formatted once: a list's devices mostly share the event's window."""
        values = [value or default for value in given]
        formatted = {value: stored(value) for value in set(values)}
        return [formatted[value] for value in values]

    rows = zip([device.headEndSystem for device in devices], [device.nicId for device in devices],
               window([device.reservationStartDateTime for device in devices], body.eventStartDateTime),
               window([device.reservationEndDateTime for device in devices], body.eventEndDateTime), strict=True)
    return _json_rows(connection, json.dumps(list(rows)))


def _json_rows(connection: Connection, payload: str) -> sa.Subquery:
    """Rows of [head end, NIC id, start, end] from a JSON array, with their position (from 0)."""
    time_type = event_participations.c.reservation_start.type
    if connection.dialect.name == "postgresql":
        rows = (sa.func.jsonb_array_elements(sa.cast(sa.literal(payload), JSONB))
                .table_valued("value", with_ordinality="ordinality").alias("listed_json"))

        def field(index: int) -> Any:
            return rows.c.value.op("->>")(index)
        return sa.select((rows.c.ordinality - 1).label("position"), field(0).label("head_end_system"),
                         field(1).label("nic_id"), sa.cast(field(2), time_type).label("reservation_start"),
                         sa.cast(field(3), time_type).label("reservation_end")).subquery("listed")
    each = sa.func.json_each(sa.literal(payload)).table_valued("key", "value").alias("listed_json")

    def element(index: int) -> Any:
        return sa.func.json_extract(each.c.value, f"$[{index}]")
    return sa.select(each.c.key.label("position"), element(0).label("head_end_system"), element(1).label("nic_id"),
                     sa.type_coerce(element(2), time_type).label("reservation_start"),
                     sa.type_coerce(element(3), time_type).label("reservation_end")).subquery("listed")


def _stored_time(dialect: str) -> Callable[[datetime], str]:
    """A date-time as text the database reads as the column's value: SQLite's own form, ISO 8601 elsewhere."""
    if dialect == "postgresql":
        return lambda value: value.astimezone(UTC).isoformat()
    return lambda value: value.astimezone(UTC).strftime(SQLITE_DATETIME)


def _enrolled(listed: sa.Subquery) -> sa.Select[Any]:
    """The listed devices the program system holds active: the listed row, device_id, subscription_id and
    program_code (a device named twice comes twice)."""
    k, d, s = active_device_keys, controllable_devices, program_subscriptions
    return (sa.select(listed, d.c.device_id, d.c.subscription_id, s.c.program_code)
            .select_from(listed.join(k, sa.and_(k.c.head_end_system == listed.c.head_end_system,
                                                k.c.nic_id == listed.c.nic_id))
                         .join(d, d.c.device_id == k.c.device_id)
                         .join(s, s.c.subscription_id == d.c.subscription_id)))


def _is_enrolled(rows: sa.Subquery) -> sa.ColumnElement[bool]:
    """Whether the row's device (head_end_system, nic_id) is one the program system holds active."""
    k, d, s = active_device_keys, controllable_devices, program_subscriptions
    return (sa.select(k.c.device_id).join(d, d.c.device_id == k.c.device_id)
            .join(s, s.c.subscription_id == d.c.subscription_id)
            .where(k.c.head_end_system == rows.c.head_end_system, k.c.nic_id == rows.c.nic_id).exists())


def _refuse_unknown(connection: Connection, listed: sa.Subquery) -> None:
    unknown = connection.execute(sa.select(listed.c.position, listed.c.head_end_system, listed.c.nic_id)
                                 .where(~_is_enrolled(listed)).order_by(listed.c.position)).all()
    if unknown:
        raise InvalidInput({f"deviceList.{position}": f"no active controllable device {head_end}/{nic}"
                            for position, head_end, nic in unknown})


def _most_listed_program(connection: Connection, listed: sa.Subquery) -> str:
    """The program of most listed devices (of two as many, the one listed first); "" without devices."""
    enrolled = _enrolled(listed).subquery()
    found = connection.execute(
        sa.select(enrolled.c.program_code).group_by(enrolled.c.program_code)
        .order_by(sa.func.count().desc(), sa.func.min(enrolled.c.position)).limit(1)).scalar()
    return str(found or "")


# ---- the writes -----------------------------------------------------------------------------------------------


def _refresh(connection: Connection, event_id: str, listed: sa.Subquery, now: datetime) -> int:
    """Participations held already of devices held active: reserved again over the window given now; how many.
    Each listed device looks its participation up by the unique key (the list drives the statement: SQLite
    would otherwise scan the event's participations for each device)."""
    p, held = event_participations, event_participations.alias("held")
    held_id = sa.select(held.c.participation_id).where(
        held.c.event_external_id == event_id, held.c.head_end_system == listed.c.head_end_system,
        held.c.nic_id == listed.c.nic_id).scalar_subquery()
    pairs = sa.select(held_id.label("participation_id"), listed.c.head_end_system, listed.c.nic_id,
                      listed.c.reservation_start, listed.c.reservation_end).subquery("pairs")
    again = sa.select(pairs).where(pairs.c.participation_id.is_not(None), _is_enrolled(pairs)).subquery("again")
    return int(connection.execute(
        sa.update(p).where(p.c.participation_id == again.c.participation_id)
        .values(reserved=True, reservation_start=again.c.reservation_start,
                reservation_end=again.c.reservation_end, updated_at=now)).rowcount)


def _insert_new(connection: Connection, event_id: str, listed: sa.Subquery, now: datetime) -> int:
    """A reserved participation for each listed device that has none (the first listing of a device named
    twice); how many."""
    enrolled = _enrolled(listed).subquery()
    p = event_participations
    at = sa.literal(now, p.c.updated_at.type)
    source = sa.select(sa.literal(event_id, p.c.event_external_id.type), enrolled.c.head_end_system,
                       enrolled.c.nic_id, enrolled.c.device_id, enrolled.c.subscription_id, enrolled.c.program_code,
                       sa.true(), enrolled.c.reservation_start, enrolled.c.reservation_end, at, sa.false(), at,
                       ).where(enrolled.c.nic_id.is_not(None)).order_by(enrolled.c.position)
    # (SQLite: an upsert's SELECT needs a WHERE to parse its ON CONFLICT)
    columns = ["event_external_id", "head_end_system", "nic_id", "device_id", "subscription_id", "program_code",
               "reserved", "reservation_start", "reservation_end", "reserved_at", "opted_out", "updated_at"]
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(p).from_select(columns, source).on_conflict_do_nothing(
        index_elements=[p.c.event_external_id, p.c.head_end_system, p.c.nic_id])
    return int(connection.execute(insert, execution_options={"preserve_rowcount": True}).rowcount)


def _release(connection: Connection, event_id: str, keys: list[tuple[str, str]], now: datetime) -> int:
    """Devices DERMS dropped from the reservation: no longer reserved (their participation stays, as history)."""
    if not keys:
        return 0
    p = event_participations
    released = _json_rows(connection, json.dumps([[head_end, nic, None, None] for head_end, nic in keys]))
    return int(connection.execute(
        sa.update(p).where(p.c.event_external_id == event_id, p.c.reserved.is_(True),
                           sa.tuple_(p.c.head_end_system, p.c.nic_id).in_(
                               sa.select(released.c.head_end_system, released.c.nic_id)))
        .values(reserved=False, updated_at=now)).rowcount)
