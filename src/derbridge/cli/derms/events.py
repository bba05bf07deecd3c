"""`derbridge events`: demand-response events in the running DERMS — create, list, show, approve, cancel — their
reservation (what the engine would reserve, `reserve --dry-run`, and the reservation itself), and how each
stage's dispatch performed (`performance`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from derbridge.cli.support import ActorOption, ConfigOption, JsonOption, call, console, errors, read_json, table_of

app = typer.Typer(help="Demand-response events in DERMS: New → Scheduled → In Progress → Completed, or Cancelled "
                       "before the start. The program system hears of each (F8, F10); reservations go to it as "
                       "device lists (F9); each stage is dispatched at its start, and each device's outcome goes "
                       "to it after the event (F11).", no_args_is_help=True)
EVENT_TYPES = ("ECONOMIC", "EMERGENCY", "RELIABILITY", "DEVICE-TEST")


def show(result: Any) -> None:
    print(json.dumps(result, indent=2))


@app.command("create")
def create(
    name: Annotated[str, typer.Option(help="What operators call it")],
    program: Annotated[str, typer.Option(help="The program whose devices take part")],
    target_kw: Annotated[float, typer.Option(help="kW the event must deliver")],
    start: Annotated[str, typer.Option(help="Start, ISO 8601 with offset, e.g. 2026-07-15T19:00:00Z")],
    end: Annotated[str, typer.Option(help="End, ISO 8601 with offset")],
    event_type: Annotated[str, typer.Option("--type", help=", ".join(EVENT_TYPES))] = "ECONOMIC",
    substation: Annotated[list[str] | None, typer.Option(help="Only devices served by it (repeatable)")] = None,
    feeder: Annotated[list[str] | None, typer.Option(help="Only devices served by it (repeatable)")] = None,
    stages: Annotated[Path | None, typer.Option(help="JSON file: [{name, start, end}, …] (default: ramp-up, "
                                                     "sustain, ramp-down)")] = None,
    needs_approval: Annotated[bool, typer.Option(help="Stay New until an operator approves it")] = False,
    as_json: JsonOption = False, actor: ActorOption = None, config: ConfigOption = None,
) -> None:
    """Create an event; it is scheduled at once, unless it needs approval."""
    if substation and feeder:
        errors.print("[red]give --substation or --feeder, not both[/]")
        raise typer.Exit(2)
    zone = ({"kind": "SUBSTATIONS", "ids": substation} if substation else
            {"kind": "FEEDERS", "ids": feeder} if feeder else {"kind": "ALL", "ids": []})
    body: dict[str, Any] = {"name": name, "eventType": event_type, "programCode": program, "targetKw": target_kw,
                            "start": start, "end": end, "zone": zone, "needsApproval": needs_approval}
    if stages is not None:
        body["stages"] = read_json(stages)
    created = call(config, "derms", "POST", "/api/events", actor=actor, json=body)
    if as_json:
        show(created)
        return
    console.print(event_table(created))


@app.command("list")
def list_events(status: Annotated[str | None, typer.Option(help="NEW, SCHEDULED, IN_PROGRESS, COMPLETED, "
                                                                "CANCELLED")] = None,
                limit: int = 50, as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """Events, latest start first."""
    found = call(config, "derms", "GET", "/api/events", params={"status": status, "limit": limit} if status
                 else {"limit": limit})
    if as_json:
        show(found)
        return
    console.print(table_of("Events", found, [
        ("event", "eventId"), ("name", "name"), ("type", "eventType"), ("program", "programCode"),
        ("target kW", "targetKw"), ("start", "start"), ("end", "end"), ("status", "status")]))


@app.command("show")
def show_event(event_id: str, as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """One event: its stages, the history of its statuses, its reservation if it has one (the devices dropped
    from it — who, why, in which update — and the standby devices that replaced them), and its performance."""
    event = call(config, "derms", "GET", f"/api/events/{event_id}")
    held = call(config, "derms", "GET", f"/api/events/{event_id}/reservation", params={"limit": 0},
                missing_ok=True)
    changes = None if held is None else call(config, "derms", "GET", f"/api/events/{event_id}/reservation/changes")
    performed = call(config, "derms", "GET", f"/api/events/{event_id}/performance")
    if as_json:
        show({**event, "reservation": held if held is None else {**held, **(changes or {})},
              "performance": performed})
        return
    console.print(event_table(event))
    console.print(table_of("History", event["history"], [("status", "status"), ("at", "at"), ("by", "actor"),
                                                        ("note", "note")]))
    if held is not None:
        console.print(reservation_table(held))
    if changes and changes["drops"]:
        console.print(table_of("Dropped", changes["drops"], [
            ("head end", "headEndSystem"), ("NIC", "nicId"), ("why", "cause"), ("from", "sourceId"),
            ("recorded", "recordedAt"), ("outcome", "outcome"), ("update", "messageId")]))
    if changes and changes["backfills"]:
        console.print(table_of("Backfilled from standby", changes["backfills"], [
            ("head end", "headEndSystem"), ("NIC", "nicId"), ("rank", "rank"), ("expected kW", "expectedKw"),
            ("update", "messageId"), ("at", "backfilledAt")]))
    if any(stage["dispatch"] != "NOT_YET" for stage in performed["stages"]):
        console.print(performance_table(performed))


@app.command("performance")
def performance(event_id: str, feeders: Annotated[bool, typer.Option(help="A row per stage and feeder")] = False,
                live: Annotated[bool, typer.Option(help="While the event runs: delivered so far, from the head "
                                                        "ends' telemetry read now")] = False,
                as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """Target, reserved, dispatched and delivered kW of each stage (and feeder), and the devices' outcomes.

    Delivered kW is measured from telemetry against each device's own baseline (the mean of the same quarter hours
    on the five days before, when not under an event), once the event is completed and its outcomes sent, or so
    far with --live."""
    performed = call(config, "derms", "GET", f"/api/events/{event_id}/performance",
                     params={"live": "true"} if live else None)
    if as_json:
        show(performed)
        return
    console.print(performance_table(performed, feeders))


@app.command("approve")
def approve(event_id: str, by: Annotated[str, typer.Option("--by", help="The approving operator's name")],
            config: ConfigOption = None) -> None:
    """Approve an event that waits for it: it is scheduled and the program system hears of it."""
    approved = call(config, "derms", "POST", f"/api/events/{event_id}/approve", json={"approvedBy": by})
    console.print(f"{approved['eventId']}: {approved['status']}, approved by {approved['approvedBy']}")


@app.command("cancel")
def cancel(event_id: str, reason: Annotated[str, typer.Option(help="Told to the program system")],
           actor: ActorOption = None, config: ConfigOption = None) -> None:
    """Cancel an event before its end. Before its start its devices are released and the program system hears of
    it (F10); once started it is stopped: the head ends end its orders and every device's outcome is D1CN."""
    cancelled = call(config, "derms", "POST", f"/api/events/{event_id}/cancel", actor=actor,
                     json={"reason": reason})
    console.print(f"{cancelled['eventId']}: {cancelled['status']} ({cancelled['cancelReason']})")
    if any(moved["status"] == "IN_PROGRESS" for moved in cancelled["history"]):
        console.print("It had started: its dispatch is stopped at the head ends, and every device's outcome will be "
                      "D1CN (`derbridge events performance " + cancelled["eventId"] + "`).")


