"""`derbridge notifications`: what the running hub notified, to whom, and how each delivery went."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from derbridge.cli.support import ConfigOption, JsonOption, call, print_json_or_table, table_of

COLUMNS = [("id", "id"), ("created", "createdAt"), ("flow", "flow"), ("event", "event"), ("events", "events"),
           ("to", "recipient"), ("status", "status"), ("attempts", "attempts"), ("sent", "sentAt"),
           ("last error", "lastError")]


def notifications(
    status: Annotated[str | None, typer.Option(help="PENDING, SENT or FAILED")] = None,
    flow: Annotated[str | None, typer.Option(help="F1…F14")] = None,
    limit: int = 50,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Notifications the hub sent or is sending (e-mail and webhooks), newest first, with their delivery status."""
    params = {k: v for k, v in {"status": status, "flow": flow, "limit": limit}.items() if v}
    found = call(config, "hub", "GET", "/hub/api/notifications", params=params)
    print_json_or_table(found, as_json, notifications_table)


def notifications_table(rows: list[dict[str, Any]]) -> Table:
    return table_of("notifications", rows, COLUMNS)
