"""`derbridge availability`: whether devices may take part in a candidate event, as the running DERMS judges it
from the program rules it holds, and the rules a planner may override."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from derbridge.cli.support import ConfigOption, JsonOption, call, console, errors

app = typer.Typer(help="Whether devices may take part in a candidate event, as DERMS sees it.", no_args_is_help=True)


def show(result: Any) -> None:
    if result is not None:
        print(json.dumps(result, indent=2))


@app.command("check")
def check(
    start: Annotated[str, typer.Option(help="Event start, ISO 8601 with offset, e.g. 2026-07-15T19:00:00Z")],
    end: Annotated[str, typer.Option(help="Event end, ISO 8601 with offset")],
    program: Annotated[str | None, typer.Option(help="Judge every active device of this program")] = None,
    device: Annotated[list[str] | None, typer.Option(help="A device as HEADEND/NIC (repeatable)")] = None,
    now: Annotated[str | None, typer.Option(help="When the event is planned (default: now), for notice")] = None,
    default_time_zone: Annotated[str, typer.Option(help="For devices without a service location")] = "UTC",
    limit: Annotated[int, typer.Option(help="Devices listed (the summary counts them all)")] = 50,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Which devices may take part in an event, every rule that stops each one, and a summary."""
    if (program is None) == (not device):
        errors.print("[red]give either --program or --device[/]")
        raise typer.Exit(2)
    body: dict[str, Any] = {"eventStart": start, "eventEnd": end, "now": now, "defaultTimeZone": default_time_zone,
                            "limit": limit}
    if program is not None:
        body["programCode"] = program
    else:
        body["devices"] = [_device_key(spec) for spec in device or []]
    with console.status("asking DERMS"):
        found = call(config, "derms", "POST", "/api/availability", json=body)
    if as_json:
        show(found)
        return
    console.print(devices_table(found))
    console.print(summary_table(found["summary"]))


def _device_key(spec: str) -> dict[str, str]:
    head_end, _, nic = spec.partition("/")
    if not head_end or not nic:
        errors.print(f"[red]device {spec!r} is not HEADEND/NIC[/]")
        raise typer.Exit(2)
    return {"headEndSystem": head_end, "nicId": nic}


def devices_table(found: dict[str, Any]) -> Table:
    shown, total = len(found["devices"]), found["summary"]["devices"]
    title = f"Availability {found['eventStart']} → {found['eventEnd']}" + (
        f" (first {shown} of {total} devices)" if found["truncated"] else "")
    table = Table(title=title)
    for column in ("head end", "nic", "program", "time zone", "score", "eligible", "available", "violated rules"):
        table.add_column(column)
    for d in found["devices"]:
        violations = ", ".join(v["code"] + (" (overridable)" if v["overridable"] else "") for v in d["violations"])
        score = "" if d.get("score") is None else f"{d['score']:g}"
        eligible = "" if d.get("eligible") is None else "yes" if d["eligible"] else f"no: {d.get('scoreReason')}"
        table.add_row(d["headEndSystem"], d["nicId"], d["programCode"], d["timeZone"], score, eligible,
                      "[green]yes[/]" if d["available"] else "[red]no[/]", violations)
    return table


def summary_table(summary: dict[str, Any]) -> Table:
    table = Table(title=f"{summary['devices']} devices: {summary['available']} available, "
                        f"{summary['unavailable']} not")
    for column in ("rule", "devices", "blocking", "meaning"):
        table.add_column(column)
    for reason in summary["reasons"]:
        table.add_row(reason["code"], str(reason["devices"]), str(reason["blocking"]), reason["text"])
    return table


@app.command("overridable")
def overridable(program: str,
                reasons: Annotated[list[str] | None, typer.Argument(help="Rule codes, e.g. WEEKLY_CAP_REACHED; "
                                                                        "none clears them")] = None,
                config: ConfigOption = None) -> None:
    """Set the rules a planner may override for a program (availability reports them, but they do not block)."""
    show(call(config, "derms", "PUT", f"/api/programs/{program}/overridable-rules", json={"reasons": reasons or []}))


@app.command("programs")
def derms_programs(as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """Programs DERMS holds rules for (from the program system), with their overridable rules."""
    found = call(config, "derms", "GET", "/api/programs")
    if as_json:
        show(found)
        return
    table = Table(title="Programs in DERMS")
    for column in ("program", "rules version", "rules", "overridable", "last message"):
        table.add_column(column)
    for p in found:
        table.add_row(p["programCode"], str(p["rulesVersion"]), ", ".join(r["ruleCode"] for r in p["rules"]),
                      ", ".join(p["overridable"]), p["lastMessageId"])
    console.print(table)

