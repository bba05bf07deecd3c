"""The season's closing tables: each event's target, reservation, delivery and outcomes; the scores that moved."""

from __future__ import annotations

from typing import Any

from rich.table import Table

OUTCOMES = ("D1SP", "D1ND", "D1IO", "D1ER", "D1CN")
"""Successful participation, non-responsive, in-flight override, error, cancelled (F11)."""


def season_table(events: list[dict[str, Any]]) -> Table:
    table = Table(title="The season, event by event")
    for heading in ("event", "type", "status", "target kW", "reserved", "expected kW", "delivered kW", *OUTCOMES):
        table.add_column(heading, justify="left" if heading in ("event", "type", "status") else "right")
    for event in events:
        outcomes = event.get("outcomes", {})
        table.add_row(f"{event['name']} ({event.get('eventId', '—')})", event["type"], event.get("status", "—"),
                      f"{event['targetKw']:g}", _number(event.get("reserved")), _kw(event.get("reservedKw")),
                      _kw(event.get("deliveredKw")), *(_number(outcomes.get(code)) for code in OUTCOMES))
    return table


def scores_moved_table(moved: dict[str, tuple[float, float]], shown: int = 10) -> Table:
    table = Table(title=f"Scores that moved over the season ({len(moved)} devices; the first {min(shown, len(moved))})")
    for heading in ("device", "before", "after"):
        table.add_column(heading, justify="left" if heading == "device" else "right")
    for device, (before, after) in sorted(moved.items())[:shown]:
        table.add_row(device, f"{before:g}", f"{after:g}")
    return table


def _number(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def _kw(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}"
