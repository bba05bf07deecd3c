"""What notification tests talk to: a real SMTP server (aiosmtpd) and a real HTTP server on loopback, and a
way to make the hub dead-letter messages (acks for sync requests the program system never sent: it answers
404, which is permanent)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx2
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from derbridge.bootstrap import BackgroundSystems, free_port
from derbridge.web.auth import outbound_credential
from derbridge.web.client import make_client
from derbridge.web.operator import checked, operator_client, wait_for

WAIT_S = 30.0


@dataclass
class Mailbox:
    """Every e-mail the SMTP server accepted, parsed; `refuse` makes it answer 550 to every recipient."""

    port: int
    refuse: bool = False
    received: list[Message] = field(default_factory=list)

    async def handle_RCPT(self, _server: SMTP, _session: Session, envelope: Envelope, address: str,  # noqa: N802
                          _options: list[str]) -> str:
        if self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:  # noqa: N802
        self.received.append(message_from_bytes(envelope.original_content or b""))
        return "250 Message accepted"

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def to(self, address: str) -> list[Message]:
        return [mail for mail in self.received if mail["To"] == address]


@contextmanager
def smtp_server(port: int | None = None, refuse: bool = False) -> Iterator[Mailbox]:
    mailbox = Mailbox(port or free_port(), refuse)
    controller = Controller(mailbox, hostname="127.0.0.1", port=mailbox.port)
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()


@dataclass
class Webhook:
    """A receiver that answers with `statuses` in turn (then 200) and keeps every request it got."""

    port: int
    statuses: list[int]
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/derbridge"


@contextmanager
def webhook_server(*statuses: int) -> Iterator[Webhook]:
    hook = Webhook(free_port(), list(statuses))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            hook.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(hook.statuses.pop(0) if hook.statuses else 200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", hook.port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()


def hub_as_derms(stack: BackgroundSystems) -> httpx2.Client:
    return make_client(stack.settings.url("hub"), outbound_credential(stack.settings, "derms", "hub"), 30)


def dead_letter_acks(stack: BackgroundSystems, *keys: str) -> None:
    """Acks of aggregator syncs the program system never sent: each is dead-lettered on the program system's 404."""
    acks = [{"dacsMessageId": key, "ackType": "SUCCESS"} for key in keys]
    with hub_as_derms(stack) as hub:
        checked(hub.post("/hub/from-derms/aggregatorAck/batch", json={"messages": acks}))
    with operator_client(stack.settings, "hub") as hub:
        wait_for(lambda: len(checked(hub.get("/hub/api/messages", params={"status": "DEAD", "flow": "F3"})))
                 >= len(keys), WAIT_S, f"{len(keys)} dead letters")


def notifications_of(stack: BackgroundSystems, **params: str) -> list[dict[str, Any]]:
    with operator_client(stack.settings, "hub") as hub:
        return list(checked(hub.get("/hub/api/notifications", params=params)))


def body_of(mail: Message) -> str:
    payload = mail.get_payload(decode=True)
    return payload.decode() if isinstance(payload, bytes) else str(payload)


def webhook_json(body: bytes) -> Any:
    return json.loads(body)
