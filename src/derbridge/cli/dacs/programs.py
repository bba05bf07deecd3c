"""`derbridge programs` and `derbridge rules`: programs and their rules in the running program system, over its
HTTP API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from derbridge.cli.support import ConfigOption, JsonOption, call, console, read_json

programs_app = typer.Typer(help="Program types and programs in the program system. Status moves "
                                "DRAFT → PENDING_APPROVAL → ACTIVE (approved) → INACTIVE; becoming ACTIVE "
                                "sends the program's rules to DERMS.", no_args_is_help=True)
rules_app = typer.Typer(help="Program rules in the program system. Associating, disassociating or changing a "
                             "rule of an ACTIVE program sends the program's rule set to DERMS (F2).",
                        no_args_is_help=True)
JsonFile = Annotated[Path, typer.Argument(help="JSON file with the body (see docs/wire.md)")]


def request(system: str, method: str, path: str, body: Any, config: Path | None) -> Any:
    """One call to a running system as its operator; a refusal is printed and ends the command."""
    return call(config, system, method, path, json=body)


def show(result: Any) -> None:
    if result is not None:
        print(json.dumps(result, indent=2))


# ---- programs ---------------------------------------------------------------------------------------------

@programs_app.command("create-type")
def create_type(file: JsonFile, config: ConfigOption = None) -> None:
    """Create a program type (code, category, device required, opt-out and unavailability rules)."""
    show(request("dacs", "POST", "/api/program-types", read_json(file), config))


@programs_app.command("types")
def list_types(as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """List program types."""
    found = request("dacs", "GET", "/api/program-types", None, config)
    if as_json:
        show(found)
        return
    table = Table(title="Program types")
    for column in ("code", "category", "device", "opt-out (cut-off min)", "unavailability", "description"):
        table.add_column(column)
    for t in found:
        opt_out = f"yes ({t['optOutCutoffMinutes']})" if t["preemptiveOptOutAllowed"] else "no"
        table.add_row(t["programTypeCode"], t["category"], _yes(t["deviceRequired"]), opt_out,
                      _yes(t["unavailabilityAllowed"]), t["description"])
    console.print(table)


@programs_app.command("create")
def create_program(file: JsonFile, config: ConfigOption = None) -> None:
    """Create a program (as a DRAFT) with its eligible device specifications and rates."""
    show(request("dacs", "POST", "/api/programs", read_json(file), config))


@programs_app.command("update")
def update_program(code: str, file: JsonFile, config: ConfigOption = None) -> None:
    """Replace a program's name, type, dates and eligibility (no sync)."""
    show(request("dacs", "PUT", f"/api/programs/{code}", read_json(file), config))


@programs_app.command("show")
def show_program(code: str, config: ConfigOption = None) -> None:
    """One program with its status, rules and eligibility."""
    show(request("dacs", "GET", f"/api/programs/{code}", None, config))


@programs_app.command("list")
def list_programs(status: Annotated[str | None, typer.Option(help="DRAFT, PENDING_APPROVAL, ACTIVE, INACTIVE")]
                  = None, as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """List programs."""
    found = request("dacs", "GET", "/api/programs" + (f"?status={status}" if status else ""), None, config)
    if as_json:
        show(found)
        return
    table = Table(title="Programs")
    for column in ("code", "name", "type", "status", "rules", "rules version"):
        table.add_column(column)
    for p in found:
        table.add_row(p["programCode"], p["name"], p["programTypeCode"], p["status"],
                      ", ".join(r["ruleCode"] for r in p["rules"]), str(p["rulesVersion"]))
    console.print(table)


@programs_app.command("status")
def change_status(
    code: str,
    status: Annotated[str, typer.Argument(help="PENDING_APPROVAL (submit), ACTIVE (approve), DRAFT (send back), "
                                               "INACTIVE (deactivate)")],
    approved_by: Annotated[str | None, typer.Option("--approved-by", help="The approver (needed for ACTIVE)")]
    = None,
    config: ConfigOption = None,
) -> None:
    """Move a program to another status; other moves are refused naming the allowed ones."""
    show(request("dacs", "POST", f"/api/programs/{code}/status", {"status": status, "approvedBy": approved_by},
                 config))


# ---- rules ------------------------------------------------------------------------------------------------

@rules_app.command("create")
def create_rule(file: JsonFile, config: ConfigOption = None) -> None:
    """Create a rule; nothing is synced until it is associated with an ACTIVE program."""
    show(request("dacs", "POST", "/api/rules", read_json(file), config))


@rules_app.command("update")
def update_rule(rule_id: str, file: JsonFile, config: ConfigOption = None) -> None:
    """Replace a rule's parameters; every ACTIVE program it belongs to syncs (a save with no change does not)."""
    show(request("dacs", "PUT", f"/api/rules/{rule_id}", read_json(file), config))


@rules_app.command("show")
def show_rule(rule_id: str, config: ConfigOption = None) -> None:
    """One rule with the programs it is associated with."""
    show(request("dacs", "GET", f"/api/rules/{rule_id}", None, config))


@rules_app.command("list")
def list_rules(as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """List rules."""
    found = request("dacs", "GET", "/api/rules", None, config)
    if as_json:
        show(found)
        return
    table = Table(title="Rules")
    for column in ("id", "code", "days", "window", "max min", "notice min", "caps w/m/s", "overrides", "programs"):
        table.add_column(column)
    for r in found:
        caps = "/".join("-" if c is None else str(c) for c in
                        (r["maxEventsPerWeek"], r["maxEventsPerMonth"], r["maxEventsPerSeason"]))
        table.add_row(r["ruleId"], r["ruleCode"], ",".join(r["allowEventDays"]),
                      f"{r['eventWindow']['start'][:5]}–{r['eventWindow']['end'][:5]}",
                      str(r["maxEventDurationMinutes"]), str(r["minNoticeMinutes"]), caps,
                      f"{r['allowedOverrides']}/{r['cycleFrequency'].lower()}", ", ".join(r["programCodes"]))
    console.print(table)


@rules_app.command("delete")
def delete_rule(rule_id: str, config: ConfigOption = None) -> None:
    """Delete a rule no program uses."""
    request("dacs", "DELETE", f"/api/rules/{rule_id}", None, config)
    console.print(f"rule {rule_id} deleted")


@rules_app.command("associate")
def associate(rule_id: str, program_code: str, config: ConfigOption = None) -> None:
    """Associate a rule with a program; prints the sync request when the program is ACTIVE."""
    show(request("dacs", "POST", f"/api/rules/{rule_id}/programs", {"programCode": program_code}, config))


@rules_app.command("disassociate")
def disassociate(rule_id: str, program_code: str, config: ConfigOption = None) -> None:
    """Disassociate a rule from a program; prints the sync request when the program is ACTIVE."""
    show(request("dacs", "DELETE", f"/api/rules/{rule_id}/programs/{program_code}", None, config))


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"
