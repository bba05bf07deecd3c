"""DERMS's network model in its tables: service points moved between transformers and transformers between
feeders (each change numbered, its records stamped with the number), and what operators ask about it.

The rules of a change are derms/network/connections.py's; storage adds the order of transformer moves: a transformer
moves to another feeder only from the date of its last move (or its in-service date) on, and a service point
joins a transformer only from that date on, so every record carries the feeder its transformer had on its days.
Bulk imports and exports, which need polars, are derms/network/files.py's.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from derbridge.clock import iso_utc, utcnow
from derbridge.derms.network.connections import ChangeRefused, connect, refeed, rewritten
from derbridge.derms.network.connections import Connection as Record
from derbridge.derms.schema import (
    feeders,
    network_changes,
    network_exports,
    outbound_files,
    service_point_connections,
    substations,
    transformers,
)
from derbridge.errors import NotFound
from derbridge.store.db import reading
from derbridge.store.locks import one_writer_at_a_time

LOCK = "derms.network"


def move_service_point(engine: Engine, service_point_id: str, transformer_id: str, day: date) -> dict[str, Any]:
    """Connect the service point to the transformer from `day` on."""
    with engine.begin() as connection:
        one_writer_at_a_time(connection, LOCK)
        transformer = _transformer(connection, transformer_id)
        if day < transformer.feeder_since:
            raise ChangeRefused(f"transformer {transformer_id} is on feeder {transformer.feeder_id} only from "
                                f"{transformer.feeder_since}; a service point can join it from then on, not on {day}")
        before = history(connection, service_point_id)
        if not before:
            raise NotFound("service point", service_point_id)
        location = (transformer_id, transformer.feeder_id, _substation_of(connection, transformer.feeder_id))
        after = connect(before, service_point_id, location, day)
        seq = _write(connection, "move-service-point", service_point_id, day, {service_point_id: (before, after)})
    return {"servicePointId": service_point_id, "changeSeq": seq, "connections": describe(after)}


def move_transformer(engine: Engine, transformer_id: str, feeder_id: str, day: date) -> dict[str, Any]:
    """Move the transformer to the feeder from `day` on; its service points' records follow."""
    with engine.begin() as connection:
        one_writer_at_a_time(connection, LOCK)
        transformer = _transformer(connection, transformer_id)
        substation_id = _substation_of(connection, feeder_id)
        if day < transformer.feeder_since:
            raise ChangeRefused(f"transformer {transformer_id} is on feeder {transformer.feeder_id} from "
                                f"{transformer.feeder_since}; a move must take effect on or after it, not on {day}")
        if feeder_id == transformer.feeder_id:
            return {"transformerId": transformer_id, "changeSeq": None, "servicePoints": 0}
        changed = {sp: (before, refeed(before, transformer_id, feeder_id, substation_id, day))
                   for sp, before in _histories_on(connection, transformer_id, day).items()}
        seq = _write(connection, "move-transformer", transformer_id, day, changed)
        if seq is None:  # no service point on it from that day: still a change of the network
            seq = new_change(connection, "move-transformer", transformer_id, day, 0)
        connection.execute(sa.update(transformers).where(transformers.c.transformer_id == transformer_id)
                           .values(feeder_id=feeder_id, feeder_since=day, updated_at=utcnow()))
    return {"transformerId": transformer_id, "feederId": feeder_id, "changeSeq": seq,
            "servicePoints": sum(1 for before, after in changed.values() if before != after)}


def _transformer(connection: Connection, transformer_id: str) -> Any:
    found = connection.execute(sa.select(transformers).where(transformers.c.transformer_id == transformer_id)).first()
    if found is None:
        raise NotFound("transformer", transformer_id)
    return found


def _substation_of(connection: Connection, feeder_id: str) -> str:
    found = connection.execute(sa.select(feeders.c.substation_id).where(feeders.c.feeder_id == feeder_id)).first()
    if found is None:
        raise NotFound("feeder", feeder_id)
    return str(found.substation_id)


def history(connection: Connection, service_point_id: str) -> list[Record]:
    """The service point's records, oldest first."""
    where = service_point_connections.c.cis_service_point_id == service_point_id
    return _records(connection, where).get(service_point_id, [])


def _histories_on(connection: Connection, transformer_id: str, day: date) -> dict[str, list[Record]]:
    """The whole records of every service point on the transformer on `day` or later."""
    t = service_point_connections
    on_it = sa.select(t.c.cis_service_point_id).where(
        t.c.transformer_id == transformer_id, sa.or_(t.c.effective_end.is_(None), t.c.effective_end > day))
    return _records(connection, t.c.cis_service_point_id.in_(on_it))


def _records(connection: Connection, where: sa.ColumnElement[bool]) -> dict[str, list[Record]]:
    t = service_point_connections
    found: dict[str, list[Record]] = {}
    rows = connection.execute(sa.select(t).where(where).order_by(t.c.cis_service_point_id, t.c.effective_start))
    for row in rows:
        found.setdefault(row.cis_service_point_id, []).append(record_of(row))
    return found


