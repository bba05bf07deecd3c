"""`derbridge registry`: what DERMS's device registry holds, asked of a running DERMS through its operator API."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from derbridge.cli.support import ConfigOption, JsonOption, call, print_json_or_table, table_of

app = typer.Typer(help="DERMS's device registry: subscriptions, devices and their head-end registration.",
                  no_args_is_help=True)

Limit = Annotated[int, typer.Option(min=1, max=1000, help="Most rows to show")]
Offset = Annotated[int, typer.Option(min=0, help="Rows to skip (the next page starts at offset + limit)")]


@app.command("devices")
def devices(
    head_end: Annotated[str | None, typer.Option("--head-end", help="Only this head-end system, e.g. ECOCLOUD")]
    = None,
    registration: Annotated[str | None, typer.Option(
        help="Only this registration: REGISTERED, DEREGISTERED, NOT_REGISTERED or D1RE, D1DR, D1NR")] = None,
    active: Annotated[bool | None, typer.Option("--active/--inactive", help="Only active or inactive devices")]
    = None,
    limit: Limit = 50, offset: Offset = 0, as_json: JsonOption = False, config: ConfigOption = None,
) -> None:
    """List devices by head end and NIC id, with their registration."""
    params = {"headEndSystem": head_end, "registration": registration, "limit": limit, "offset": offset,
              "active": None if active is None else str(active).lower()}
    found = _get("/api/devices", params, config)
    _show(found, as_json, "Devices", [
        ("head end", "headEndSystem"), ("NIC id", "nicId"), ("device", "deviceId"), ("subscription", "subscriptionId"),
        ("active", "active"), ("registration", "headEndRegistration"), ("pending", "registrationPending"),
        ("message", "registrationMessage")])


@app.command("subscriptions")
def subscriptions(
    status: Annotated[str | None, typer.Option(help="Only ACTIVE or INACTIVE subscriptions")] = None,
    limit: Limit = 50, offset: Offset = 0, as_json: JsonOption = False, config: ConfigOption = None,
) -> None:
    """List program subscriptions by id."""
    found = _get("/api/subscriptions", {"status": status, "limit": limit, "offset": offset}, config)
    _show(found, as_json, "Subscriptions", [
        ("subscription", "subscriptionId"), ("status", "status"), ("program", "programCode"),
        ("person", "cisPersonId"), ("service point", "cisServicePointId"), ("start", "startDateTime"),
        ("end", "endDateTime"), ("last sync", "lastMessageId")])


@app.command("counts")
def counts(as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """Count devices per head end, registration and active flag (and how many the worker has yet to settle)."""
    found = _get("/api/devices/counts", {}, config)
    _show(found, as_json, "Device registrations", [
        ("head end", "headEndSystem"), ("registration", "headEndRegistration"), ("active", "active"),
        ("devices", "devices"), ("pending", "pending")])


@app.command("bulk-syncs")
def bulk_syncs(as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """List bulk initial syncs, newest first, with their progress and registration counts."""
    found = _get("/api/bulk-syncs", {}, config)
    _show(found, as_json, "Bulk initial syncs", [
        ("bulk sync", "bulkSyncId"), ("state", "state"), ("rows", "rows"), ("applied", "rowsApplied"),
        ("refused", "rowsRefused"), ("D1RE", "registered"), ("D1DR", "deregistered"), ("D1NR", "notRegistered"),
        ("error", "error")])


def _get(path: str, params: dict[str, Any], config: Path | None) -> Any:
    return call(config, "derms", "GET", path, params={k: v for k, v in params.items() if v is not None})


def _show(rows: list[dict[str, Any]], as_json: bool, title: str, columns: list[tuple[str, str]]) -> None:
    print_json_or_table(rows, as_json, lambda found: table_of(f"{title} ({len(found)})", found, columns))
