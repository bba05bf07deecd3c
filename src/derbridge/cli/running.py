"""Running the systems: all three in one process or each alone, their configuration, migrations and the
operator credentials."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from derbridge.cli.support import ConfigOption, console, errors, settings_from
from derbridge.config import SYSTEMS, ConfigError, Settings, effective_config


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


def up(config: ConfigOption = None) -> None:
    """Run all three systems in this process on loopback ports (the hub uses every capability of its peers,
    derbridge's own: batches, the F4 results callback, store-and-forward answers; docs/wire.md)."""
    _serve(("hub", "dacs", "derms"), config)


def hub(config: ConfigOption = None) -> None:
    """Run the integration hub alone (DERBRIDGE_DACS_URL and DERBRIDGE_DERMS_URL point at the others)."""
    _serve(("hub",), config)


def dacs(config: ConfigOption = None) -> None:
    """Run the reference program system alone (DERBRIDGE_HUB_URL points at the hub)."""
    _serve(("dacs",), config)


def derms(config: ConfigOption = None) -> None:
    """Run the reference DERMS alone (DERBRIDGE_HUB_URL points at the hub)."""
    _serve(("derms",), config)


def credentials(system: Annotated[str, typer.Argument(help="hub, dacs, derms, or headend (the clouds)")] = "hub",
                config: ConfigOption = None) -> None:
    """Print the operator credential for a system (for curl: -u 'operator:SECRET')."""
    from derbridge.web.auth import outbound_credential

    if system != "headend":
        _check_system(system)
    print(outbound_credential(settings_from(config), "operator", system))


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
