"""Sending one notification: an e-mail over SMTP, or a webhook (a JSON POST signed with HMAC-SHA256).

Each send answers an Outcome as HTTP deliveries do (web/client.py): delivered; transient (worth another try:
the server is unreachable or busy, an SMTP 4xx, an HTTP 408/425/429/5xx); or permanent (an SMTP 5xx, any
other HTTP answer). Nothing here raises for a fault of the other side.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

import httpx2

from derbridge.hub.notify.config import EMAIL, NotifyConfig, Recipient, SmtpServer
from derbridge.web.client import Outcome, classify

TIMEOUT_S = 30.0
"""How long one send may take: a slow recipient must not hold the others for the hub's 300 s."""
SIGNATURE_HEADER = "X-Derbridge-Signature"
NOTIFICATION_HEADER = "X-Derbridge-Notification"


def send(config: NotifyConfig, client: httpx2.Client, recipient: Recipient, payload: dict[str, Any],
         notification_id: int) -> Outcome:
    """Send `payload` to one recipient over its channel."""
    if recipient.channel == EMAIL:
        if config.smtp is None:
            return Outcome("permanent", None, None, "no SMTP server is configured (notify_smtp_url)")
        return send_email(config.smtp, email_of(payload, notification_id, config.sender, recipient.address))
    return post_webhook(client, recipient.address, payload, config.webhook_secret, notification_id)


def email_of(payload: dict[str, Any], notification_id: int, sender: str, to: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"] = sender, to
    message["Subject"] = payload["subject"]
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid("derbridge")
    message[NOTIFICATION_HEADER] = str(notification_id)
    message.set_content(payload["text"])
    return message


def send_email(server: SmtpServer, message: EmailMessage) -> Outcome:
    """Hand one e-mail to the SMTP server; its answer decides the verdict."""
    try:
        with _connect(server) as smtp:
            if server.user:
                smtp.login(server.user, server.password)
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        code, said = next(iter(exc.recipients.values()))
        return _smtp_refusal(code, said)
    except smtplib.SMTPResponseException as exc:
        return _smtp_refusal(exc.smtp_code, exc.smtp_error)
    except (OSError, smtplib.SMTPException) as exc:
        return Outcome("transient", None, None, f"SMTP {server.describe()}: {type(exc).__name__}: {exc}")
    return Outcome("delivered", 250, None)


def _connect(server: SmtpServer) -> smtplib.SMTP:
    if server.security == "tls":
        return smtplib.SMTP_SSL(server.host, server.port, timeout=TIMEOUT_S, context=ssl.create_default_context())
    smtp = smtplib.SMTP(server.host, server.port, timeout=TIMEOUT_S)
    if server.security == "starttls":
        smtp.starttls(context=ssl.create_default_context())
    return smtp


def _smtp_refusal(code: int, said: bytes | str) -> Outcome:
    text = said.decode("utf-8", "replace") if isinstance(said, bytes) else str(said)
    return Outcome("permanent" if code >= 500 else "transient", code, None, f"SMTP {code}: {text}")


def post_webhook(client: httpx2.Client, url: str, payload: dict[str, Any], secret: str,
                 notification_id: int) -> Outcome:
    """POST the payload as JSON, signed; the same notification always carries the same body and key."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: signature(body, secret),
               NOTIFICATION_HEADER: str(notification_id), "Idempotency-Key": f"notification-{notification_id}"}
    try:
        response = client.post(url, content=body, headers=headers)
    except httpx2.TransportError as exc:
        return Outcome("transient", None, None, f"{type(exc).__name__}: {exc}")
    return classify(response)


def signature(body: bytes, secret: str) -> str:
    """What a receiver recomputes over the raw body with the shared secret to trust a webhook."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
