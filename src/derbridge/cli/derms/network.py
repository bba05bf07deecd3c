"""`derbridge network`: the electrical network in DERMS (import, moves, exports to the program system, F1).
`derbridge network where` is the program system's answer (cli/dacs/network.py)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from derbridge.cli.support import (
    FILE_TYPES,
    LONG_S,
    ConfigOption,
    DateOption,
    JsonOption,
    call,
    console,
    day_or_today,
    errors,
    fields_table,
    location_history_table,
    print_json_or_table,
    progress_bar,
    send_file,
)

app = typer.Typer(help="The electrical network: import it into DERMS, change it, export it to the program system "
                       "(F1), and ask where a service point sits.", no_args_is_help=True)

TABLES = ("substations", "feeders", "transformers", "service_point_locations")
"""Imported in this order: each file refers to rows of the ones before."""



@app.command("import")
def import_network(
    directory: Annotated[Path, typer.Argument(help="A dataset directory (`derbridge dataset generate`) holding "
                                                   "substations, feeders, transformers and service_point_locations "
                                                   "as .parquet or .csv")],
    config: ConfigOption = None, as_json: JsonOption = False,
) -> None:
    """Import the network tables into DERMS, parents first; each file is applied whole or refused whole."""
    files = [_table_file(directory, table) for table in TABLES]
    with progress_bar(quiet=as_json) as progress:
        results = [send_file(config, "derms", f"/api/network/import/{table}", file, progress, table)
                   for table, file in zip(TABLES, files, strict=True)]
    print_json_or_table(results, as_json, _import_table)


def _table_file(directory: Path, table: str) -> Path:
    for suffix in FILE_TYPES:
        if (directory / f"{table}{suffix}").is_file():
            return directory / f"{table}{suffix}"
    errors.print(f"[red]no {table}.parquet or {table}.csv in {directory}[/]")
    raise typer.Exit(2)


def _import_table(results: list[dict[str, Any]]) -> Table:
    table = Table(title="Network imported into DERMS")
    for heading in ("table", "rows", "inserted", "updated", "unchanged"):
        table.add_column(heading, justify="left" if heading == "table" else "right")
    for result in results:
        table.add_row(result["table"], *(f"{result[key]:,}" for key in ("rows", "inserted", "updated", "unchanged")))
    return table


@app.command("export")
def export(
    full: Annotated[bool, typer.Option("--full/--delta", help="Every service point's location, or what changed "
                                                              "since the previous export")],
    as_of: Annotated[datetime | None, typer.Option("--as-of", formats=["%Y-%m-%d"],
                                                   help="A full export holds the records in effect on or after "
                                                        "this date (default: today)")] = None,
    new_chain: Annotated[bool, typer.Option("--new-chain", help="Follow no earlier export: the program system "
                                                                "applies it at once (e.g. after its database "
                                                                "was replaced)")] = False,
    config: ConfigOption = None, as_json: JsonOption = False,
) -> None:
    """Export network locations from DERMS to the program system (F1): one file, queued to the hub."""
    body: dict[str, Any] = {"exportType": "full" if full else "delta", "newChain": new_chain}
    if as_of is not None:
        body["asOf"] = as_of.date().isoformat()
    result = call(config, "derms", "POST", "/api/network/exports", json=body, timeout=LONG_S)
    if result["exportId"] is None and not as_json:
        console.print(result["detail"])
        return
    print_json_or_table(result, as_json, lambda r: fields_table(f"Export {r['exportId']}", r))


@app.command("exports")
def exports(limit: int = 20, config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """DERMS's network exports, newest first, and how far each got (PENDING, SENT to the hub, FAILED)."""
    found = call(config, "derms", "GET", "/api/network/exports", params={"limit": limit})
    print_json_or_table(found, as_json, _exports_table)


def _exports_table(found: list[dict[str, Any]]) -> Table:
    table = Table(title="Network exports (DERMS)")
    for heading in ("export", "type", "as of", "rows", "follows", "status", "attempts", "created"):
        table.add_column(heading)
    for each in found:
        table.add_row(each["exportId"], each["exportType"], each["asOf"], f"{each['rows']:,}",
                      each["previousExportId"] or "", each["status"] or "", str(each["attempts"] or 0),
                      each["createdAt"][:19])
    return table


@app.command("move-service-point")
def move_service_point(service_point: Annotated[str, typer.Argument(help="CIS service point id")],
                       transformer: Annotated[str, typer.Argument(help="The transformer it moves to")],
                       effective: DateOption = None, config: ConfigOption = None,
                       as_json: JsonOption = False) -> None:
    """Connect a service point to another transformer in DERMS, from a date on."""
    body = {"transformerId": transformer, "effectiveDate": day_or_today(effective).isoformat()}
    result = call(config, "derms", "POST", f"/api/network/service-points/{service_point}/moves", json=body)
    print_json_or_table(result, as_json,
                        lambda r: location_history_table(f"Service point {service_point} (DERMS)", r["connections"]))


@app.command("move-transformer")
def move_transformer(transformer: Annotated[str, typer.Argument(help="Transformer id")],
                     feeder: Annotated[str, typer.Argument(help="The feeder it moves to")],
                     effective: DateOption = None, config: ConfigOption = None,
                     as_json: JsonOption = False) -> None:
    """Move a transformer to another feeder in DERMS, from a date on; its service points follow."""
    body = {"feederId": feeder, "effectiveDate": day_or_today(effective).isoformat()}
    result = call(config, "derms", "POST", f"/api/network/transformers/{transformer}/moves", json=body)
    print_json_or_table(result, as_json, lambda r: fields_table(f"Transformer {transformer}", r))
