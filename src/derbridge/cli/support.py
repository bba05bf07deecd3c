"""What every `derbridge` command that talks to a running system shares: the --config and --actor options,
one request to a system's API with its refusal printed clearly, a file sent with a progress bar, and rich
output."""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn
from rich.table import Table

from derbridge.config import REFERENCE_PEERS, ConfigError, Settings, load_settings
from derbridge.tables.spec import PARQUET_TYPE, sha256_of

console = Console(width=None if sys.stdout.isatty() else 160)
errors = Console(stderr=True)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="TOML file (default: DERBRIDGE_CONFIG or ./derbridge.toml)")]
ActorOption = Annotated[str | None, typer.Option(
    "--actor", help="The person acting, for the audit trail (default: DERBRIDGE_ACTOR, else your login name)")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON")]


def settings_from(config: Path | None, reference_peers: bool = False) -> Settings:
    """The effective settings; with `reference_peers` (systems of one process, all derbridge's own), every
    deviation switch starts on, unless the file or the environment says otherwise."""
    try:
        return load_settings(config_file=config, defaults=REFERENCE_PEERS if reference_peers else None)
    except ConfigError as exc:
        errors.print(f"[red]configuration error:[/] {exc}")
        raise typer.Exit(2) from exc


def call(config: Path | None, system: str, method: str, path: str, actor: str | None = None, raw: bool = False,
         missing_ok: bool = False, **request: Any) -> Any:
    """One request to a running system's API as the operator; a refusal prints its problems and exits 1 (a 404
    is None instead, with `missing_ok`)."""
    from derbridge.web.operator import operator_client

    headers = {**request.pop("headers", {}), "X-Derbridge-Actor": actor_name(actor)}
    try:
        with operator_client(settings_from(config), system) as client:
            response = client.request(method, path, headers=headers, **request)
    except Exception as exc:
        if type(exc).__name__.endswith(("ConnectError", "ConnectTimeout")):
            errors.print(f"[red]cannot reach {system}:[/] {exc}. Is it running (`derbridge up`)?")
            raise typer.Exit(1) from exc
        raise
    if missing_ok and response.status_code == 404:
        return None
    if response.is_error:
        print_problem(response)
        raise typer.Exit(1)
    if raw:
        return response.text
    return response.json() if response.content else None


def read_json(file: Path) -> Any:
    """A JSON file the user named; unreadable or malformed exits 2 saying why."""
    try:
        return json.loads(file.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        errors.print(f"[red]cannot read {file}:[/] {exc}")
        raise typer.Exit(2) from exc


def print_problem(response: Any) -> None:
    try:
        problem = response.json()
    except ValueError:
        problem = {"title": response.text[:1000]}
    errors.print(f"[red]{response.status_code} {problem.get('title', '')}[/]: {problem.get('detail', '')}")
    if problem.get("errors"):
        table = Table("field", "problem")
        for error in problem["errors"]:
            table.add_row(error.get("field", ""), error.get("message", ""))
        errors.print(table)


def actor_name(given: str | None) -> str:
    if given:
        return given
    try:
        return os.environ.get("DERBRIDGE_ACTOR") or getpass.getuser()
    except OSError:  # no login name (some containers)
        return "unknown"


def fields_table(title: str, values: dict[str, Any]) -> Table:
    """One record as a two-column table of its fields; counts with thousands separators, missing values blank."""
    table = Table(title=title, show_header=False)
    for key, value in values.items():
        shown = f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)
        table.add_row(key, "" if value is None else shown)
    return table


def table_of(title: str, rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> Table:
    """A rich table of `rows`, one column per (heading, key); missing values are blank."""
    table = Table(title=title)
    for heading, _key in columns:
        table.add_column(heading, overflow="fold")
    for row in rows:
        table.add_row(*("" if row.get(key) is None else str(row.get(key)) for _heading, key in columns))
    return table


FILE_TYPES = {".parquet": PARQUET_TYPE, ".csv": "text/csv"}
"""The table files a system takes, by suffix."""
LONG_S = 900.0
"""A million rows take seconds to send and apply; give them time."""


def progress_bar(quiet: bool = False) -> Progress:
    """Bytes sent, as a bar per file (gone when `quiet`, e.g. with --json)."""
    return Progress(TextColumn("{task.description:<24}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                    console=console, transient=quiet)


def send_file(config: Path | None, system: str, path: str, file: Path, progress: Progress,
              label: str | None = None, **request: Any) -> Any:
    """PUT a table file to a system, streamed with its SHA-256 and a progress bar; the answer as `call` gives it."""
    if file.suffix not in FILE_TYPES:
        errors.print(f"[red]{file}:[/] a table file ends in {' or '.join(FILE_TYPES)}")
        raise typer.Exit(2)
    task = progress.add_task(label or file.name, total=file.stat().st_size)
    headers = {"Content-Type": FILE_TYPES[file.suffix], "X-Content-SHA256": sha256_of(file)}
    body = read_in_chunks(file, lambda sent: progress.advance(task, sent))
    return call(config, system, "PUT", path, headers=headers, content=body, timeout=LONG_S, **request)


def read_in_chunks(file: Path, advance: Callable[[int], None], chunk_bytes: int = 1 << 20) -> Iterator[bytes]:
    with file.open("rb") as body:
        while chunk := body.read(chunk_bytes):
            advance(len(chunk))
            yield chunk


def print_json_or_table(result: Any, as_json: bool, table: Callable[[Any], Table] | None = None) -> None:
    if as_json or table is None:
        print(json.dumps(result, indent=2))
    else:
        console.print(table(result))


DateOption = Annotated[datetime | None, typer.Option("--date", formats=["%Y-%m-%d"],
                                                     help="Effective date, YYYY-MM-DD (default: today)")]


def day_or_today(value: datetime | None) -> date:
    return value.date() if value is not None else datetime.now(UTC).date()


def location_history_table(title: str, records: list[dict[str, Any]]) -> Table:
    table = Table(title=title)
    for heading in ("from", "until", "transformer", "feeder", "substation"):
        table.add_column(heading)
    for each in records:
        table.add_row(each["effectiveStart"], each["effectiveEnd"] or "", each["transformerId"], each["feederId"],
                      each["substationId"])
    return table