@app.command("reserve")
def reserve(
    event_id: str,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would be reserved; reserve nothing")] = False,
    seed: Annotated[int | None, typer.Option(help="Breaks ties between equal devices (default: from the event)")]
    = None,
    limit: Annotated[int, typer.Option(help="Devices listed")] = 20,
    as_json: JsonOption = False, config: ConfigOption = None,
) -> None:
    """Reserve devices for a scheduled event (again: an update with the changes), or see what would be."""
    body: dict[str, Any] = {"dryRun": dry_run, "limit": limit, **({"seed": seed} if seed is not None else {})}
    result = call(config, "derms", "POST", f"/api/events/{event_id}/reservation", json=body, timeout=600)
    if as_json:
        show(result)
        return
    if dry_run:
        console.print(what_if_table(result))
        console.print(table_of("Excluded, by constraint (a device may count under several)", result["excluded"],
                               [("constraint", "constraint"), ("devices", "devices"), ("why", "text")]))
        console.print(table_of("Expected kW by feeder", result["byFeeder"], [
            ("feeder", "feederId"), ("devices", "devices"), ("expected kW", "expectedKw"),
            ("headroom kW", "headroomKw")]))
        console.print(table_of(f"First {len(result['devices'])} devices, in rank order", result["devices"], [
            ("rank", "rank"), ("role", "role"), ("head end", "headEndSystem"), ("nic", "nicId"),
            ("expected kW", "expectedKw"), ("feeder", "feederId"), ("transformer", "transformerId")]))
        return
    console.print(reservation_table(result))
    if result.get("changed") is False:
        console.print("nothing changed since the last device list: none sent")


