"""Talking to a running system as an operator (the CLI, the demo, benchmarks)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx2

from derbridge.config import Settings
from derbridge.web.auth import outbound_credential
from derbridge.web.client import make_client

T = TypeVar("T")


def operator_client(settings: Settings, system: str, timeout_s: float = 30.0) -> httpx2.Client:
    return make_client(settings.url(system), outbound_credential(settings, "operator", system), timeout_s)


def checked(response: httpx2.Response) -> Any:
    """The JSON body of a successful answer; otherwise an error that quotes the problem."""
    if response.is_error:
        raise OperatorError(f"{response.request.method} {response.request.url.path} → "
                            f"{response.status_code}: {response.text[:1000]}")
    return response.json() if response.content else None


class OperatorError(RuntimeError):
    pass


def wait_for(check: Callable[[], T | None], timeout_s: float, what: str, interval_s: float = 0.05) -> T:
    """Poll `check` until it returns something truthy, or fail naming `what`."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(interval_s)
