"""Stand-ins for the vendor systems, written from the published payloads (FLOWS.md), not from derbridge's
reference systems: a program system (DACS/CPMCS) and a DERMS (Edge DERMS) that take one message per call,
answer as documented, have no `/batch` endpoints and no results callback, and record every request.

Each stand-in is a plain HTTP server on loopback. A test changes what a path answers with `answer(path, …)`
and reads what came with `requests(path)`; a path it does not know answers 404 (and is recorded too, so a
call to a `/batch` twin shows).
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

ENROLL = "/rest/apis/cross/digitalAssets/programEnrollments/enroll"
ENROLLMENT_ACK = "/rest/apis/cross/digitalAssets/programEnrollments/postAcknowledgement"
RULES_ACK = "/rest/apis/cross/digitalAssets/programRules/postAcknowledgement"
AGGREGATOR_ACK = "/rest/apis/cross/digitalAssets/energyAggregators/postAcknowledgement"
STATUS_RESPONSE = "/rest/apis/cross/digitalAssets/controllableDeviceStatus/response"
NETWORK_FILE = "/rest/files/networkLocations"
PROGRAM_EVENT = "/rest/apis/cross/service/programEvent/"
LIFECYCLE = "/rest/apis/cross/service/programEvent/lifecycle"
RESERVE_DEVICE = "/rest/apis/cross/service/programEventParticipation/reserveDevice"
PRE_EVENT_CANCELLATION = "/rest/apis/cross/service/programEventParticipation/preEventCancellation"
EVENT_OUTCOME = "/rest/apis/cross/service/programEventParticipation/postEventOutcome"
PROGRAM_SYSTEM_PATHS = (ENROLL, ENROLLMENT_ACK, RULES_ACK, AGGREGATOR_ACK, STATUS_RESPONSE, NETWORK_FILE,
                        PROGRAM_EVENT, LIFECYCLE, RESERVE_DEVICE, PRE_EVENT_CANCELLATION, EVENT_OUTCOME)
DERMS_PATHS = ("/enroll", "/status_check", "/aggregator", "/program")
RESERVATION_ACK = "/reserveDeviceAck"
"""Where DERMS hears the hub's ack of a device list (F9): the path is not published; derbridge's choice."""
OPT_OUT, UNAVAILABILITY = "/eventOptOut", "/unavailability"
"""DERMS's opt-out and unavailability resources are not published: these are derbridge's names (docs/wire.md)."""


@dataclass
class Received:
    """One request as it arrived."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    started: float
    finished: float = 0.0

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def authorization(self) -> str:
        return self.headers.get("authorization", "")


Answerer = Callable[[Received], tuple[int, Any]]


def vendor_time() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def msg_ack(message_id: str, ack_type: str = "SUCCESS", code: str = "SUCCESS") -> dict[str, Any]:
    """DERMS's synchronous MsgAck: {ackType, whenISO, responses.response[]{value, id, responseCode,
    responseTimeISO, dacsMessageId}}."""
    now = vendor_time()
    return {"ackType": ack_type, "whenISO": now, "responses": {"response": [
        {"value": message_id, "id": message_id, "responseCode": code, "responseTimeISO": now,
         "dacsMessageId": message_id}]}}


@dataclass
class StandIn:
    """One vendor system: its documented paths, each with an answer; the credential it expects."""

    name: str
    expected_authorization: str
    answers: dict[str, Answerer] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    delay_s: float = 0.0
    """How long each answer takes (to see whether calls overlap)."""

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._defaults = dict(self.answers)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, name=f"standin-{self.name}", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> StandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        with self._lock:
            self.received.clear()
            self.answers = dict(self._defaults)
            self.delay_s = 0.0

    def answer(self, path: str, answerer: Answerer) -> None:
        self.answers[path] = answerer

    def requests(self, path: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self.received if path is None or r.path == path]

    def wait_for(self, path: str, count: int = 1, timeout_s: float = 20.0) -> list[Received]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = self.requests(path)
            if len(found) >= count:
                return found
            time.sleep(0.02)
        raise AssertionError(f"{self.name}: {len(self.requests(path))} of {count} requests at {path} "
                             f"within {timeout_s} s; got {[r.path for r in self.requests()]}")

    def handle(self, received: Received) -> tuple[int, Any]:
        with self._lock:
            self.received.append(received)
            answerer = self.answers.get(received.path)
        if received.authorization != self.expected_authorization:
            return 401, {"title": "Unauthorized"}
        if answerer is None:
            return 404, {"title": "Not Found", "detail": f"{self.name} has no {received.path}"}
        time.sleep(self.delay_s)
        return answerer(received)


def _handler(stand_in: StandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            started = time.monotonic()
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else self._chunked()
            parts = urlsplit(self.path)
            received = Received(self.command, parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()},
                                {k.lower(): v for k, v in self.headers.items()}, body, started)
            status, answer = stand_in.handle(received)
            payload = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            received.finished = time.monotonic()

        def _chunked(self) -> bytes:
            if self.headers.get("transfer-encoding", "").lower() != "chunked":
                return b""
            chunks = []
            while size := int(self.rfile.readline().strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            self.rfile.readline()
            return b"".join(chunks)

        do_POST = do_PUT = do_GET = _serve

        def log_message(self, *_args: Any) -> None:
            pass

    return Handler


def program_system(expected_authorization: str) -> StandIn:
    """The vendor program system: enroll answers the enrollment (PENDING, then validated); the
    acknowledgement APIs take an ack; the status response answers its boStatus."""
    counter = iter(range(1, 10**6))

    def enroll(received: Received) -> tuple[int, Any]:
        return 200, {"enrollmentId": f"E{next(counter):011d}", "transactionId": received.json["transactionId"],
                     "status": "PENDING"}

    def acknowledged(received: Received) -> tuple[int, Any]:
        return 200, {"syncRequestId": received.json.get("syncRequestId")}

    def echoed(received: Received) -> tuple[int, Any]:
        """The event APIs answer 200 with the object they took."""
        return 200, received.json

    return StandIn("program system", expected_authorization, {
        ENROLL: enroll, ENROLLMENT_ACK: acknowledged, RULES_ACK: acknowledged, AGGREGATOR_ACK: acknowledged,
        STATUS_RESPONSE: lambda _r: (200, {"boStatus": "SUCCESS"}),
        NETWORK_FILE: lambda r: (200, {"exportId": r.query.get("exportId"), "result": "applied"}),
        PROGRAM_EVENT: echoed, LIFECYCLE: echoed, RESERVE_DEVICE: echoed, PRE_EVENT_CANCELLATION: echoed,
        EVENT_OUTCOME: lambda _r: (200, {}),
    })


def derms(expected_authorization: str) -> StandIn:
    """The vendor DERMS: each documented resource answers a MsgAck at once, `dacsMessageId` the message's."""
    def ack(received: Received) -> tuple[int, Any]:
        return 200, msg_ack(received.json["dacsMessageId"])

    def reservation_acked(received: Received) -> tuple[int, Any]:
        return 200, msg_ack(received.json["messageId"])

    return StandIn("DERMS", expected_authorization, {
        **{path: ack for path in DERMS_PATHS}, RESERVATION_ACK: reservation_acked,
        OPT_OUT: lambda r: (200, msg_ack(r.json["eventId"])),
        UNAVAILABILITY: lambda r: (200, msg_ack(r.json["unavailabilityId"]))})


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
