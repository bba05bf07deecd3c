"""`derbridge doctor`: before go-live, is everything the hub depends on in place? One line per check (✓, ✗, or
– when a check could not run because something it needs is missing), and exit 1 on any ✗.

The checks (doctor_checks.py, loaded only when the command runs) run here, with the configuration this
command reads: run it where the hub runs, with the hub's configuration. It then reaches each peer from the
hub's network with the credentials the hub presents, reads the running hub's lookups through its operator
API, and sends each notification recipient a test through the hub's channel code.
"""

from __future__ import annotations

import typer
from rich.text import Text

from derbridge.cli.support import ConfigOption, console, settings_from


def doctor(config: ConfigOption = None) -> None:
    """Check, before go-live, that every peer is reachable with its credentials (and TLS), that the hub's
    lookups cover what the peers will send, and that notifications reach their recipients; exits 1 on any ✗."""
    from derbridge.cli.hub.doctor_checks import run_checks

    checks = run_checks(settings_from(config))
    for check in checks:
        mark, style = {True: ("✓", "green"), False: ("✗", "red"), None: ("–", "yellow")}[check.ok]
        console.print(Text.assemble((mark, style), f" {check.what:<30}  {check.why}"))
    failed = sum(check.ok is False for check in checks)
    console.print(f"{failed} of {len(checks)} checks failed" if failed else f"all {len(checks)} checks passed")
    if failed:
        raise typer.Exit(1)
