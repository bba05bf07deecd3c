"""A digest: the events of one flow and kind gathered in a window, told once — how many, which business keys
(the first few, and how many more), what happened and what to do. Pure: rows in, a JSON-ready payload out,
and the e-mail written from that payload, so every channel says the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from derbridge.clock import iso_utc
from derbridge.hub.flows.registry import FLOWS
from derbridge.hub.notify.events import EVENT_KINDS, TEST

FLOW_NAMES = {flow.code: flow.name for flow in FLOWS}
DETAIL_CHARS = 300
"""How much of each event's error a digest quotes."""


@dataclass(frozen=True)
class Gathered:
    """What a digest is made of: the first events in full, and the whole group's count and time span."""

    flow: str
    event: str
    first_id: int
    count: int
    first_at: datetime
    last_at: datetime
    listed: list[Any]
    """Event rows, oldest first, at most the cap."""


def compose(gathered: Gathered) -> dict[str, Any]:
    """The digest as the webhook body; `subject` and `text` are what the e-mail says."""
    kind = EVENT_KINDS[gathered.event]
    items = [{"businessKey": row.business_key, "messageId": row.message_id, "kind": row.message_kind,
              "detail": _short(row.detail), "at": iso_utc(row.at)} for row in gathered.listed]
    payload = {
        "source": "derbridge", "digest": gathered.first_id, "flow": gathered.flow,
        "flowName": FLOW_NAMES.get(gathered.flow, ""), "event": gathered.event, "audience": kind.audience,
        "count": gathered.count, "firstAt": iso_utc(gathered.first_at), "lastAt": iso_utc(gathered.last_at),
        "items": items, "more": gathered.count - len(items),
    }
    return {**payload, "subject": subject(payload), "text": text(payload)}


def subject(payload: dict[str, Any]) -> str:
    flow, count, event = payload["flow"], payload["count"], payload["event"]
    if count == 1:
        item = payload["items"][0]
        return f"derbridge {flow} {event}: {_named(item)}"[:300]
    return f"derbridge {flow} {event}: {count} messages"


def text(payload: dict[str, Any]) -> str:
    kind = EVENT_KINDS[payload["event"]]
    count, listed = payload["count"], len(payload["items"])
    when = payload["firstAt"] if count == 1 else f"from {payload['firstAt']} to {payload['lastAt']}"
    lines = [f"Flow: {payload['flow']} {payload['flowName']}".rstrip(),
             f"Event: {payload['event']} ({payload['audience']}), {count} message{'s' if count > 1 else ''} {when}",
             "", f"{'Each of these messages' if count > 1 else 'This message'} {kind.happened}.", "",
             "Business keys:" if listed == count else f"Business keys (the first {listed} of {count}):"]
    lines += [f"  {_named(item)}" + (f": {item['detail']}" if item["detail"] else "") for item in payload["items"]]
    if payload["more"]:
        lines.append(f"  … and {payload['more']} more: `derbridge messages --flow {payload['flow']}`")
    return "\n".join([*lines, "", "What to do: " + kind.advice.format(flow=payload["flow"])]) + "\n"


def test_message(audience: str) -> dict[str, Any]:
    """What `derbridge doctor` sends each recipient: shaped like a digest, saying it is a test."""
    payload = {"source": "derbridge", "digest": 0, "flow": "F14", "flowName": FLOW_NAMES.get("F14", ""),
               "event": TEST, "audience": audience, "count": 0, "items": [], "more": 0}
    return {**payload, "subject": "derbridge test notification",
            "text": f"A test from `derbridge doctor`: this address hears of the hub's {audience} notifications.\n"}


def _named(item: dict[str, Any]) -> str:
    key = item["businessKey"] or "(no business key)"
    about = ", ".join(str(v) for v in (item["kind"], f"message {item['messageId']}" if item["messageId"] else None)
                      if v)
    return f"{key} ({about})" if about else key


def _short(detail: str | None) -> str | None:
    if detail is None or len(detail) <= DETAIL_CHARS:
        return detail
    return detail[:DETAIL_CHARS] + "…"
