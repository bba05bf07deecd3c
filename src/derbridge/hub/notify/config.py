"""Who hears of what, and how: the notification settings read and checked once, naming any bad setting.

Recipients are e-mail addresses or http(s) webhook URLs; triggers switch each kind of event on per flow
(events.py); the SMTP server comes as one URL, like a database's. Pure: nothing here sends or connects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.utils import parseaddr
from urllib.parse import unquote, urlsplit

from email_validator import EmailNotValidError, validate_email

from derbridge.config import ConfigError, Settings
from derbridge.hub.notify.events import (
    AUDIENCES,
    BUSINESS,
    EVENT_KINDS,
    ON_COMPLETION,
    ON_ERROR,
    ON_NO_FILE,
    TECHNICAL,
)

FLOWS = tuple(f"F{number}" for number in range(1, 15))
EMAIL, WEBHOOK = "email", "webhook"
SMTP_SCHEMES = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


@dataclass(frozen=True)
class Recipient:
    address: str
    channel: str
    """email or webhook"""


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    security: str
    """"none", "starttls" or "tls" (the connection is TLS from the start)."""
    user: str = ""
    password: str = field(default="", repr=False)

    def describe(self) -> str:
        return f"{self.host}:{self.port}" + ("" if self.security == "none" else f" ({self.security})")


@dataclass(frozen=True)
class NotifyConfig:
    recipients: dict[str, tuple[Recipient, ...]]
    """Per audience (technical, business)."""
    triggers: dict[str, frozenset[str]]
    """Per trigger (error, completion, no-file), the flows it is on for."""
    window_s: float
    digest_keys: int
    smtp: SmtpServer | None
    sender: str
    webhook_secret: str = field(repr=False)

    def recipients_of(self, flow: str, event: str) -> tuple[Recipient, ...]:
        """Who hears of `event` in `flow`: nobody when its trigger is off for the flow."""
        kind = EVENT_KINDS[event]
        return self.recipients[kind.audience] if flow in self.triggers[kind.trigger] else ()

    def everyone(self) -> list[tuple[str, Recipient]]:
        """Each recipient once, with the audiences it belongs to (e.g. "technical, business")."""
        audiences: dict[Recipient, list[str]] = {}
        for audience in AUDIENCES:
            for recipient in self.recipients[audience]:
                audiences.setdefault(recipient, []).append(audience)
        return [(", ".join(names), recipient) for recipient, names in audiences.items()]


def notify_config(settings: Settings) -> NotifyConfig:
    """The notification settings, checked; a bad one raises ConfigError naming it."""
    recipients = {TECHNICAL: recipients_in("notify_technical", settings.notify_technical),
                  BUSINESS: recipients_in("notify_business", settings.notify_business)}
    everyone = [r for audience in AUDIENCES for r in recipients[audience]]
    smtp = smtp_server(settings.notify_smtp_url) if settings.notify_smtp_url else None
    if smtp is None and any(r.channel == EMAIL for r in everyone):
        raise ConfigError("setting notify_smtp_url: e-mail recipients need an SMTP server")
    if not settings.notify_webhook_secret and any(r.channel == WEBHOOK for r in everyone):
        raise ConfigError("setting notify_webhook_secret: webhook recipients need a secret to sign with")
    if settings.notify_window_s < 0:
        raise ConfigError("setting notify_window_s: must be 0 or more seconds")
    if settings.notify_digest_keys < 1:
        raise ConfigError("setting notify_digest_keys: must be at least 1")
    triggers = {trigger: flows_in(f"notify_on_{trigger.replace('-', '_')}", str(getattr(
        settings, f"notify_on_{trigger.replace('-', '_')}"))) for trigger in (ON_ERROR, ON_COMPLETION, ON_NO_FILE)}
    return NotifyConfig(recipients, triggers, settings.notify_window_s, settings.notify_digest_keys, smtp,
                        sender_address(settings.notify_from), settings.notify_webhook_secret)


def items(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def recipients_in(setting: str, value: str) -> tuple[Recipient, ...]:
    found: list[Recipient] = []
    for item in items(value):
        if item.lower().startswith(("http://", "https://")):
            if not urlsplit(item).hostname:
                raise ConfigError(f"setting {setting}: {item!r} is not a URL with a host")
            found.append(Recipient(item, WEBHOOK))
            continue
        try:
            found.append(Recipient(validate_email(item, check_deliverability=False).normalized, EMAIL))
        except EmailNotValidError as exc:
            raise ConfigError(f"setting {setting}: {item!r} is neither an e-mail address nor an http(s) URL "
                              f"({exc})") from exc
    return tuple(dict.fromkeys(found))


def flows_in(setting: str, value: str) -> frozenset[str]:
    flows = [item.upper() for item in items(value)]
    if "*" in flows:
        return frozenset(FLOWS)
    unknown = [flow for flow in flows if flow not in FLOWS]
    if unknown:
        raise ConfigError(f"setting {setting}: {', '.join(unknown)} not a flow (F1…F14, or * for all)")
    return frozenset(flows)


def smtp_server(url: str) -> SmtpServer:
    parts = urlsplit(url)
    if parts.scheme not in SMTP_SCHEMES or not parts.hostname:
        raise ConfigError(f"setting notify_smtp_url: expected {', '.join(f'{s}://host' for s in SMTP_SCHEMES)}, "
                          f"with an optional user:password@ and :port")
    try:
        port = parts.port or SMTP_SCHEMES[parts.scheme]
    except ValueError as exc:
        raise ConfigError(f"setting notify_smtp_url: {exc}") from exc
    security = {"smtp": "none", "smtp+starttls": "starttls", "smtps": "tls"}[parts.scheme]
    return SmtpServer(parts.hostname, port, security, unquote(parts.username or ""), unquote(parts.password or ""))


def sender_address(value: str) -> str:
    """The From address as given (a display name is fine); a local domain such as localhost is too."""
    address = parseaddr(value)[1]
    if "@" not in address or address.startswith("@") or address.endswith("@"):
        raise ConfigError(f"setting notify_from: {value!r} is not an e-mail address")
    return value
