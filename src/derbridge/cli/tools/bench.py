"""`derbridge bench`: benchmarks, each against a baseline measured in the same run (bench/README.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from derbridge.cli.support import console


def bench(
    name: Annotated[str | None, typer.Argument(help="Benchmark name (see --list)")] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the benchmarks")] = False,
    size: Annotated[int | None, typer.Option(help="Problem size (each benchmark has its default)")] = None,
    database: Annotated[str | None, typer.Option(help="PostgreSQL URL instead of the embedded SQLite")] = None,
    json_file: Annotated[Path | None, typer.Option("--json", help="Write the result as JSON here")] = None,
) -> None:
    """Run a benchmark against a baseline measured in the same run; print the ratio; write JSON."""
    from derbridge.benchmarks import harness

    if list_ or name is None:
        harness.print_list(console)
        return
    result = harness.run(name, size, database, console)
    if json_file:
        json_file.parent.mkdir(parents=True, exist_ok=True)
        json_file.write_text(json.dumps(result, indent=2))
        console.print(f"wrote {json_file}")
    raise typer.Exit(0 if result["met"] else 1)
