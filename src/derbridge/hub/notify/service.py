"""The notifier's life with the hub's: started after the hub (a bad setting stops the start, naming it),
stopped before it. One per hub process, like the hub itself (hub/context.py)."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from derbridge.config import Settings
from derbridge.hub.notify.config import notify_config
from derbridge.hub.notify.worker import Notifier
from derbridge.runtime.retry import RetryPolicy

_running: Notifier | None = None


def start(settings: Settings, engine: Engine) -> Notifier:
    """Start sending notifications; whatever a previous run left due is sent now."""
    global _running
    retry = RetryPolicy(settings.retry_initial_s, settings.retry_max_interval_s, settings.retry_max_attempts)
    _running = Notifier(engine, notify_config(settings), retry, settings.sender_poll_s)
    _running.start()
    return _running


def stop() -> None:
    global _running
    if _running is not None:
        _running.stop()
        _running = None
