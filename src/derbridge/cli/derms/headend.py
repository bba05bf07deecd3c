"""`derbridge headend`: aggregator clouds behind DERMS — run one as its own process, play an aggregator enrolling
its devices, see DERMS's head ends and its device status checks."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from derbridge.cli.support import ConfigOption, JsonOption, call, console, errors, settings_from

app = typer.Typer(help="Aggregator clouds (head-end systems) behind DERMS: run one, enroll its devices, "
                       "follow DERMS's status checks.", no_args_is_help=True)

DatasetOption = Annotated[Path, typer.Option("--dataset", exists=True, file_okay=False,
                                             help="Dataset directory (`derbridge dataset generate`)")]


@app.command("serve")
def serve(
    name: Annotated[str, typer.Argument(help="Head-end system name, e.g. ECOCLOUD, NESTLIKE, HOMEGRID")],
    port: Annotated[int, typer.Option(help="Port to listen on (host: DERBRIDGE_HOST)")],
    dataset: Annotated[Path | None, typer.Option(exists=True, file_okay=False,
                                                 help="Dataset directory whose devices of NAME form the fleet; "
                                                      "without it the fleet starts empty")] = None,
    lag: Annotated[float, typer.Option(min=0, help="Reporting lag in seconds: how stale statuses are")] = 0.0,
    status_failure_rate: Annotated[float, typer.Option(min=0, max=1, help="Share of status queries a device "
                                                                          "does not answer")] = 0.0,
    registration_failure_rate: Annotated[float, typer.Option(min=0, max=1, help="Share of (de)registrations "
                                                                                "refused")] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed of every draw (same seed, same failures and responses)")] = 0,
    response_rate: Annotated[float, typer.Option(min=0, max=1, help="Share of dispatched devices that take "
                                                                    "the event")] = 0.9,
    override_rate: Annotated[float, typer.Option(min=0, max=1, help="Share of responding devices whose "
                                                                    "customer overrides the event")] = 0.05,
    offline_rate: Annotated[float, typer.Option(min=0, max=1, help="Share of dispatched devices that go off "
                                                                   "line during the event")] = 0.02,
    peak_temperature: Annotated[float, typer.Option(help="Afternoon outdoor temperature, °C")] = 35.0,
    temperature_swing: Annotated[float, typer.Option(min=0, help="How much cooler the night is, °C")] = 10.0,
    config: ConfigOption = None,
) -> None:
    """Run a simulated aggregator cloud as its own process.

    Its fleet answers dispatches as docs/fleets.md describes. It answers DERMS's gateway (credential
    `derms`) and operators (credential `operator`, see `derbridge credentials headend`). Point DERMS at it with
    DERBRIDGE_HEADENDS="NAME url=http://HOST:PORT, …".
    """
    import uvicorn

    from derbridge.bootstrap import configure_logging
    from derbridge.derms.headend.service import create_app
    from derbridge.derms.headend.simulator import CloudProfile, SimulatedCloud, devices_file, load_fleets
    from derbridge.web.auth import load_or_create_credentials

    settings = settings_from(config)
    configure_logging(settings)
    profile = CloudProfile(name, lag, status_failure_rate, registration_failure_rate, seed, response_rate,
                           override_rate, offline_rate, peak_temperature, temperature_swing)
    cloud = load_fleets(devices_file(dataset), [profile])[name] if dataset else SimulatedCloud(profile)
    load_or_create_credentials(settings)
    console.print(f"head end {name} listening on http://{settings.host}:{port} with {cloud.size:,} devices; "
                  f"data directory {settings.data_dir.resolve()}; Ctrl-C stops", highlight=False)
    uvicorn.run(create_app(cloud, settings), host=settings.host, port=port, log_level="warning", access_log=False)


@app.command("enroll")
def enroll(
    dataset: DatasetOption,
    head_end: Annotated[str, typer.Option("--head-end", help="The aggregator's cloud: whose devices to enroll")],
    count: Annotated[int, typer.Option(min=1, help="How many not-yet-enrolled devices to enroll")],
    batch: Annotated[int, typer.Option(min=1, max=1000, help="Records per batch")] = 500,
    program: Annotated[str, typer.Option(help="Program code to enroll in")] = "SMARTSTAT",
    start: Annotated[datetime | None, typer.Option(help="Program start (default: the dataset's as-of date)")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for every batch's results")] = 600.0,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Play an aggregator: enroll devices of one cloud through DERMS and wait for the results.

    Takes COUNT devices of HEAD_END that the dataset marks as not enrolled, builds their enrollment records
    from the dataset's CIS tables, submits them to DERMS in batches, waits for every batch's results and
    prints what was enrolled and why the rest was refused. Exits 1 if results are missing.
    """
    from derbridge.scenario import aggregator
    from derbridge.web.auth import outbound_credential
    from derbridge.web.client import make_client

    settings = settings_from(config)
    credential = outbound_credential(settings, "aggregator", "derms")
    with make_client(settings.url("derms"), credential, 60.0) as derms, Progress(
            TextColumn("{task.description:<14}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=console, transient=as_json) as progress:
        submitted = progress.add_task("submitted", total=None)
        settled = progress.add_task("with results", total=None)

        def report(done: int, with_results: int, total: int) -> None:
            progress.update(submitted, completed=done, total=total)
            progress.update(settled, completed=with_results, total=total)

        run = _call(lambda: aggregator.enroll_dataset_devices(
            derms, dataset, head_end, count, batch, program, start, progress=report, timeout_s=timeout))
    if run.records < count:
        errors.print(f"[yellow]the dataset has only {run.records:,} {head_end} devices not enrolled[/]")
    if as_json:
        print(json.dumps({"requested": count, "records": run.records, "enrolled": run.enrolled,
                          "awaiting": run.awaiting, "refused": dict(run.refused_by_reason()),
                          "batches": [b["batchId"] for b in run.batches], "seconds": round(run.seconds, 2)}, indent=2))
    else:
        console.print(enrollment_summary(head_end, count, run))
    raise typer.Exit(1 if run.awaiting or not run.records else 0)


def enrollment_summary(head_end: str, requested: int, run: Any) -> Table:
    table = Table(title=f"{head_end} enrollments", caption=f"{len(run.batches)} batches, {run.seconds:.1f} s")
    table.add_column("outcome")
    table.add_column("records", justify="right")
    table.add_row("requested", f"{requested:,}")
    table.add_row("submitted", f"{run.records:,}")
    table.add_row("[green]enrolled[/]", f"{run.enrolled:,}")
    for reason, count in run.refused_by_reason():
        table.add_row(f"[red]refused[/] {reason}", f"{count:,}")
    if run.awaiting:
        table.add_row("[yellow]awaiting results[/]", f"{run.awaiting:,}")
    return table


@app.command("list")
def list_head_ends(as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """DERMS's head-end systems: where each runs, its reporting lag, its fleet."""
    found = call(config, "derms", "GET", "/api/headends")
    if as_json:
        print(json.dumps(found, indent=2))
        return
    table = Table(title="DERMS head ends")
    for heading in ("name", "where", "lag s", "devices", "online", "registered"):
        table.add_column(heading)
    for head_end in found:
        table.add_row(head_end["name"], head_end["where"], f"{head_end['reportingLagS']:g}",
                      *(f"{head_end[k]:,}" if k in head_end else "" for k in ("devices", "online", "registered")))
    console.print(table)


@app.command("checks")
def checks(
    nic: Annotated[str | None, typer.Option(help="Only this device's NIC id")] = None,
    head_end: Annotated[str | None, typer.Option("--head-end", help="Only this head-end system")] = None,
    message_id: Annotated[str | None, typer.Option("--id", help="One check, by its dacsMessageId")] = None,
    status: Annotated[str | None, typer.Option(help="NEW, HELD or ANSWERED")] = None,
    limit: int = 50,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """DERMS's device status checks (F6), newest first.

    What was asked, what the head end said, and whether the result reached the hub.
    """
    if message_id:
        found = [call(config, "derms", "GET", f"/api/status-checks/{message_id}")]
    else:
        params = {k: v for k, v in {"nicId": nic, "headEndSystem": head_end, "status": status,
                                    "limit": limit}.items() if v}
        found = call(config, "derms", "GET", "/api/status-checks", params=params)
    if as_json:
        print(json.dumps(found, indent=2))
        return
    table = Table(title="DERMS status checks")
    for heading in ("dacsMessageId", "head end", "NIC id", "status", "result", "message", "received", "answered",
                    "delivery"):
        table.add_column(heading)
    for check in found:
        table.add_row(check["dacsMessageId"], check["headEndSystem"], check["nicId"], check["status"],
                      check["responseCode"] or "", check["message"] or "", _time(check["receivedAt"]),
                      _time(check["answeredAt"]), check["delivery"] or "")
    console.print(table)


def _time(iso: str | None) -> str:
    return iso[11:23] if iso else ""


def _call(action: Any) -> Any:
    """Run an aggregator's requests; a refusal or an unreachable DERMS is printed, exit 1."""
    from derbridge.web.operator import OperatorError

    try:
        return action()
    except OperatorError as exc:
        errors.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc
    except Exception as exc:
        if type(exc).__name__.endswith(("ConnectError", "ConnectTimeout")):
            errors.print(f"[red]cannot reach DERMS:[/] {exc}. Is it running (`derbridge up` or `derbridge derms`)?")
            raise typer.Exit(1) from exc
        raise
