"""`derbridge demo`: the whole system on a fresh data directory, driven through a scenario (scenario/demo.py)."""

from __future__ import annotations

from typing import Annotated

import typer

from derbridge.cli.support import console


def demo(keep: Annotated[bool, typer.Option(help="Keep the temporary data directory")] = False) -> None:
    """Run the whole system on a fresh temporary data directory, drive a scenario, print the trail.

    Exits 0 only if every step succeeded.
    """
    from derbridge.scenario.demo import main

    raise typer.Exit(main(console, keep))
