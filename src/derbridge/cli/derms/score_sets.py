"""`derbridge score-sets`: the score sets DERMS holds from the program system's score files (F7), and a
device's current score, asked of a running DERMS through its operator API."""

from __future__ import annotations

from typing import Annotated

import typer

from derbridge.cli.support import ConfigOption, JsonOption, call, print_json_or_table, table_of

app = typer.Typer(help="DERMS's score sets (F7): which set is in force, each set's load, a device's score.",
                  no_args_is_help=True)
COLUMNS = [("set", "setId"), ("file", "fileName"), ("state", "state"), ("in force", "inForce"), ("rows", "rows"),
           ("loaded", "rowsLoaded"), ("eligible", "eligible"), ("ineligible", "ineligible"),
           ("received", "receivedAt"), ("in force at", "inForceAt"), ("error", "error")]


@app.command("list")
def list_sets(limit: Annotated[int, typer.Option(min=1, max=1000, help="Most sets to show")] = 20,
              as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """List score sets, the latest computed first; the one in force is marked."""
    found = call(config, "derms", "GET", "/api/score-sets", params={"limit": limit})
    print_json_or_table(found, as_json, lambda rows: table_of(f"Score sets ({len(rows)})", rows, COLUMNS))


@app.command("show")
def show(set_id: Annotated[str, typer.Argument(help="A set's id, or `current` for the set in force")] = "current",
         as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """One score set: its file, checksum, state and counts."""
    found = call(config, "derms", "GET", f"/api/score-sets/{set_id}")
    print_json_or_table(found, as_json, lambda one: table_of(f"Score set {one['setId']}", [
        {"field": heading, "value": "" if one.get(key) is None else str(one[key])}
        for heading, key in [*COLUMNS, ("computed at", "computedAt"), ("run", "runId"), ("sha256", "fileSha256")]
    ], [("", "field"), ("", "value")]))


@app.command("device")
def device(head_end: Annotated[str, typer.Argument(help="The device's head-end system, e.g. ECOCLOUD")],
           nic_id: Annotated[str, typer.Argument(help="The device's NIC id")],
           as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """A device's score and eligibility in the set in force, one row per subscription."""
    found = call(config, "derms", "GET", f"/api/devices/{head_end}/{nic_id}/score")
    print_json_or_table(found, as_json, lambda rows: table_of(f"Score of {head_end}/{nic_id}", rows, [
        ("device", "deviceId"), ("subscription", "subscriptionId"), ("program", "programCode"), ("score", "score"),
        ("eligible", "eligible"), ("reason", "reason"), ("set", "setId"), ("components", "components")]))
