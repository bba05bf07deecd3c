"""`derbridge scores`: device scores in the running program system (F7) — score rule sets and the programs they
score, a rule set tried on one device, score runs, and why a device scored what it did."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from derbridge.cli.support import ConfigOption, JsonOption, call, console, fields_table, print_json_or_table, read_json

app = typer.Typer(help="Device scores (F7): every device in an ACTIVE program gets a score and an eligibility "
                       "flag, daily and on demand, sent to DERMS in the score file (docs/scores.md).",
                  no_args_is_help=True)
rules_app = typer.Typer(help="Score rule sets: formulas over each device's variables, checked when saved; a "
                             "program is scored by the one attached to it, or by DEFAULT.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")

RuleSetFile = Annotated[Path, typer.Argument(help="JSON file: description, rules[{name, formula}], "
                                                  "eligibility[{formula, reason}], factors{NAME: [numbers]}")]
WAIT_S = 900.0


@rules_app.command("create")
def create(name: str, file: RuleSetFile, config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Save a new rule set named NAME; a refusal names each field and the line and column at fault."""
    body = {**read_json(file), "name": name}
    print_json_or_table(call(config, "dacs", "POST", "/api/score-rule-sets", json=body), as_json, rule_set_table)


@rules_app.command("update")
def update(name: str, file: RuleSetFile, config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Replace a rule set's content; its version goes up when something changed."""
    body = {key: value for key, value in read_json(file).items() if key != "name"}
    print_json_or_table(call(config, "dacs", "PUT", f"/api/score-rule-sets/{name}", json=body), as_json,
                        rule_set_table)


@rules_app.command("list")
def list_rule_sets(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """The default rule set and the saved ones, with the programs each scores."""
    def table(found: list[dict[str, Any]]) -> Table:
        shown = Table(title="Score rule sets")
        for column in ("name", "version", "rules", "eligibility reasons", "programs", "updated by", "updated at"):
            shown.add_column(column, overflow="fold")
        for each in found:
            shown.add_row(each["name"] + (" (built in)" if each["builtIn"] else ""), str(each["version"]),
                          ", ".join(rule["name"] for rule in each["rules"]),
                          ", ".join(condition["reason"] for condition in each["eligibility"]),
                          ", ".join(each["programCodes"]), each["updatedBy"] or "", each["updatedAt"] or "")
        return shown

    print_json_or_table(call(config, "dacs", "GET", "/api/score-rule-sets"), as_json, table)


@rules_app.command("show")
def show(name: Annotated[str, typer.Argument(help="A rule set's name, or DEFAULT")], config: ConfigOption = None,
         as_json: JsonOption = False) -> None:
    """One rule set: its rules, eligibility conditions, factors and programs."""
    print_json_or_table(call(config, "dacs", "GET", f"/api/score-rule-sets/{name}"), as_json, rule_set_table)


@rules_app.command("delete")
def delete(name: str, config: ConfigOption = None) -> None:
    """Delete a rule set no program uses."""
    call(config, "dacs", "DELETE", f"/api/score-rule-sets/{name}")
    console.print(f"score rule set {name} deleted")


@rules_app.command("attach")
def attach(name: str, program_code: str, config: ConfigOption = None) -> None:
    """Score PROGRAM_CODE by rule set NAME from the next run on (replacing its own)."""
    done = call(config, "dacs", "POST", f"/api/score-rule-sets/{name}/programs", json={"programCode": program_code})
    replaced = f", replacing {done['replaced']}" if done["replaced"] else ""
    console.print(f"{program_code} is scored by {name}{replaced}")


@rules_app.command("detach")
def detach(name: str, program_code: str, config: ConfigOption = None) -> None:
    """Score PROGRAM_CODE by the default rule set again."""
    call(config, "dacs", "DELETE", f"/api/score-rule-sets/{name}/programs/{program_code}")
    console.print(f"{program_code} is scored by DEFAULT")


@rules_app.command("test")
def test(name: Annotated[str, typer.Argument(help="A rule set's name, or DEFAULT")], device_id: str,
         config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """What DEVICE_ID would score now by rule set NAME, and why: every variable, every step, the result."""
    tried = call(config, "dacs", "POST", f"/api/score-rule-sets/{name}/test", json={"deviceId": device_id})
    if as_json:
        print(json.dumps(tried, indent=2))
        return
    console.print(values_table(f"Variables of {device_id} as of {tried['asOf']}", tried["variables"]))
    console.print(values_table(f"Steps of {tried['ruleSet']} (version {tried['ruleSetVersion']})", tried["steps"]))
    console.print(verdict(tried))


@app.command("run")
def run(wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait until the run is done")] = False,
        config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Score every device now: the score file is written and queued to the hub (and dropped for pickup)."""
    found = call(config, "dacs", "POST", "/api/score-runs")
    path = f"/api/score-runs/{found['runId']}"
    if wait:
        deadline = time.monotonic() + WAIT_S
        with console.status(f"score run {found['runId']}: scoring every device", spinner="dots"):
            while (found := call(config, "dacs", "GET", path))["status"] == "RUNNING":
                if time.monotonic() > deadline:
                    console.print(f"[yellow]running after {WAIT_S:g} s; follow it with `derbridge scores runs`[/]")
                    raise typer.Exit(1)
                time.sleep(0.5)
    print_json_or_table(found, as_json, lambda r: fields_table(f"Score run {r['runId']}", _flat(r)))
    if found["status"] == "FAILED":
        raise typer.Exit(1)


@app.command("runs")
def list_runs(limit: Annotated[int, typer.Option(help="How many, newest first")] = 20, config: ConfigOption = None,
              as_json: JsonOption = False) -> None:
    """Score runs, newest first: devices scored, eligible, seconds, file."""
    def table(found: list[dict[str, Any]]) -> Table:
        shown = Table(title="Score runs (program system)")
        for column in ("run", "trigger", "status", "computed at", "devices", "eligible", "seconds", "file"):
            shown.add_column(column, overflow="fold")
        for r in found:
            shown.add_row(r["runId"], r["trigger"], r["status"], r["computedAt"], _count(r["devices"]),
                          _count(r["eligible"]), "" if r["seconds"] is None else f"{r['seconds']:.2f}",
                          r["fileName"] if r["status"] == "DONE" else (r["error"] or ""))
        return shown

    print_json_or_table(call(config, "dacs", "GET", f"/api/score-runs?limit={limit}"), as_json, table)


@app.command("explain")
def explain(device_id: str, config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """A device's score from the latest run and the components that made it."""
    found = call(config, "dacs", "GET", f"/api/devices/{device_id}/score")
    if as_json:
        print(json.dumps(found, indent=2))
        return
    console.print(values_table(f"Score of {device_id} ({found['programCode']}), run {found['runId']} as of "
                               f"{found['computedAt']}", found["values"]))
    console.print(verdict(found))


def rule_set_table(found: dict[str, Any]) -> Table:
    table = Table(title=f"Score rule set {found['name']} (version {found['version']})")
    table.add_column("part")
    table.add_column("name / reason")
    table.add_column("formula", overflow="fold")
    for rule in found["rules"]:
        table.add_row("rule", rule["name"], rule["formula"])
    for condition in found["eligibility"]:
        table.add_row("eligible if", condition["reason"], condition["formula"])
    for name, values in found["factors"].items():
        table.add_row("factors", name, ", ".join(f"{value:g}" for value in values))
    table.add_row("programs", "", ", ".join(found["programCodes"]) or "(none)")
    return table


def values_table(title: str, values: dict[str, Any]) -> Table:
    table = Table(title=title)
    table.add_column("name")
    table.add_column("value", justify="right")
    for name, value in values.items():
        table.add_row(name, _value(value))
    return table


def verdict(result: dict[str, Any]) -> str:
    eligible = "[green]eligible[/]" if result["eligible"] else f"[red]not eligible: {result['reason']}[/]"
    return f"score [bold]{result['score']:g}[/], {eligible}"


def _value(value: Any) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _count(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def _flat(run: dict[str, Any]) -> dict[str, Any]:
    return {**{key: value for key, value in run.items() if key != "reasons"},
            **{f"not eligible: {reason}": count for reason, count in run["reasons"].items()}}
