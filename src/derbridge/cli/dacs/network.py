"""`derbridge network where`: which transformer, feeder and substation served a service point on a date, as the
running program system knows it from DERMS's network exports (F1)."""

from __future__ import annotations

from typing import Annotated

import typer

from derbridge.cli.support import (
    ConfigOption,
    DateOption,
    JsonOption,
    call,
    console,
    day_or_today,
    location_history_table,
    print_json_or_table,
)


def where(service_point: Annotated[str, typer.Argument(help="CIS service point id")],
          on: DateOption = None, config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Which transformer, feeder and substation served a service point on a date, as the program system
    knows it, and its whole history."""
    day = day_or_today(on)
    history = call(config, "dacs", "GET", f"/api/service-points/{service_point}/network-locations")
    found = None
    if history and history[0]["effectiveStart"] <= day.isoformat():  # the records leave no gap after the first
        found = call(config, "dacs", "GET", f"/api/service-points/{service_point}/network-location",
                     params={"date": day.isoformat()})
    result = {"servicePointId": service_point, "date": day.isoformat(), "location": found, "history": history}
    if as_json:
        print_json_or_table(result, True)
        return
    found = result["location"]
    if found is None:
        console.print(f"service point {service_point} had no network location on {day} in the program system")
    else:
        console.print(f"On {day}, service point {service_point} was served by transformer "
                      f"[bold]{found['transformerId']}[/], feeder [bold]{found['feederId']}[/], substation "
                      f"[bold]{found['substationId']}[/].", highlight=False)
    if result["history"]:
        console.print(location_history_table(f"Service point {service_point} (program system)", result["history"]))
