"""Credentials: who may call which system. Every inbound endpoint requires them (basic or bearer).

In embedded mode the secrets are generated on first start and kept in `<data_dir>/credentials.json`:
`{"hub": {"dacs": "...", "derms": "...", "operator": "..."}, "dacs": {...}, "derms": {...}}` reads
"the hub accepts the program system, DERMS and operators, each with its own secret".
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import secrets
from collections.abc import Callable, Iterable
from pathlib import Path

from fastapi import Request

from derbridge.config import Settings

CALLERS: dict[str, tuple[str, ...]] = {
    "hub": ("dacs", "derms", "operator"),
    "dacs": ("hub", "operator"),
    "derms": ("hub", "operator", "aggregator"),
    "headend": ("derms", "operator"),  # simulated aggregator clouds running as their own processes
}
CREDENTIALS_FILE = "credentials.json"


class AuthError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def credentials_path(settings: Settings) -> Path:
    return settings.data_dir / CREDENTIALS_FILE


def load_or_create_credentials(settings: Settings) -> dict[str, dict[str, str]]:
    """Read the credentials file, creating any missing secret (first start) with owner-only permissions."""
    path = credentials_path(settings)
    stored: dict[str, dict[str, str]] = json.loads(path.read_text()) if path.exists() else {}
    changed = False
    for system, callers in CALLERS.items():
        table = stored.setdefault(system, {})
        for caller in callers:
            if caller not in table:
                table[caller] = secrets.token_urlsafe(24)
                changed = True
    if changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(stored, indent=2))
        os.chmod(tmp, 0o600)
        tmp.replace(path)
    return stored


def outbound_credential(settings: Settings, caller: str, target: str) -> str:
    """What `caller` presents to `target`: an explicit DERBRIDGE_<TARGET>_AUTH, else the embedded secret."""
    explicit = str(getattr(settings, f"{target}_auth"))
    if explicit:
        return explicit
    secret = load_or_create_credentials(settings)[target][caller]
    return f"{caller}:{secret}"


class Authenticator:
    """Checks a request's Authorization header against the secrets accepted by one system."""

    def __init__(self, accepted: dict[str, str]) -> None:
        self.accepted = dict(accepted)

    def principal(self, authorization: str | None) -> str:
        if not authorization:
            raise AuthError(401, "credentials required (HTTP basic or bearer)")
        scheme, _, value = authorization.partition(" ")
        scheme = scheme.lower()
        if scheme == "basic":
            return self._basic(value.strip())
        if scheme == "bearer":
            return self._bearer(value.strip())
        raise AuthError(401, f"unsupported authorization scheme {scheme!r}")

    def _basic(self, value: str) -> str:
        try:
            user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError) as exc:
            raise AuthError(401, "malformed basic credentials") from exc
        expected = self.accepted.get(user)
        if expected is None or not hmac.compare_digest(expected, password):
            raise AuthError(401, "wrong user or password")
        return user

    def _bearer(self, token: str) -> str:
        for user, secret in self.accepted.items():
            if hmac.compare_digest(secret, token):
                return user
        raise AuthError(401, "unknown bearer token")


def require(authenticator: Authenticator, allowed: Iterable[str] | None = None) -> Callable[[Request], str]:
    """A FastAPI dependency: 401 without valid credentials, 403 for a caller this endpoint is not for."""
    allowed_set = set(allowed) if allowed is not None else None

    def dependency(request: Request) -> str:
        user = authenticator.principal(request.headers.get("authorization"))
        if allowed_set is not None and user not in allowed_set:
            raise AuthError(403, f"{user!r} may not call this endpoint")
        request.state.principal = user
        return user

    return dependency
