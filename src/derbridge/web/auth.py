"""Credentials: who may call which system. Every inbound endpoint requires them (basic or bearer).

A caller has a role, which is what endpoints check (the hub's: `dacs`, `derms`, `operator`), a user name and a
secret. In embedded mode the secrets are generated on first start and kept in `<data_dir>/credentials.json`:
`{"hub": {"dacs": "...", "derms": "...", "operator": "..."}, "dacs": {...}, "derms": {...}}` reads "the hub
accepts the program system, DERMS and operators, each with its own secret", the user name being the role.
Integration users have names of their own: `<system>_callers` (settings, TOML, environment) gives them, as
`role=user:password` (basic) or `role=Bearer token`; a role configured there no longer accepts its embedded
secret.
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request

from derbridge.config import ConfigError, Settings, parse_caller

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


@dataclass(frozen=True)
class Caller:
    """Someone a system accepts: the role its endpoints check, the user name it is known by, its secret."""

    role: str
    user: str
    secret: str
    basic: bool = True
    """Accepted as HTTP basic `user:secret`."""
    bearer: bool = True
    """Accepted as `Authorization: Bearer secret`."""

    @classmethod
    def configured(cls, entry: str) -> Caller:
        """One `<system>_callers` entry: basic only for `user:password`, bearer only for `Bearer token`."""
        role, credential = parse_caller(entry)
        if credential.lower().startswith("bearer "):
            return cls(role, role, credential[7:].strip(), basic=False)
        user, _, secret = credential.partition(":")
        return cls(role, user, secret, bearer=False)

    @property
    def credential(self) -> str:
        """What to present to be this caller (`user:secret`, or `Bearer secret`)."""
        return f"{self.user}:{self.secret}" if self.basic else f"Bearer {self.secret}"


def callers_of(settings: Settings, system: str) -> list[Caller]:
    """Everyone `system` accepts: its configured callers, and the embedded secret of each role not configured."""
    configured = [Caller.configured(entry) for entry in getattr(settings, f"{system}_callers", ())]
    strangers = sorted({caller.role for caller in configured} - set(CALLERS[system]))
    if strangers:
        raise ConfigError(f"setting {system}_callers: no role {', '.join(strangers)} in {system} "
                          f"(its roles: {', '.join(CALLERS[system])})")
    roles = {caller.role for caller in configured}
    embedded = [Caller(role, role, secret) for role, secret in load_or_create_credentials(settings)[system].items()
                if role not in roles]
    return configured + embedded


def outbound_credential(settings: Settings, caller: str, target: str) -> str:
    """What `caller` (a role) presents to `target`: an explicit DERBRIDGE_<TARGET>_AUTH, else the role's entry
    in the target's configured callers (one configuration file serves both ends), else the embedded secret."""
    explicit = str(getattr(settings, f"{target}_auth"))
    if explicit:
        return explicit
    for entry in getattr(settings, f"{target}_callers", ()):
        configured = Caller.configured(entry)
        if configured.role == caller:
            return configured.credential
    secret = load_or_create_credentials(settings)[target][caller]
    return f"{caller}:{secret}"


class Authenticator:
    """Checks a request's Authorization header against the callers one system accepts."""

    def __init__(self, callers: Iterable[Caller]) -> None:
        self.callers = list(callers)

    def authenticate(self, authorization: str | None) -> Caller:
        if not authorization:
            raise AuthError(401, "credentials required (HTTP basic or bearer)")
        scheme, _, value = authorization.partition(" ")
        scheme = scheme.lower()
        if scheme == "basic":
            return self._basic(value.strip())
        if scheme == "bearer":
            return self._bearer(value.strip())
        raise AuthError(401, f"unsupported authorization scheme {scheme!r}")

    def _basic(self, value: str) -> Caller:
        try:
            user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError) as exc:
            raise AuthError(401, "malformed basic credentials") from exc
        for caller in self.callers:
            if caller.basic and caller.user == user and hmac.compare_digest(caller.secret, password):
                return caller
        raise AuthError(401, "wrong user or password")

    def _bearer(self, token: str) -> Caller:
        for caller in self.callers:
            if caller.bearer and hmac.compare_digest(caller.secret, token):
                return caller
        raise AuthError(401, "unknown bearer token")


def require(authenticator: Authenticator, allowed: Iterable[str] | None = None) -> Callable[[Request], str]:
    """A FastAPI dependency: 401 without valid credentials, 403 for a caller whose role this endpoint is not for.
    The caller's user name is the request's principal (audit trails name it)."""
    allowed_set = set(allowed) if allowed is not None else None

    def dependency(request: Request) -> str:
        caller = authenticator.authenticate(request.headers.get("authorization"))
        if allowed_set is not None and caller.role not in allowed_set:
            raise AuthError(403, f"{caller.user!r} ({caller.role}) may not call this endpoint")
        request.state.principal = caller.user
        return caller.user

    return dependency
