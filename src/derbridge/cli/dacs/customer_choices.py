"""`derbridge optouts` and `derbridge unavailability`: an agent's record of a customer's choices in the running
program system — an opt-out of an upcoming event (F12) and unavailability windows (F13), each synced to DERMS."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

import typer

from derbridge.cli.support import ActorOption, ConfigOption, JsonOption, call, console, table_of

optouts_app = typer.Typer(help="Customers' opt-outs of upcoming events (synced to DERMS).", no_args_is_help=True)
unavailability_app = typer.Typer(help="Customers' unavailability windows per device (synced to DERMS).",
                                 no_args_is_help=True)
When = Annotated[datetime, typer.Option(help="With its offset, e.g. 2026-07-15T14:00:00-05:00 (none: UTC)",
                                        formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z", "%Y-%m-%dT%H:%M:%S"])]


@optouts_app.command("record")
def record(event: Annotated[str, typer.Argument(help="The DERMS event (eventExternalIdentifier)")],
           device: Annotated[str, typer.Argument(help="The program system's device id")],
           config: ConfigOption = None, actor: ActorOption = None) -> None:
    """Opt a reserved device out of an upcoming event; a refusal names the condition (90031–90034)."""
    result = call(config, "dacs", "POST", "/api/participations/opt-outs", actor,
                  json={"eventExternalIdentifier": event, "deviceId": device})
    console.print(f"{result['result']}: device {result['deviceId']} ({result['headEndSystem']}/{result['nicId']}) "
                  f"out of event {result['eventExternalIdentifier']}")


@optouts_app.command("list")
def list_optouts(event: Annotated[str | None, typer.Option(help="Only this event")] = None,
                 config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Opt-outs recorded, newest first."""
    rows = call(config, "dacs", "GET", "/api/participations/opt-outs",
                params={"eventExternalIdentifier": event} if event else {})
    _show("Opt-outs", rows, as_json, ("eventExternalIdentifier", "deviceId", "headEndSystem", "nicId", "optedOutAt"))


@unavailability_app.command("add")
def add(device: Annotated[str, typer.Argument(help="The program system's device id")], start: When, end: When,
        reason: Annotated[str, typer.Option(help="Why the customer cannot take part")],
        config: ConfigOption = None, actor: ActorOption = None) -> None:
    """Declare a device unavailable from start to end (refused, 90035, where its program type does not allow
    it)."""
    _window(call(config, "dacs", "POST", "/api/unavailability", actor, json={
        "deviceId": device, "start": _aware(start), "end": _aware(end), "reason": reason}))


@unavailability_app.command("edit")
def edit(window_id: Annotated[str, typer.Argument(help="The window's unavailabilityId")],
         start: When | None = None, end: When | None = None,
         reason: Annotated[str | None, typer.Option(help="A new reason")] = None,
         config: ConfigOption = None, actor: ActorOption = None) -> None:
    """Change a window's start, end or reason: a new version, synced."""
    change = {"start": _aware(start) if start else None, "end": _aware(end) if end else None, "reason": reason}
    _window(call(config, "dacs", "PUT", f"/api/unavailability/{window_id}", actor,
                 json={k: v for k, v in change.items() if v is not None}))


@unavailability_app.command("cancel")
def cancel(window_id: Annotated[str, typer.Argument(help="The window's unavailabilityId")],
           config: ConfigOption = None, actor: ActorOption = None) -> None:
    """Cancel a window: a new version, CANCELLED, synced."""
    _window(call(config, "dacs", "DELETE", f"/api/unavailability/{window_id}", actor))


@unavailability_app.command("list")
def list_windows(device: Annotated[str | None, typer.Option(help="Only this device")] = None,
                 status: Annotated[str | None, typer.Option(help="ACTIVE or CANCELLED")] = None,
                 config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Unavailability windows, by start."""
    params = {key: value for key, value in (("deviceId", device), ("status", status)) if value}
    rows = call(config, "dacs", "GET", "/api/unavailability", params=params)
    _show("Unavailability", rows, as_json,
          ("unavailabilityId", "version", "status", "deviceId", "start", "end", "reason"))


def _aware(moment: datetime) -> str:
    return moment.isoformat() if moment.tzinfo else f"{moment.isoformat()}+00:00"


def _window(window: dict[str, Any]) -> None:
    console.print(f"window {window['unavailabilityId']} version {window['version']} {window['status']}: device "
                  f"{window['deviceId']} from {window['start']} to {window['end']} ({window['reason']})")


def _show(title: str, rows: list[dict[str, Any]], as_json: bool, columns: tuple[str, ...]) -> None:
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    console.print(table_of(title, rows, [(column, column) for column in columns]))
