"""The one outbound HTTP client factory, and how an answer is classified (delivered, transient, permanent)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

import httpx2

Verdict = Literal["delivered", "transient", "permanent"]
TRANSIENT_STATUS = {408, 425, 429, 500, 502, 503, 504}


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


def classify(response: httpx2.Response) -> Outcome:
    body = _body(response)
    if response.is_success:
        return Outcome("delivered", response.status_code, body)
    verdict: Verdict = "transient" if response.status_code in TRANSIENT_STATUS else "permanent"
    return Outcome(verdict, response.status_code, body, f"HTTP {response.status_code}: {_short(body)}")


def _body(response: httpx2.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response.text


def _short(body: Any, limit: int = 500) -> str:
    text = body if isinstance(body, str) else json.dumps(body)
    return text[:limit]
