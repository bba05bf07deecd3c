"""`derbridge demo`: the whole system on a fresh data directory, driven through a scenario (scenario/demo.py, or
scenario/season.py with --season)."""

from __future__ import annotations

from typing import Annotated

import typer

from derbridge.cli.support import console


def demo(keep: Annotated[bool, typer.Option(help="Keep the temporary data directory")] = False,
         season: Annotated[bool, typer.Option(
             "--season", help="Run a whole demand-response season instead: scores, events of every type with "
                              "approvals, opt-outs, unavailability, a cancellation, dispatch and outcomes, on a "
                              "shared clock that jumps between the moments that matter (about a minute)")] = False,
         customers: Annotated[int, typer.Option(help="Customers of the season's utility", min=100)] = 3_000) -> None:
    """Run the whole system on a fresh temporary data directory, drive a scenario, print the trail.

    Exits 0 only if every step succeeded.
    """
    if season:
        from derbridge.scenario.season import main as season_main

        raise typer.Exit(season_main(console, keep, customers))
    from derbridge.scenario.demo import main

    raise typer.Exit(main(console, keep))
