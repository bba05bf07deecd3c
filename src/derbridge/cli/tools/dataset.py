"""`derbridge dataset`: write a realistic utility dataset (CIS extract, network, aggregator fleets)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.filesize import decimal
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from derbridge.dataset.spec import DEFAULT_THERMOSTAT_SHARE, MAX_CUSTOMERS, TABLES, FileFormat

if TYPE_CHECKING:
    from derbridge.dataset.generate import Manifest

app = typer.Typer(help="Synthetic utility datasets: CIS extract, electrical network, aggregator thermostats.",
                  no_args_is_help=True)
console = Console(width=None if sys.stdout.isatty() else 160)


@app.command("generate")
def generate_command(
    customers: Annotated[int, typer.Option(min=1, max=MAX_CUSTOMERS, help="CIS customers (one account each)")]
    = 100_000,
    seed: Annotated[int, typer.Option(help="Same customers and seed give byte-identical files")] = 1,
    out: Annotated[Path, typer.Option(help="Output directory")] = Path("dataset"),
    fmt: Annotated[FileFormat, typer.Option("--format", help="File format of the tables")] = "parquet",
    thermostat_share: Annotated[float, typer.Option(min=0.0, max=1.0,
                                                    help="Share of customers owning a thermostat")]
    = DEFAULT_THERMOSTAT_SHARE,
) -> None:
    """Write one file per table and manifest.json (row counts, seed, sha256 per file) into OUT."""
    from derbridge.dataset.generate import generate  # polars loads only when a dataset is made

    started = time.perf_counter()
    with Progress(TextColumn("{task.description:<24}"), BarColumn(), MofNCompleteColumn(),
                  console=console) as progress:
        tasks = {table: progress.add_task(table, total=None, start=False) for table in TABLES}

        def report(table: str, written: int, rows: int) -> None:
            progress.start_task(tasks[table])
            progress.update(tasks[table], completed=written, total=rows)

        manifest = generate(out, customers, seed, fmt, report, thermostat_share=thermostat_share)
    console.print(summary(manifest, time.perf_counter() - started))
    console.print(f"manifest: {out / 'manifest.json'}", highlight=False)


def summary(manifest: Manifest, seconds: float) -> Table:
    table = Table(title=f"{manifest.customers:,} customers, seed {manifest.seed}")
    table.add_column("table")
    table.add_column("file")
    for heading in ("rows", "size", "seconds"):
        table.add_column(heading, justify="right")
    for written in manifest.tables:
        table.add_row(written.name, written.file, f"{written.rows:,}", decimal(written.bytes),
                      f"{written.seconds:.2f}")
    table.add_section()
    table.add_row("total", "", f"{sum(each.rows for each in manifest.tables):,}",
                  decimal(sum(each.bytes for each in manifest.tables)), f"{seconds:.2f}")
    return table
