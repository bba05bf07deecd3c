"""The operator's HTTP API for lookups: list, show, translate, edit rows, create, import, export, history.

Every write is audited under the authenticated caller and the person named by `X-Derbridge-Actor`, and makes
the running hub map with the new values at once (`LiveLookups.invalidate`). A refused write changes nothing,
answers problem+json naming each bad row and column, and is kept in the audit trail with the request.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field, field_validator
from sqlalchemy.engine import Engine

from derbridge.errors import InvalidInput, NotFound
from derbridge.hub.context import current
from derbridge.hub.lookup_catalog import SEEDS
from derbridge.hub.lookup_store import (
    Actor,
    Edit,
    Incoming,
    LiveLookups,
    create,
    delete_row,
    history,
    import_lookups,
    load,
    load_all,
    put_row,
    record_refusal,
    seed,
)
from derbridge.hub.lookups import InvalidLookup, Lookup, LookupMissing, LookupProblem
from derbridge.web.problems import Problem

ACTOR_HEADER = "X-Derbridge-Actor"
CSV_TYPES = {"text/csv", "application/csv"}
Mode = Literal["merge", "replace"]
ModeQuery = Annotated[Mode, Query(description="merge: add and replace rows by their first key column, keep the "
                                              "others; replace: the lookup's rows become exactly these")]


def start_lookups(db: Engine) -> LiveLookups:
    """At hub start-up: seed the catalogue's lookups (never overwriting an edit), then serve them live."""
    seed(db, SEEDS)
    return LiveLookups(db)


class LookupIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=2000)
    columns: list[str] = Field(min_length=2, max_length=20)
    keys: list[str] | None = Field(default=None, description="Columns translated from, their values unique; "
                                                              "default: the first column")
    rows: list[dict[str, Any]] = Field(default_factory=list, max_length=100_000)


class RowPut(BaseModel):
    key: dict[str, str] = Field(description='The row to add or change, by one key column: {"DERMS": "X!Y"}')
    values: dict[str, Any] = Field(default_factory=dict, description="Column → value to set")

    @field_validator("key")
    @classmethod
    def one_column(cls, key: dict[str, str]) -> dict[str, str]:
        if len(key) != 1:
            raise ValueError("name exactly one key column and its value")
        return key


