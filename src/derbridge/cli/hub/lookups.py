"""`derbridge lookups`: read and edit the running hub's lookups (domain value maps) over its operator API.

Every change is audited under the operator credential and the person named by --actor (default: the
DERBRIDGE_ACTOR variable, else the login name).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from derbridge.cli.support import ActorOption, ConfigOption, call, console, errors

app = typer.Typer(help="Lookups in the running hub: list, show, set and delete rows, import, export, history.",
                  no_args_is_help=True)

KeyOption = Annotated[str, typer.Option("--key", help="The row, by a key column: COLUMN=VALUE")]


@app.command("list")
def list_lookups(config: ConfigOption = None) -> None:
    """List every lookup: its columns (keys marked *), row count and version."""
    found = call(config, "hub", "GET", "/hub/api/lookups")
    table = Table(title="lookups", caption="* key column: translated from, values unique")
    for column in ("name", "columns", "rows", "version", "description"):
        table.add_column(column, overflow="fold")
    for entry in found:
        columns = ", ".join(c + ("*" if c in entry["keys"] else "") for c in entry["columns"])
        table.add_row(entry["name"], columns, str(entry["rows"]), str(entry["version"]), entry["description"])
    console.print(table)


@app.command()
def show(name: Annotated[str, typer.Argument(help="The lookup's name (see `derbridge lookups list`)")],
         as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
         config: ConfigOption = None) -> None:
    """Show one lookup with its rows."""
    lookup = call(config, "hub", "GET", f"/hub/api/lookups/{name}")
    if as_json:
        print(json.dumps(lookup, indent=2, ensure_ascii=False))
        return
    table = Table(title=f"{lookup['name']} (version {lookup['version']})", caption=lookup["description"])
    for column in lookup["columns"]:
        table.add_column(column + ("*" if column in lookup["keys"] else ""), overflow="fold")
    for row in lookup["rows"]:
        table.add_row(*(row[column] for column in lookup["columns"]))
    console.print(table)


@app.command("set")
def set_row(name: Annotated[str, typer.Argument(help="The lookup's name")], key: KeyOption,
            value: Annotated[list[str], typer.Option("--value", help="COLUMN=VALUE to set; repeat for several "
                                                                     "columns")],
            actor: ActorOption = None, config: ConfigOption = None) -> None:
    """Add a row, or change values in the row with this key.

    Example: derbridge lookups set OUTL-BRT-DACS_DRMS_AssetSpec --key DERMS=ECOTHERM!ET900 --value DACS=TSTAT-ECO-ET900
    """
    column, match = _pair(key, "--key")
    values = dict(_pair(each, "--value") for each in value)
    done = call(config, "hub", "PUT", f"/hub/api/lookups/{name}/rows", actor,
                json={"key": {column: match}, "values": values})
    _print_changes(done)


@app.command("delete-row")
def delete_row(name: Annotated[str, typer.Argument(help="The lookup's name")], key: KeyOption,
               actor: ActorOption = None, config: ConfigOption = None) -> None:
    """Delete the row with this key."""
    column, match = _pair(key, "--key")
    _print_changes(call(config, "hub", "DELETE", f"/hub/api/lookups/{name}/rows", actor,
                         params={"column": column, "value": match}))


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(help="A CSV file (first line: the columns) or a JSON file (one lookup, or "
                                              "the document `export --format json` writes)")],
    name: Annotated[str | None, typer.Option(help="The lookup a CSV file fills (default: the file's name "
                                                  "without .csv)")] = None,
    replace: Annotated[bool, typer.Option("--replace", help="The lookup's rows become exactly the file's; "
                                                            "without it, rows are added or replaced by key")] = False,
    actor: ActorOption = None, config: ConfigOption = None,
) -> None:
    """Import rows into lookups, all or nothing: one bad row refuses the file, naming its row and column.

    JSON files may create lookups; a CSV file fills a lookup that exists.
    """
    try:
        body = file.read_bytes()
    except OSError as exc:
        errors.print(f"[red]cannot read {file}:[/] {exc}")
        raise typer.Exit(2) from exc
    params = {"mode": "replace" if replace else "merge"}
    if file.suffix.lower() == ".csv":
        path, content_type = f"/hub/api/lookups/{name or file.stem}/import", "text/csv"
    else:
        path, content_type = _json_import_path(body, name, file), "application/json"
    done = call(config, "hub", "POST", path, actor, params=params, content=body, headers={"Content-Type": content_type})
    table = Table(title=f"imported {file.name} ({params['mode']})")
    for column in ("lookup", "created", "added", "replaced", "deleted", "version"):
        table.add_column(column)
    for entry in done["lookups"]:
        table.add_row(entry["lookup"], "yes" if entry["created"] else "", str(entry["added"]),
                      str(entry["replaced"]), str(entry["deleted"]), str(entry["version"]))
    console.print(table)


@app.command()
def export(
    name: Annotated[str | None, typer.Argument(help="One lookup (default: all, as JSON)")] = None,
    format: Annotated[str, typer.Option("--format", help="csv (one lookup) or json")] = "json",
    out: Annotated[Path | None, typer.Option("--out", help="Write here instead of standard output")] = None,
    config: ConfigOption = None,
) -> None:
    """Export one lookup as CSV or JSON, or all of them as one JSON document (which `import` takes back)."""
    if format not in ("csv", "json"):
        errors.print(f"[red]--format is csv or json, not {format!r}[/]")
        raise typer.Exit(2)
    if name is None and format == "csv":
        errors.print("[red]a CSV file holds one lookup: name it, or use --format json for all[/]")
        raise typer.Exit(2)
    if name is None:
        text = json.dumps(call(config, "hub", "GET", "/hub/api/lookup-export"), indent=2, ensure_ascii=False) + "\n"
    elif format == "csv":
        text = call(config, "hub", "GET", f"/hub/api/lookups/{name}", params={"format": "csv"}, raw=True)
    else:
        text = json.dumps(call(config, "hub", "GET", f"/hub/api/lookups/{name}"), indent=2, ensure_ascii=False) + "\n"
    if out is None:
        sys.stdout.write(text)
        return
    out.write_text(text)
    errors.print(f"wrote {out}")


@app.command()
def history(name: Annotated[str | None, typer.Argument(help="One lookup (default: all)")] = None,
            limit: Annotated[int, typer.Option(help="At most this many entries, newest first")] = 50,
            as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
            config: ConfigOption = None) -> None:
    """Show who changed which lookup row when, and from what to what."""
    params: dict[str, Any] = {"limit": limit, **({"lookup": name} if name else {})}
    entries = call(config, "hub", "GET", "/hub/api/lookup-history", params=params)
    if as_json:
        print(json.dumps(entries, indent=2, ensure_ascii=False))
        return
    table = Table(title=f"lookup history{f' of {name}' if name else ''}")
    for column in ("when", "who", "action", "lookup", "row", "old → new", "version", "note"):
        table.add_column(column, overflow="fold")
    for entry in reversed(entries):
        who = entry["principal"] + (f" ({entry['person']})" if entry["person"] else "")
        table.add_row(entry["at"][:19], who, entry["action"], entry["lookup"], entry["rowKey"] or "",
                      _old_to_new(entry), str(entry["version"] or ""), entry["note"] or "")
    console.print(table)


@app.command()
def translate(name: Annotated[str, typer.Argument(help="The lookup's name")],
              from_: Annotated[str, typer.Option("--from", help="A key column")],
              key: Annotated[str, typer.Option(help="The value to translate")],
              to: Annotated[str, typer.Option(help="The column to read")],
              config: ConfigOption = None) -> None:
    """Translate one value as the running hub does now."""
    params = {"from": from_, "key": key, "to": to}
    print(call(config, "hub", "GET", f"/hub/api/lookups/{name}/value", params=params)["value"])


# ---- talking to the hub -----------------------------------------------------------------------------------

def _pair(text: str, option: str) -> tuple[str, str]:
    column, equals, value = text.partition("=")
    if not equals or not column:
        errors.print(f"[red]{option} takes COLUMN=VALUE, got {text!r}[/]")
        raise typer.Exit(2)
    return column, value


def _json_import_path(body: bytes, name: str | None, file: Path) -> str:
    """The whole-export document goes to lookup-import; a single lookup object to its own import."""
    try:
        document = json.loads(body)
    except ValueError as exc:
        errors.print(f"[red]{file} is not JSON:[/] {exc}")
        raise typer.Exit(2) from exc
    if isinstance(document, dict) and "lookups" in document:
        return "/hub/api/lookup-import"
    target = name or (document.get("name") if isinstance(document, dict) else None)
    if not target:
        errors.print(f"[red]{file} names no lookup: give --name[/]")
        raise typer.Exit(2)
    return f"/hub/api/lookups/{target}/import"


def _print_changes(done: dict[str, Any]) -> None:
    if not done["changes"]:
        console.print(f"{done['lookup']}: nothing changed (version {done['version']})")
        return
    for change in done["changes"]:
        console.print(f"{done['lookup']}: {change['action']} {change['rowKey']}: {_old_to_new(change)}",
                      highlight=False)
    console.print(f"{done['lookup']} is now at version {done['version']}")


def _old_to_new(change: dict[str, Any]) -> str:
    old, new = change.get("old"), change.get("new")
    if change.get("action") == "refuse":
        return "(refused; the request is kept)"
    if isinstance(old, dict) and isinstance(new, dict):
        return ", ".join(f"{c}: {old.get(c)} → {new.get(c)}" for c in new if old.get(c) != new.get(c))
    shown = new if new is not None else old
    return json.dumps(shown, ensure_ascii=False) if shown is not None else ""
