"""`derbridge cis`: load a CIS extract into the running program system and DERMS, and see what they hold."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from derbridge.cli.support import ConfigOption, console, settings_from
from derbridge.scenario.cis_load import (
    IMPORT_TIMEOUT_S,
    LoadError,
    Step,
    plan,
    read_manifest,
    status,
    tables_taken,
    upload,
    verify,
)

app = typer.Typer(help="Customer data from the CIS: bulk import into the program system and DERMS.",
                  no_args_is_help=True)

SystemChoice = Literal["dacs", "derms", "both"]
SYSTEMS: dict[str, tuple[str, ...]] = {"dacs": ("dacs",), "derms": ("derms",), "both": ("dacs", "derms")}
SystemOption = Annotated[SystemChoice, typer.Option(
    "--system", help="The program system (dacs), DERMS (derms) or both; each takes the tables it needs")]


@app.command("import")
def import_command(
    directory: Annotated[Path, typer.Argument(help="A dataset directory with manifest.json "
                                                   "(`derbridge dataset generate` writes one)")],
    system: SystemOption = "both",
    tables: Annotated[list[str] | None, typer.Option(
        "--tables", help="Only these tables, comma-separated or repeated (default: every table each system takes)")]
    = None,
    config: ConfigOption = None,
) -> None:
    """Check every file against manifest.json, then send each system its tables, parents first.

    Stops at the first file a system refuses, printing each problem's column and rows, and exits 1.
    """
    from derbridge.web.operator import operator_client

    settings = settings_from(config)
    wanted = [name.strip() for item in tables for name in item.split(",") if name.strip()] if tables else None
    clients = {name: operator_client(settings, name, IMPORT_TIMEOUT_S) for name in SYSTEMS[system]}
    started = time.perf_counter()
    try:
        steps = plan(read_manifest(directory), {name: tables_taken(client, name) for name, client in clients.items()},
                     wanted)
        _verify_all(steps)
        answers = _upload_all(clients, steps)
    except LoadError as exc:
        _fail(exc)
    finally:
        for client in clients.values():
            client.close()
    console.print(summary(answers, time.perf_counter() - started))


def _verify_all(steps: list[Step]) -> None:
    files = list({step.file.table: step.file for step in steps}.values())
    with Progress(TextColumn("{task.description:<28}"), BarColumn(), DownloadColumn(), console=console,
                  transient=True) as progress:
        task = progress.add_task("checking SHA-256", total=sum(file.bytes for file in files))
        for file in files:
            verify(file, lambda read: progress.advance(task, read))
    console.print(f"{len(files)} files match manifest.json", highlight=False)


def _upload_all(clients: dict[str, Any], steps: list[Step]) -> list[tuple[Step, dict[str, Any]]]:
    answers = []
    with Progress(TextColumn("{task.description:<28}"), BarColumn(), DownloadColumn(), TimeElapsedColumn(),
                  TextColumn("{task.fields[state]}"), console=console) as progress:
        tasks = {id(step): progress.add_task(f"{step.system} {step.file.table}", total=step.file.bytes,
                                             state="waiting", start=False) for step in steps}
        for step in steps:
            task = tasks[id(step)]
            progress.start_task(task)
            progress.update(task, state="sending")

            def sent(count: int, task: Any = task, step: Step = step) -> None:
                progress.advance(task, count)
                if progress.tasks[task].completed >= step.file.bytes:
                    progress.update(task, state="applying")

            try:
                answer = upload(clients[step.system], step, sent)
            except LoadError:
                progress.update(task, state="[red]refused[/]")
                raise
            progress.update(task, state=f"[green]{answer['rows']:,} rows[/]")
            progress.stop_task(task)
            answers.append((step, answer))
    return answers


def summary(answers: list[tuple[Step, dict[str, Any]]], seconds: float) -> Table:
    table = Table(title="CIS import")
    for heading in ("system", "table"):
        table.add_column(heading)
    for heading in ("rows", "inserted", "updated", "unchanged", "seconds"):
        table.add_column(heading, justify="right")
    for step, answer in answers:
        table.add_row(step.system, step.file.table, *(f"{answer[key]:,}" for key in
                                                      ("rows", "inserted", "updated", "unchanged")),
                      f"{answer['seconds']:.2f}")
    table.add_section()
    totals = [f"{sum(answer[key] for _step, answer in answers):,}" for key in ("rows", "inserted", "updated",
                                                                              "unchanged")]
    table.add_row("total", "", *totals, f"{seconds:.2f}")
    return table


@app.command("status")
def status_command(system: SystemOption = "both", config: ConfigOption = None) -> None:
    """Rows per CIS table in each system, and when each table was last imported."""
    from derbridge.web.operator import operator_client

    settings = settings_from(config)
    found: dict[str, dict[str, Any]] = {}
    for name in SYSTEMS[system]:
        with operator_client(settings, name) as client:
            try:
                found[name] = {row["table"]: row for row in status(client, name)["tables"]}
            except LoadError as exc:
                _fail(exc)
    console.print(status_table(found))


def status_table(found: dict[str, dict[str, Any]]) -> Table:
    table = Table(title="CIS tables")
    table.add_column("table")
    for name in found:
        table.add_column(f"{name} rows", justify="right")
        table.add_column(f"{name} last import")
    names = list(dict.fromkeys(table_name for rows in found.values() for table_name in rows))
    for table_name in names:
        cells = []
        for rows in found.values():
            row = rows.get(table_name)
            last = row["lastImport"] if row else None
            cells += [f"{row['rows']:,}" if row else "—",
                      f"{last['importedAt'][:19]}Z by {last['importedBy']}" if last else "—"]
        table.add_row(table_name, *cells)
    return table


def _fail(exc: LoadError) -> NoReturn:
    console.print(f"[red]{exc}[/]", highlight=False)
    if exc.errors:
        table = Table(title="problems")
        for heading in ("column", "problem", "count", "rows (first)", "values (first)"):
            table.add_column(heading)
        for error in exc.errors:
            table.add_row(str(error.get("field", "")), str(error.get("message", "")), str(error.get("count", "")),
                          ", ".join(map(str, error.get("rows", []))), ", ".join(map(str, error.get("values", []))))
        console.print(table)
    raise typer.Exit(1)
