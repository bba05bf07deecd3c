"""Relays and legs: what the hub accepts, and how it delivers what it recorded.

Most flow legs are relays: one inbound message, checked and mapped to one outbound message for the other
system (a sync, its ack). A relay names its wire model, its business keys and its mapping; the hub's API
turns each relay into an endpoint (and a `/batch` endpoint for several at once) and its delivery into a
durable batch. A relay may carry a payload with derbridge's extra fields, sent only to a target whose switch
says it takes them, and a reply: how it is answered when the hub answers with the far side's result
(hub/replies.py). A leg says how one kind of recorded message is delivered: whether the target takes it in
batches, which answers are business refusals rather than faults, whether parts of one message go one after
another, and, for a message made of parts, how its own payload is composed once every part is settled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from pydantic import BaseModel
from sqlalchemy.engine import Engine

from derbridge.config import Settings
from derbridge.hub import messagelog
from derbridge.hub.lookups import LookupMissing, Lookups
from derbridge.hub.replies import Reply
from derbridge.web.client import Outcome

Mapping = Callable[[Any, Lookups], dict[str, Any]]


def status_after(outcome: Outcome) -> str:
    """The usual reading of an answer: delivered, worth retrying, or dead."""
    if outcome.delivered:
        return messagelog.DELIVERED
    return messagelog.RETRYING if outcome.verdict == "transient" else messagelog.DEAD


@dataclass(frozen=True)
class Leg:
    """How the hub delivers one kind of recorded message."""

    kind: str
    batchable: bool = True
    """The target also takes these messages several at once at `<path>/batch` (web/batch.py)."""
    status_after: Callable[[Outcome], str] = status_after
    compose: Callable[[Any, list[Any]], dict[str, Any]] | None = None
    """For a message made of parts: (the message row, its part rows) → its outbound payload."""
    stop_when_a_part_dies: bool = False
    """A part dead-lettered stops the run: parts not yet delivered are HELD, the results composed."""
    send: Callable[[Any], Outcome] | None = None
    """How to deliver one message row of this kind when it is not a JSON POST (e.g. a file); one per request."""
    map_again: Callable[[Any, Lookups, Settings], dict[str, Any]] | None = None
    """(message row, lookups, settings) → its outbound payload, from its inbound payload: for a message that
    could not be mapped when it arrived (a lookup lacked a row) and is resubmitted once the lookup is fixed."""
    ordered_parts: bool = False
    """Parts of one message go one after another, in their order, a part sent only once the one before it
    is delivered or declined (unless the settings say otherwise: `enroll_concurrently`)."""
    completes: bool = False
    """Delivering one completes a process business recipients may hear of (hub/notify/): a file relayed."""


def unmappable(message: messagelog.NewMessage, error: LookupMissing) -> messagelog.NewMessage:
    """A message whose mapping failed is kept as a dead letter with the reason, to be resubmitted."""
    return replace(message, status=messagelog.DEAD, outbound_payload=None, last_error=f"cannot map: {error}")


class Inbound(Protocol):
    """What the hub accepts at one path: a Relay, or a flow's own intake (F4: one request, many parts)."""

    @property
    def flow(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def target(self) -> str: ...
    @property
    def inbound_path(self) -> str: ...
    @property
    def model(self) -> type[BaseModel]: ...
    @property
    def summary(self) -> str: ...
    @property
    def business_key(self) -> Callable[[Any], str]: ...
    @property
    def on_recorded(self) -> Callable[[Engine, Any, messagelog.Recorded], None] | None: ...
    @property
    def reply(self) -> Reply | None: ...

    def new_message(self, message: Any, raw: str, lookups: Lookups, settings: Settings) -> messagelog.NewMessage: ...


@dataclass(frozen=True)
class Extended:
    """A payload with derbridge's extra fields beside the documented ones, for a target that takes them."""

    on: Callable[[Settings], bool]
    """The switch saying the target takes them."""
    to_target: Mapping


@dataclass(frozen=True)
class Relay:
    flow: str
    kind: str
    source: str
    target: str
    inbound_path: str
    model: type[BaseModel]
    target_path: str
    business_key: Callable[[Any], str]
    keys: Callable[[Any], dict[str, str]]
    to_target: Mapping
    """The documented payload."""
    summary: str = ""
    batchable: bool = True
    on_recorded: Callable[[Engine, Any, messagelog.Recorded], None] | None = None
    """Called once a new message is recorded (F6 opens its correlation here)."""
    extended: Extended | None = None
    reply: Reply | None = None
    send: Callable[[Any], Outcome] | None = None
    """How to deliver one recorded message when a plain POST of its payload is not enough (F8's status changes
    wait for their stages); one message per request."""

    def idempotency_key(self, message: Any) -> str:
        """The message log's key: flow and kind beside the business key, which a sync and its ack share."""
        return f"{self.flow}:{self.kind}:{self.business_key(message)}"

    @property
    def leg(self) -> Leg:
        return Leg(self.kind, self.batchable and self.send is None, send=self.send, map_again=self.map_again)

    def mapping(self, settings: Settings) -> Mapping:
        """The documented payload, or the extended one where the target takes it."""
        return self.extended.to_target if self.extended and self.extended.on(settings) else self.to_target

    def new_message(self, message: Any, raw: str, lookups: Lookups, settings: Settings) -> messagelog.NewMessage:
        """What the message log records for one accepted inbound message."""
        recorded = messagelog.NewMessage(
            flow=self.flow, kind=self.kind, source=self.source, target=self.target,
            business_key=self.business_key(message), idempotency_key=self.idempotency_key(message),
            inbound_payload=raw, outbound_path=self.target_path, outbound_payload=None, keys=self.keys(message))
        try:
            return replace(recorded, outbound_payload=self.mapping(settings)(message, lookups))
        except LookupMissing as error:
            return unmappable(recorded, error)

    def map_again(self, row: Any, lookups: Lookups, settings: Settings) -> dict[str, Any]:
        return self.mapping(settings)(self.model.model_validate_json(row.inbound_payload), lookups)
