"""`derbridge aggregator`: energy aggregators in the running program system (create and update sync to DERMS,
F3; delete does not)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from derbridge.cli.support import ConfigOption, call, read_json

app = typer.Typer(help="Energy aggregators in the program system (create and update sync to DERMS).",
                  no_args_is_help=True)
AggregatorFile = Annotated[Path, typer.Argument(help="JSON file with the aggregator (see docs/wire.md)")]


@app.command("create")
def create(file: AggregatorFile, config: ConfigOption = None) -> None:
    """Create an aggregator from a JSON file; prints its id and the sync request id."""
    _call("POST", "/api/aggregators", file, config)


@app.command("update")
def update(aggregator_id: str, file: AggregatorFile, config: ConfigOption = None) -> None:
    """Replace an aggregator's details from a JSON file (syncs to DERMS)."""
    _call("PUT", f"/api/aggregators/{aggregator_id}", file, config)


@app.command("delete")
def delete(aggregator_id: str, config: ConfigOption = None) -> None:
    """Delete an aggregator (does not sync, as documented)."""
    _call("DELETE", f"/api/aggregators/{aggregator_id}", None, config)


@app.command("list")
def list_all(config: ConfigOption = None) -> None:
    """List aggregators in the program system."""
    _call("GET", "/api/aggregators", None, config)


def _call(method: str, path: str, file: Path | None, config: Path | None) -> None:
    result = call(config, "dacs", method, path, json=read_json(file) if file is not None else None)
    if result is not None:
        print(json.dumps(result, indent=2))