def record_of(row: Any) -> Record:
    return Record(row.cis_service_point_id, row.transformer_id, row.feeder_id, row.substation_id,
                  row.effective_start, row.effective_end)


def _write(connection: Connection, kind: str, subject: str, day: date,
           changed: dict[str, tuple[list[Record], list[Record]]]) -> int | None:
    """Store what a change did, numbered: new observations carry the change's number; a record that only ends
    on another day keeps its own (delta exports send what carries a number after the previous export's).
    None when nothing changed."""
    rewrites = [rewritten(before, after) for before, after in changed.values()]
    deleted = [r for rewrite in rewrites for r in rewrite.deleted]
    inserted = [r for rewrite in rewrites for r in rewrite.inserted]
    ended = [r for rewrite in rewrites for r in rewrite.ended]
    if not (deleted or inserted or ended):
        return None
    seq = new_change(connection, kind, subject, day, len(inserted))
    t = service_point_connections
    same = (t.c.cis_service_point_id == sa.bindparam("sp"), t.c.effective_start == sa.bindparam("start"))
    if deleted:
        connection.execute(sa.delete(t).where(*same),
                           [{"sp": r.service_point_id, "start": r.effective_start} for r in deleted])
    if ended:
        connection.execute(sa.update(t).where(*same).values(effective_end=sa.bindparam("end")),
                           [{"sp": r.service_point_id, "start": r.effective_start, "end": r.effective_end}
                            for r in ended])
    if inserted:
        connection.execute(sa.insert(t), [_values(r, seq) for r in inserted])
    return seq


def _values(record: Record, seq: int) -> dict[str, Any]:
    return {"cis_service_point_id": record.service_point_id, "transformer_id": record.transformer_id,
            "feeder_id": record.feeder_id, "substation_id": record.substation_id,
            "effective_start": record.effective_start, "effective_end": record.effective_end, "change_seq": seq}


def new_change(connection: Connection, kind: str, subject: str, day: date | None, records: int) -> int:
    """Number a change of the network; the records it writes carry the number."""
    return int(connection.execute(sa.insert(network_changes).values(
        kind=kind, subject=subject[:60], effective_date=day, records=records, made_at=utcnow())
        .returning(network_changes.c.change_seq)).scalar_one())


def last_change(connection: Connection) -> int:
    return int(connection.execute(sa.select(sa.func.coalesce(sa.func.max(network_changes.c.change_seq), 0)))
               .scalar_one())


# ---- what operators ask ----------------------------------------------------------------------------------

def connections_of(engine: Engine, service_point_id: str) -> list[dict[str, Any]]:
    with reading(engine) as connection:
        found = history(connection, service_point_id)
    if not found:
        raise NotFound("service point", service_point_id)
    return describe(found)


def describe(records: list[Record]) -> list[dict[str, Any]]:
    return [{"transformerId": r.transformer_id, "feederId": r.feeder_id, "substationId": r.substation_id,
             "effectiveStart": r.effective_start.isoformat(),
             "effectiveEnd": r.effective_end.isoformat() if r.effective_end else None} for r in records]


def summary(engine: Engine) -> dict[str, Any]:
    """How big the network model is, and its last change."""
    with reading(engine) as connection:
        def count(table: sa.Table, *where: sa.ColumnElement[bool]) -> int:
            return int(connection.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one())

        return {"substations": count(substations), "feeders": count(feeders), "transformers": count(transformers),
                "servicePoints": count(service_point_connections, service_point_connections.c.effective_end.is_(None)),
                "connections": count(service_point_connections), "lastChange": last_change(connection)}


def exports(engine: Engine, limit: int = 50) -> list[dict[str, Any]]:
    """Network exports, newest first, with how far each got on its way to the hub."""
    e = network_exports
    with reading(engine) as connection:
        rows = connection.execute(_exports().order_by(e.c.change_seq_to.desc(), e.c.created_at.desc())
                                  .limit(limit)).all()
    return [_describe_export(row) for row in rows]


def export_of(connection: Connection, export_id: str) -> dict[str, Any]:
    return _describe_export(connection.execute(_exports().where(network_exports.c.export_id == export_id)).one())


def _exports() -> sa.Select[Any]:
    e, f = network_exports, outbound_files
    return (sa.select(e, f.c.status, f.c.attempts, f.c.last_error, f.c.sent_at)
            .join(f, f.c.message_key == e.c.message_key, isouter=True))


def _describe_export(row: Any) -> dict[str, Any]:
    return {"exportId": row.export_id, "exportType": row.export_type, "asOf": row.as_of.isoformat(),
            "previousExportId": row.previous_export_id, "rows": row.rows, "changeSeqFrom": row.change_seq_from,
            "changeSeqTo": row.change_seq_to, "sha256": row.sha256, "file": row.file,
            "createdAt": iso_utc(row.created_at), "status": row.status, "attempts": row.attempts,
            "lastError": row.last_error, "sentAt": iso_utc(row.sent_at)}
