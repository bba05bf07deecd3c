"""`derbridge legacy`: enrollments migrated from a legacy program system — load the extract of enrolled devices
into the program system, then tell DERMS of all of them with one initial-sync file, and follow its ack."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from derbridge.cli.support import (
    ConfigOption,
    JsonOption,
    call,
    console,
    fields_table,
    print_json_or_table,
    progress_bar,
    send_file,
)

app = typer.Typer(help="Legacy migration: load already-enrolled devices into the program system and send DERMS "
                       "one initial-sync file (F5, bulk).", no_args_is_help=True)

WaitOption = Annotated[bool, typer.Option("--wait/--no-wait", help="Wait until DERMS's ack file has been applied")]
WAIT_S = 900.0


@app.command("import")
def import_extract(
    file: Annotated[Path, typer.Argument(help="The extract, one row per enrolled device (.parquet or .csv; "
                                              "`derbridge dataset generate` writes enrolled_devices.parquet)",
                                         exists=True, dir_okay=False)],
    sync: Annotated[bool, typer.Option("--sync", help="Start the initial sync to DERMS once loaded")] = False,
    wait: WaitOption = True, config: ConfigOption = None, as_json: JsonOption = False,
) -> None:
    """Load an extract of enrolled devices: checked whole (a bad file is refused naming columns and rows, nothing
    applied), written as ACTIVE enrollments with their subscriptions and devices."""
    with progress_bar(quiet=as_json) as progress:
        imported = send_file(config, "dacs", "/api/legacy/enrolled-devices", file, progress)
    if not sync:
        print_json_or_table(imported, as_json, lambda r: fields_table(f"Import {r['importId']}", r))
        return
    if not as_json:
        console.print(f"import {imported['importId']}: {imported['rows']:,} devices in {imported['seconds']:.1f} s")
    _start_sync(imported["importId"], wait, config, as_json)


@app.command("sync")
def sync_import(import_id: Annotated[str, typer.Argument(help="An import's id (`derbridge legacy imports`)")],
                wait: WaitOption = True, config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Send every device of an import to DERMS in one file; DERMS registers them with their head ends and
    answers with an ack file that sets each device's registration here."""
    _start_sync(import_id, wait, config, as_json)


def _start_sync(import_id: str, wait: bool, config: Path | None, as_json: bool) -> None:
    started = call(config, "dacs", "POST", f"/api/legacy/imports/{import_id}/sync")
    if not wait:
        print_json_or_table(started, as_json, lambda r: fields_table(f"Initial sync {r['bulkSyncId']}", r))
        return
    path = f"/api/legacy/bulk-syncs/{started['bulkSyncId']}"
    deadline = time.monotonic() + WAIT_S
    with console.status(f"initial sync {started['bulkSyncId']}: {started['devices']:,} devices to DERMS",
                        spinner="dots") as status:
        while (found := call(config, "dacs", "GET", path))["status"] != "ACKED":
            if time.monotonic() > deadline:
                console.print(f"[yellow]not acknowledged after {WAIT_S:g} s; follow it with "
                              f"`derbridge legacy bulk-syncs {started['bulkSyncId']}`[/]")
                raise typer.Exit(1)
            status.update(f"initial sync {found['bulkSyncId']}: {found['status']}")
            time.sleep(1.0)
    print_json_or_table(found, as_json, lambda r: fields_table(f"Initial sync {r['bulkSyncId']}", r))


@app.command("imports")
def imports(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Legacy imports, newest first."""
    print_json_or_table(call(config, "dacs", "GET", "/api/legacy/imports"), as_json,
                        lambda rows: _rows("Legacy imports (program system)", rows))


@app.command("bulk-syncs")
def bulk_syncs(bulk_sync_id: Annotated[str | None, typer.Argument(help="One initial sync (default: all)")] = None,
               config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Initial syncs, newest first: SENT until DERMS's ack file arrives, then ACKED with the registrations."""
    if bulk_sync_id is not None:
        found = call(config, "dacs", "GET", f"/api/legacy/bulk-syncs/{bulk_sync_id}")
        print_json_or_table(found, as_json, lambda r: fields_table(f"Initial sync {r['bulkSyncId']}", r))
        return
    print_json_or_table(call(config, "dacs", "GET", "/api/legacy/bulk-syncs"), as_json,
                        lambda rows: _rows("Initial syncs (program system)", rows))


def _rows(title: str, rows: list[dict[str, Any]]) -> Table:
    table = Table(title=title)
    names = list(rows[0]) if rows else ["(none)"]
    for name in names:
        table.add_column(name)
    for row in rows:
        table.add_row(*(f"{row[name]:,}" if isinstance(row[name], int) else str(row[name] or "") for name in names))
    return table