def event_table(event: dict[str, Any]) -> Table:
    table = Table(title=f"{event['eventId']} {event['name']} — {event['status']}", show_header=False)
    zone = event["zone"]
    for key, value in (("type", event["eventType"]), ("program", event["programCode"]),
                       ("target kW", event["targetKw"]), ("window", f"{event['start']} → {event['end']}"),
                       ("zone", zone["kind"] + (f" {', '.join(zone['ids'])}" if zone["ids"] else "")),
                       ("approval", f"by {event['approvedBy']}" if event["approvedBy"] else
                        "needed" if event["needsApproval"] else "not needed"),
                       ("cancelled", event["cancelReason"])):
        if value is not None:
            table.add_row(key, str(value))
    for stage in event.get("stages", []):
        table.add_row(f"stage {stage['sequence']}", f"{stage['name']}: {stage['start']} → {stage['end']}")
    return table


def what_if_table(result: dict[str, Any]) -> Table:
    table = Table(title=f"What {result['eventId']} would reserve (seed {result['seed']})", show_header=False)
    for key in ("targetKw", "expectedKw", "targetMet", "candidates", "eligible", "reserved", "standby"):
        table.add_row(key, str(result[key]))
    return table


def reservation_table(held: dict[str, Any]) -> Table:
    table = Table(title=f"Reservation of {held['eventId']} — {held['status']}", show_header=False)
    table.add_row("target / expected kW", f"{held['targetKw']} / {held['expectedKw']}"
                  + ("" if held.get("targetMet", True) else " — target not met"))
    if held.get("note"):
        table.add_row("note", held["note"])
    table.add_row("devices", ", ".join(f"{status} {count}" for status, count in sorted(held["devices"].items())))
    for device_list in held["deviceLists"]:
        table.add_row(f"device list {device_list['version']}",
                      f"{device_list['messageId']}: +{device_list['reserved']} −{device_list['released']}, "
                      f"ack {device_list['ackType'] or 'awaited'}")
    return table


def performance_table(performed: dict[str, Any], feeders: bool = False) -> Table:
    outcomes = ", ".join(f"{code} {count}" for code, count in sorted(performed["outcomes"].items())) or "not yet"
    so_far = " (delivered so far)" if performed.get("live") else ""
    table = Table(title=f"Performance of {performed['eventId']} — {performed['status']}{so_far}; outcomes: {outcomes}")
    for column in ("stage", "feeder", "dispatch", "target kW", "reserved kW", "dispatched kW", "delivered kW",
                   "devices"):
        table.add_column(column, justify="right" if "kW" in column or column == "devices" else "left")

    def kw(value: float | None) -> str:
        return "—" if value is None else f"{value:,.1f}"

    for stage in performed["stages"]:
        table.add_row(stage["name"], "all", stage["dispatch"], kw(stage["targetKw"]), kw(stage["reservedKw"]),
                      kw(stage["dispatchedKw"]), kw(stage["deliveredKw"]),
                      f"{stage['devicesAccepted'] or 0}/{stage['devicesDispatched']}")
        for feeder in stage["byFeeder"] if feeders else []:
            table.add_row("", feeder["feederId"] or "(none)", "", "", kw(feeder["reservedKw"]),
                          kw(feeder["dispatchedKw"]), kw(feeder["deliveredKw"]), str(feeder["devices"]))
    return table
