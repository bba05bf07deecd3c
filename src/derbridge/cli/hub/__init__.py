"""The hub's commands: track messages by business key, resubmit dead letters, edit lookups (lookups.py)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from derbridge.cli.support import ConfigOption, call, console


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
    from derbridge.scenario.demo import trail_table

    params = {k: v for k, v in {"key": key, "status": status, "flow": flow, "limit": limit}.items() if v}
    found = call(config, "hub", "GET", "/hub/api/messages", params=params)
    if as_json:
        print(json.dumps(found, indent=2))
    else:
        console.print(trail_table(list(reversed(found))))


def resubmit(ids: Annotated[list[int], typer.Argument(help="Message ids (from `derbridge messages`)")],
             config: ConfigOption = None) -> None:
    """Deliver dead-lettered or held messages again (for an F4 request: its dead and held records)."""
    done = call(config, "hub", "POST", "/hub/api/messages/resubmit", json={"ids": ids})
    console.print(f"resubmitted: {done['resubmitted'] or 'none (only DEAD or HELD messages can be resubmitted)'}")
