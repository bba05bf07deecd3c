"""The derbridge command line: run the systems, inspect them, drive them, measure them."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from derbridge.cisload.cli import app as cis_app
from derbridge.cli_support import ConfigOption, call, console, errors, read_json, settings_from
from derbridge.config import SYSTEMS, ConfigError, Settings, effective_config
from derbridge.dataset.cli import app as dataset_app
from derbridge.derms.cli import app as registry_app
from derbridge.derms.headend.cli import app as headend_app
from derbridge.enrollments_cli import devices_app, enrollments_app
from derbridge.legacy_cli import app as legacy_app
from derbridge.lookups_cli import app as lookups_app
from derbridge.network_cli import app as network_app
from derbridge.programs_cli import availability_app, programs_app, rules_app

app = typer.Typer(help="derbridge: connects a utility's program system (DACS role) with its DERMS.",
                  no_args_is_help=True, add_completion=False)
aggregator_app = typer.Typer(help="Energy aggregators in the program system (create and update sync to DERMS).",
                             no_args_is_help=True)
app.add_typer(aggregator_app, name="aggregator")
app.add_typer(dataset_app, name="dataset")
app.add_typer(headend_app, name="headend")
app.add_typer(lookups_app, name="lookups")
app.add_typer(cis_app, name="cis")
app.add_typer(enrollments_app, name="enrollments")
app.add_typer(devices_app, name="devices")
app.add_typer(programs_app, name="programs")
app.add_typer(rules_app, name="rules")
app.add_typer(availability_app, name="availability")
app.add_typer(network_app, name="network")
app.add_typer(registry_app, name="registry")
app.add_typer(legacy_app, name="legacy")


@app.command("config")
def show_config(config: ConfigOption = None,
                as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False) -> None:
    """Print the effective configuration (defaults, TOML file, DERBRIDGE_* variables), secrets masked."""
    shown = effective_config(settings_from(config))
    if as_json:
        print(json.dumps(shown, indent=2))
        return
    table = Table(title="derbridge configuration")
    table.add_column("setting")
    table.add_column("value")
    for name, value in shown.items():
        table.add_row(name, str(value))
    console.print(table)


@app.command()
def migrate(systems: Annotated[list[str] | None, typer.Argument(help="hub, dacs, derms (default: all)")] = None,
            config: ConfigOption = None) -> None:
    """Apply database migrations (they also run on every start)."""
    from derbridge.store.db import make_engine
    from derbridge.store.migrations import upgrade

    settings = settings_from(config)
    for system in systems or list(SYSTEMS):
        _check_system(system)
        engine = make_engine(settings.database_url(system))
        revision = upgrade(system, engine)
        engine.dispose()
        console.print(f"{system}: at revision {revision}")


def _check_system(system: str) -> None:
    if system not in SYSTEMS:
        console.print(f"[red]unknown system {system!r}[/]; expected one of {', '.join(SYSTEMS)}")
        raise typer.Exit(2)


def _serve(systems: tuple[str, ...], config: Path | None) -> None:
    from derbridge.bootstrap import configure_logging, run_forever

    settings = settings_from(config, reference_peers=set(systems) == set(SYSTEMS))
    if "derms" in systems:
        _check_headends(settings)
    configure_logging(settings)
    for system in systems:
        console.print(f"{system:5} listening on {settings.url(system)}", highlight=False)
    console.print(f"data directory {settings.data_dir.resolve()}; Ctrl-C stops", highlight=False)
    run_forever(systems, settings)


def _check_headends(settings: Settings) -> None:
    """A bad DERBRIDGE_HEADENDS stops DERMS before it starts, with the problem named."""
    from derbridge.derms.headend.setup import parse_headends

    try:
        parse_headends(settings.headends)
    except ConfigError as exc:
        errors.print(f"[red]configuration error:[/] {exc}")
        raise typer.Exit(2) from exc


@app.command()
def up(config: ConfigOption = None) -> None:
    """Run all three systems in this process on loopback ports (the hub uses every capability of its peers,
    derbridge's own: batches, the F4 results callback, store-and-forward answers; docs/wire.md)."""
    _serve(("hub", "dacs", "derms"), config)


@app.command()
def hub(config: ConfigOption = None) -> None:
    """Run the integration hub alone (DERBRIDGE_DACS_URL and DERBRIDGE_DERMS_URL point at the others)."""
    _serve(("hub",), config)


@app.command()
def dacs(config: ConfigOption = None) -> None:
    """Run the reference program system alone (DERBRIDGE_HUB_URL points at the hub)."""
    _serve(("dacs",), config)


@app.command()
def derms(config: ConfigOption = None) -> None:
    """Run the reference DERMS alone (DERBRIDGE_HUB_URL points at the hub)."""
    _serve(("derms",), config)


@app.command()
def demo(keep: Annotated[bool, typer.Option(help="Keep the temporary data directory")] = False) -> None:
    """Run the whole system on a fresh temporary data directory, drive a scenario, print the trail.

    Exits 0 only if every step succeeded.
    """
    from derbridge.demo import main

    raise typer.Exit(main(console, keep))


@app.command()
def messages(
    key: Annotated[str | None, typer.Option(help="A business key: sync request id, aggregator id, …")] = None,
    status: Annotated[str | None, typer.Option(
        help="RECEIVED, RETRYING, DELIVERED, DECLINED, DEAD, REJECTED, WAITING, HELD, COMPLETE")] = None,
    flow: Annotated[str | None, typer.Option(help="F1…F13")] = None,
    limit: int = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    config: ConfigOption = None,
) -> None:
    """Track messages in the running hub by business key, status or flow."""
    from derbridge.demo import trail_table

    params = {k: v for k, v in {"key": key, "status": status, "flow": flow, "limit": limit}.items() if v}
    found = call(config, "hub", "GET", "/hub/api/messages", params=params)
    if as_json:
        print(json.dumps(found, indent=2))
    else:
        console.print(trail_table(list(reversed(found))))


@app.command()
def resubmit(ids: Annotated[list[int], typer.Argument(help="Message ids (from `derbridge messages`)")],
             config: ConfigOption = None) -> None:
    """Deliver dead-lettered or held messages again (for an F4 request: its dead and held records)."""
    done = call(config, "hub", "POST", "/hub/api/messages/resubmit", json={"ids": ids})
    console.print(f"resubmitted: {done['resubmitted'] or 'none (only DEAD or HELD messages can be resubmitted)'}")


@app.command()
def credentials(system: Annotated[str, typer.Argument(help="hub, dacs, derms, or headend (the clouds)")] = "hub",
                config: ConfigOption = None) -> None:
    """Print the operator credential for a system (for curl: -u 'operator:SECRET')."""
    from derbridge.web.auth import outbound_credential

    if system != "headend":
        _check_system(system)
    print(outbound_credential(settings_from(config), "operator", system))


AggregatorFile = Annotated[Path, typer.Argument(help="JSON file with the aggregator (see docs/wire.md)")]


@aggregator_app.command("create")
def aggregator_create(file: AggregatorFile, config: ConfigOption = None) -> None:
    """Create an aggregator from a JSON file; prints its id and the sync request id."""
    _aggregator_call("POST", "/api/aggregators", file, config)


@aggregator_app.command("update")
def aggregator_update(aggregator_id: str, file: AggregatorFile, config: ConfigOption = None) -> None:
    """Replace an aggregator's details from a JSON file (syncs to DERMS)."""
    _aggregator_call("PUT", f"/api/aggregators/{aggregator_id}", file, config)


@aggregator_app.command("delete")
def aggregator_delete(aggregator_id: str, config: ConfigOption = None) -> None:
    """Delete an aggregator (does not sync, as documented)."""
    _aggregator_call("DELETE", f"/api/aggregators/{aggregator_id}", None, config)


@aggregator_app.command("list")
def aggregator_list(config: ConfigOption = None) -> None:
    """List aggregators in the program system."""
    _aggregator_call("GET", "/api/aggregators", None, config)


def _aggregator_call(method: str, path: str, file: Path | None, config: Path | None) -> None:
    result = call(config, "dacs", method, path, json=read_json(file) if file is not None else None)
    if result is not None:
        print(json.dumps(result, indent=2))


@app.command()
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