def lookups_router(operator_only: Callable[..., str]) -> APIRouter:
    router = APIRouter(prefix="/hub/api", dependencies=[Depends(operator_only)], tags=["lookups"])

    @router.get("/lookups", summary="Every lookup: columns, keys, row count, version")
    def list_lookups() -> list[dict[str, Any]]:
        return [summary(lookup) for lookup in load_all(current().db).by_name.values()]

    @router.post("/lookups", status_code=201, summary="Create a lookup (with rows, if given)")
    def create_lookup(body: LookupIn, request: Request) -> dict[str, Any]:
        actor = actor_of(request)
        try:
            lookup = Lookup.build(body.name, body.columns, body.rows, body.keys, body.description)
            edit = create(current().db, lookup, actor)
        except InvalidLookup as exc:
            raise refused([body.name], request, exc.problems, actor, "create") from exc
        return written(edit)

    @router.get("/lookups/{name}", summary="One lookup with its rows, as JSON or CSV",
                responses={200: {"content": {"text/csv": {}}}})
    def show(name: str, format: Literal["json", "csv"] = "json") -> Any:
        lookup = existing(name)
        if format == "csv":
            return Response(to_csv(lookup), media_type="text/csv",
                            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
        return full(lookup)

    @router.get("/lookups/{name}/value", summary="Translate one value as the running hub would")
    def translate(name: str, from_: Annotated[str, Query(alias="from")], key: str,
                  to: str) -> dict[str, Any]:
        lookups = current().lookups.snapshot()
        try:
            value = lookups.value(name, from_, key, to)
        except LookupMissing as exc:
            raise missing(exc) from exc
        return {"lookup": name, "from": from_, "key": key, "to": to, "value": value,
                "version": lookups.get(name).version}

    @router.put("/lookups/{name}/rows", summary="Add a row, or change values of the row with this key")
    def put(name: str, body: RowPut, request: Request) -> dict[str, Any]:
        [(column, value)] = body.key.items()
        return write(name, request, "row edit",
                     lambda actor: put_row(current().db, name, column, value, body.values, actor))

    @router.delete("/lookups/{name}/rows", summary="Delete the row whose key column has this value")
    def delete(name: str, column: str, value: str, request: Request) -> dict[str, Any]:
        return write(name, request, "row delete", lambda actor: delete_row(current().db, name, column, value, actor))

    @router.post("/lookups/{name}/import", summary="Import rows from CSV (header = columns) or JSON",
                 openapi_extra={"requestBody": {"content": {"text/csv": {}, "application/json": {}}}})
    def import_one(name: str, request: Request, mode: ModeQuery = "merge") -> dict[str, Any]:
        if content_type(request) in CSV_TYPES:
            existing(name)  # a CSV file cannot say which columns are keys, so it only fills a lookup
        return imported(request, [name], mode, lambda: [parse_one(name, request)], lambda _name: "")

    @router.get("/lookup-export", summary="Every lookup with its rows, as one JSON document")
    def export_all() -> dict[str, Any]:
        return {"lookups": [full(lookup) for lookup in load_all(current().db).by_name.values()]}

    @router.post("/lookup-import", summary="Import several lookups (the lookup-export document); creates "
                                           "lookups that do not exist")
    def import_many(request: Request, mode: ModeQuery = "merge") -> dict[str, Any]:
        return imported(request, [], mode, lambda: parse_many(request), lambda name: f"lookups.{name}.")

    @router.get("/lookup-history", summary="Audit trail of lookup changes, newest first")
    def audit(lookup: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        return history(current().db, lookup, min(max(limit, 1), 5000))

    return router


# ---- writing ----------------------------------------------------------------------------------------------

def write(name: str, request: Request, what: str, action: Callable[[Actor], Edit]) -> dict[str, Any]:
    actor = actor_of(request)
    try:
        edit = action(actor)
    except InvalidLookup as exc:
        raise refused([name], request, exc.problems, actor, what) from exc
    except LookupMissing as exc:
        raise missing(exc) from exc
    return written(edit)


def imported(request: Request, names: list[str], mode: Mode, parse: Callable[[], list[Incoming]],
             prefix: Callable[[str], str]) -> dict[str, Any]:
    """Parse the file, check every row, then apply it whole; or refuse it whole, audited under each lookup
    it names (`names` until the file is read)."""
    actor = actor_of(request)
    try:
        items = parse()
        names = [item.name for item in items]
        edits = import_lookups(current().db, items, mode == "replace", actor, prefix)
    except InvalidLookup as exc:
        raise refused(names, request, exc.problems, actor, f"import ({mode})") from exc
    current().lookups.invalidate()
    return {"mode": mode, "lookups": [counted(edit) for edit in edits]}


def written(edit: Edit) -> dict[str, Any]:
    if edit.changes:
        current().lookups.invalidate()
    return {**counted(edit), "changes": [
        {"action": c.action, "rowKey": c.row_key, "old": c.old, "new": c.new} for c in edit.changes]}


def counted(edit: Edit) -> dict[str, Any]:
    actions = [change.action for change in edit.changes]
    return {"lookup": edit.lookup.name, "version": edit.lookup.version, "created": edit.created,
            "added": actions.count("add"), "replaced": actions.count("replace"), "deleted": actions.count("delete")}


def refused(names: list[str], request: Request, problems: list[LookupProblem], actor: Actor, what: str) -> Problem:
    """Keep the refused request in the audit trail; the problem+json answer names each bad field."""
    for name in names or ["*"]:
        record_refusal(current().db, name[:100], raw_request(request), problems, actor, what)
    fields = ", ".join(p.field for p in problems[:20]) + (" …" if len(problems) > 20 else "")
    return Problem(422, "Invalid lookup data", f"nothing was changed; bad fields: {fields}",
                       [p.as_error() for p in problems])


def missing(exc: LookupMissing) -> Problem:
    if exc.missing == "column":
        return Problem(422, "No such column", str(exc),
                           [{"field": "column", "message": str(exc), "type": "unknown_column"}])
    return Problem(404, "No such lookup" if exc.missing == "lookup" else "No such row", str(exc))


def actor_of(request: Request) -> Actor:
    person = request.headers.get(ACTOR_HEADER)
    if person is not None:
        person = person.strip()
        if not person or len(person) > 100 or not person.isprintable():
            raise InvalidInput({f"header.{ACTOR_HEADER.lower()}": "names a person in 1 to 100 printable characters"})
    return Actor(str(request.state.principal), person or None)


def raw_request(request: Request) -> str:
    body: bytes = request.scope.get("derbridge.body", b"")
    text = body.decode("utf-8", "replace")
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{request.method} {request.url.path}{query}\n{text}"


def existing(name: str) -> Lookup:
    found = load(current().db, name)
    if found is None:
        raise NotFound("lookup", name)
    return found


# ---- reading and writing files ----------------------------------------------------------------------------

def summary(lookup: Lookup) -> dict[str, Any]:
    return {"name": lookup.name, "description": lookup.description, "columns": list(lookup.columns),
            "keys": list(lookup.keys), "rows": len(lookup.rows), "version": lookup.version}


def full(lookup: Lookup) -> dict[str, Any]:
    return {"name": lookup.name, "description": lookup.description, "columns": list(lookup.columns),
            "keys": list(lookup.keys), "version": lookup.version, "rows": lookup.records()}


def to_csv(lookup: Lookup) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(lookup.columns)
    writer.writerows(lookup.rows)
    return out.getvalue()


def content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def parse_one(name: str, request: Request) -> Incoming:
    """One lookup's rows from a CSV file (first line: the column names) or a JSON lookup object."""
    kind = content_type(request)
    if kind in CSV_TYPES:
        return from_csv(name, body_text(request))
    if kind == "application/json":
        document = body_json(request)
        item = from_json(document, name)
        if isinstance(document, dict) and document.get("name", name) != name:
            raise InvalidLookup([LookupProblem("name", f"the body names lookup {document['name']!r}, "
                                                 f"the path {name!r}")])
        return item
    raise unsupported(kind, "text/csv or application/json")


def parse_many(request: Request) -> list[Incoming]:
    kind = content_type(request)
    if kind != "application/json":
        raise unsupported(kind, "application/json")
    document = body_json(request)
    if not isinstance(document, dict) or not isinstance(document.get("lookups"), list):
        raise InvalidLookup([LookupProblem("lookups", 'expected {"lookups": [lookup, …]}, as lookup-export writes it')])
    items, problems = [], []
    for number, entry in enumerate(document["lookups"], start=1):
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name:
            problems.append(LookupProblem(f"lookups.{number}.name", "every lookup names itself"))
            continue
        try:
            items.append(from_json(entry, name))
        except InvalidLookup as exc:
            problems += [LookupProblem(f"lookups.{name}.{p.field}", p.message, p.type) for p in exc.problems]
    if problems:
        raise InvalidLookup(problems)
    return items


def from_csv(name: str, text: str) -> Incoming:
    records = list(csv.reader(io.StringIO(text)))
    if not records or not records[0]:
        raise InvalidLookup([LookupProblem("header", "the file is empty: its first line names the columns")])
    header, problems, rows = tuple(records[0]), [], []
    for number, cells in enumerate(records[1:], start=1):
        if len(cells) != len(header):
            problems.append(LookupProblem(f"rows.{number}", f"has {len(cells)} cells, the header {len(header)} "
                                                      f"(line {number + 1} of the file)"))
        rows.append(dict(zip(header, cells, strict=False)))
    if problems:
        raise InvalidLookup(problems)
    return Incoming(name, rows, columns=header)


def from_json(document: Any, name: str) -> Incoming:
    if not isinstance(document, dict):
        raise InvalidLookup([LookupProblem("body", "expected a lookup object with rows")])
    problems = []
    rows = document.get("rows", [])
    if not isinstance(rows, list):
        problems.append(LookupProblem("rows", "a list of objects of column → value"))
    columns, keys = document.get("columns"), document.get("keys")
    for field, value in (("columns", columns), ("keys", keys)):
        if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            problems.append(LookupProblem(field, "a list of column names"))
    description = document.get("description")
    if description is not None and not isinstance(description, str):
        problems.append(LookupProblem("description", "text"))
    if problems:
        raise InvalidLookup(problems)
    return Incoming(name, rows, tuple(columns) if columns is not None else None,
                    tuple(keys) if keys is not None else None, description)


def body_text(request: Request) -> str:
    try:
        return bytes(request.scope.get("derbridge.body", b"")).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Problem(400, "Not UTF-8", f"the body is not UTF-8 text: {exc}",
                          [{"field": "body", "message": "not UTF-8", "type": "encoding"}]) from exc


def body_json(request: Request) -> Any:
    try:
        return json.loads(body_text(request))
    except json.JSONDecodeError as exc:
        raise Problem(400, "Malformed JSON", "the request body is not valid JSON",
                          [{"field": "body", "message": str(exc), "type": "json_invalid"}]) from exc


def unsupported(kind: str, expected: str) -> Problem:
    return Problem(415, "Unsupported media type", f"Content-Type {kind or '(none)'}; expected {expected}",
                       [{"field": "header.content-type", "message": f"expected {expected}", "type": "media_type"}])
