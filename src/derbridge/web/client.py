"""The one outbound HTTP client factory, and how an answer is classified (delivered, transient, permanent)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal

import httpx2

Verdict = Literal["delivered", "transient", "permanent"]
TRANSIENT_STATUS = {408, 425, 429, 500, 502, 503, 504}
CHECKSUM_HEADER = "x-content-sha256"
"""The header that carries a file's SHA-256 (hex), checked on receipt."""


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    status: int | None
    body: Any
    error: str = ""

    @property
    def delivered(self) -> bool:
        return self.verdict == "delivered"


def auth_for(credential: str) -> httpx2.Auth | None:
    """'user:password' is basic auth, 'Bearer <token>' a bearer token, '' none."""
    if not credential:
        return None
    if credential.lower().startswith("bearer "):
        token = credential.split(" ", 1)[1].strip()
        return httpx2.FunctionAuth(lambda request: _with_bearer(request, token))
    user, _, password = credential.partition(":")
    return httpx2.BasicAuth(user, password)


def _with_bearer(request: httpx2.Request, token: str) -> httpx2.Request:
    request.headers["Authorization"] = f"Bearer {token}"
    return request


def make_client(
    base_url: str,
    credential: str = "",
    timeout_s: float = 300.0,
    transport: httpx2.BaseTransport | None = None,
) -> httpx2.Client:
    return httpx2.Client(
        base_url=base_url,
        auth=auth_for(credential),
        timeout=httpx2.Timeout(timeout_s, connect=min(timeout_s, 5.0)),
        transport=transport,
        limits=httpx2.Limits(max_connections=32, max_keepalive_connections=32),
        headers={"User-Agent": "derbridge"},
    )


def post_json(client: httpx2.Client, path: str, payload: Any, idempotency_key: str) -> Outcome:
    """POST a JSON body carrying its idempotency key; never raises for HTTP or network faults."""
    try:
        response = client.post(path, json=payload, headers={"Idempotency-Key": idempotency_key})
    except httpx2.TransportError as exc:
        return Outcome("transient", None, None, f"{type(exc).__name__}: {exc}")
    return classify(response)


def put_file(client: httpx2.Client, path: str, file: str | Path, sha256: str, content_type: str,
             idempotency_key: str, headers: dict[str, str] | None = None) -> Outcome:
    """PUT a file as the body, streamed, with its SHA-256 and idempotency key; never raises for HTTP or network
    faults. A file that is gone is a permanent fault: nothing will bring it back."""
    sent = {"Content-Type": content_type, CHECKSUM_HEADER: sha256, "Idempotency-Key": idempotency_key,
            **(headers or {})}
    try:
        with open(file, "rb") as body:
            response = client.put(path, content=_chunks(body), headers=sent)
    except FileNotFoundError:
        return Outcome("permanent", None, None, f"the file {file} is gone")
    except httpx2.TransportError as exc:
        return Outcome("transient", None, None, f"{type(exc).__name__}: {exc}")
    return classify(response)


def _chunks(file: BinaryIO, chunk_bytes: int = 1 << 20) -> Iterator[bytes]:
    while chunk := file.read(chunk_bytes):
        yield chunk


def post_batch(client: httpx2.Client, path: str, payloads: list[Any]) -> list[Outcome]:
    """POST several messages at once to `<path>/batch` (web/batch.py); one outcome per message, in order.

    A fault of the whole request (network, 5xx, a receiver without batches) is every message's outcome.
    """
    try:
        response = client.post(f"{path}/batch", json={"messages": payloads})
    except httpx2.TransportError as exc:
        return [Outcome("transient", None, None, f"{type(exc).__name__}: {exc}")] * len(payloads)
    whole = classify(response)
    if not whole.delivered:
        if response.status_code in (404, 405):
            whole = Outcome("permanent", response.status_code, whole.body,
                            f"{whole.error} (the receiver takes no batches at {path}/batch: turn batching towards "
                            "it off, e.g. dacs_batch or derms_batch)")
        return [whole] * len(payloads)
    results = whole.body.get("results") if isinstance(whole.body, dict) else None
    if not isinstance(results, list) or len(results) != len(payloads):
        error = f"a batch answer must hold one result per message ({len(payloads)}): {_short(whole.body)}"
        return [Outcome("permanent", response.status_code, whole.body, error)] * len(payloads)
    return [classify_status(int(item.get("status", 0)), item.get("body")) for item in results]


def classify(response: httpx2.Response) -> Outcome:
    return classify_status(response.status_code, _body(response))


def classify_status(status: int, body: Any) -> Outcome:
    """2xx is delivered; 408, 425, 429 and 5xx are worth retrying; any other answer will not change."""
    if 200 <= status < 300:
        return Outcome("delivered", status, body)
    verdict: Verdict = "transient" if status in TRANSIENT_STATUS else "permanent"
    return Outcome(verdict, status, body, f"HTTP {status}: {_short(body)}")


def _body(response: httpx2.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response.text


def _short(body: Any, limit: int = 500) -> str:
    text = body if isinstance(body, str) else json.dumps(body)
    return text[:limit]
