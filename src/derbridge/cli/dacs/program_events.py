"""`derbridge program-events`: DERMS's events as the running program system holds them — a program event per
stage, with their status — and the devices reserved for each."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from derbridge.cli.support import ConfigOption, JsonOption, call, console, table_of

app = typer.Typer(help="Program events in the program system: one per DERMS event stage (F8), with the "
                       "participations reservations made (F9) and cancellations took back (F10).",
                  no_args_is_help=True)


@app.command("list")
def list_events(status: Annotated[str | None, typer.Option(help="PENDING, SCHEDULED, IN_PROGRESS, COMPLETED, "
                                                                "CANCELLED")] = None,
                limit: int = 50, as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """DERMS events as program events, latest start first, with their participation counts."""
    params: dict[str, Any] = {"limit": limit, **({"status": status} if status else {})}
    found = call(config, "dacs", "GET", "/api/program-events", params=params)
    if as_json:
        print(json.dumps(found, indent=2))
        return
    console.print(table_of("Program events", found, [
        ("event", "eventExternalIdentifier"), ("program", "programCode"), ("category", "category"),
        ("start", "start"), ("end", "end"), ("status", "status"), ("stages", "stages"), ("reserved", "reserved"),
        ("opted out", "optedOut")]))


@app.command("show")
def show_event(event_id: str,
               participations: Annotated[int, typer.Option(help="Participations listed")] = 20,
               as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """One DERMS event: its program events (stages) and its participations."""
    event = call(config, "dacs", "GET", f"/api/program-events/{event_id}")
    held = call(config, "dacs", "GET", f"/api/program-events/{event_id}/participations",
                params={"limit": max(participations, 1)})[:participations]
    if as_json:
        print(json.dumps({**event, "participations": held}, indent=2))
        return
    console.print(f"{event_id}: {event['status']}, {event['reserved']} reserved of {event['participations']} "
                  f"participations, {event['optedOut']} opted out")
    console.print(table_of("Program events", event["stages"], [
        ("program event", "programEventId"), ("stage", "externalIdentifier"), ("category", "programEventCategory"),
        ("start", "startDateTime"), ("end", "endDateTime"), ("status", "status"), ("cancel reason", "cancelReason")]))
    console.print(table_of(f"Participations (first {len(held)})", held, [
        ("head end", "headEndSystem"), ("nic", "nicId"), ("device", "deviceId"), ("reserved", "reserved"),
        ("from", "reservationStart"), ("until", "reservationEnd"), ("opted out", "optedOut")]))
