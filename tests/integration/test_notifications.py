"""Notifications end to end: the hub running on loopback with the program system, a real SMTP server and a
real webhook receiver. A dead letter reaches the technical recipients, a completion the business ones when
its flow's flag is on (and nobody when off), a webhook is signed and retried, fifty dead letters make one
digest, and what was recorded before a stop is sent after the restart."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from typer.testing import CliRunner

from derbridge.bootstrap import BackgroundSystems, free_port
from derbridge.cli import app
from derbridge.config import Settings
from derbridge.hub.schema import notification_events
from derbridge.store.db import make_engine
from derbridge.web.operator import wait_for
from tests.integration.conftest import cli_config, printed_json
from tests.integration.test_file_relay import export_csv, send
from tests.notify_helpers import (
    WAIT_S,
    body_of,
    dead_letter_acks,
    notifications_of,
    smtp_server,
    webhook_json,
    webhook_server,
)

OPS, PROGRAMS = "ops@utility.example", "programs@utility.example"
SECRET = "webhook-secret-for-tests"


@contextmanager
def running(settings: Settings, *systems: str, **overrides: Any) -> Iterator[BackgroundSystems]:
    with BackgroundSystems(systems or ("hub", "dacs"), settings.with_overrides(**overrides)) as stack:
        yield stack


def test_a_dead_letter_mails_the_technical_recipients_its_flow_kind_key_and_error(stack_settings: Settings,
                                                                                  tmp_path: Path) -> None:
    with smtp_server() as mailbox, running(stack_settings, notify_technical=OPS, notify_business=PROGRAMS,
                                           notify_smtp_url=mailbox.url, notify_window_s=0.2) as stack:
        dead_letter_acks(stack, "404404404")
        [mail] = wait_for(lambda: mailbox.to(OPS), WAIT_S, "the dead letter's e-mail")
        text = body_of(mail)
        assert "F3" in mail["Subject"] and "dead-letter" in mail["Subject"] and "404404404" in mail["Subject"]
        assert "aggregator-ack" in text and "404404404" in text and "HTTP 404" in text
        assert "derbridge resubmit" in text
        assert wait_for(lambda: notifications_of(stack, status="SENT"), WAIT_S, "SENT")[0]["recipient"] == OPS
        assert mailbox.to(PROGRAMS) == []
        config = cli_config(stack.settings, tmp_path)
        shown = CliRunner().invoke(app, ["notifications", "--json", "--config", str(config)])
    [listed] = printed_json(shown.output)
    assert (listed["flow"], listed["event"], listed["recipient"], listed["status"]) == (
        "F3", "dead-letter", OPS, "SENT")


def test_a_file_delivered_mails_the_business_recipients_when_its_flows_completion_flag_is_on(
        stack_settings: Settings) -> None:
    with smtp_server() as mailbox, running(stack_settings, notify_technical=OPS, notify_business=PROGRAMS,
                                           notify_smtp_url=mailbox.url, notify_window_s=0.2,
                                           notify_on_completion="F1") as stack:
        response = send(stack, export_csv("SP-N1,T-1,F-1,S-1,2026-01-01"), "k-n1",
                        {"exportType": "full", "exportId": "X-N1", "asOf": "2026-01-01"})
        assert response.status_code == 202, response.text
        [mail] = wait_for(lambda: mailbox.to(PROGRAMS), WAIT_S, "the completion's e-mail")
        assert "F1 completion: X-N1" in mail["Subject"]
        assert "X-N1" in body_of(mail) and "was completed" in body_of(mail)
        assert mailbox.to(OPS) == []


def test_a_completion_notifies_nobody_when_its_flows_flag_is_off(stack_settings: Settings) -> None:
    with smtp_server() as mailbox, running(stack_settings, notify_technical=OPS, notify_business=PROGRAMS,
                                           notify_smtp_url=mailbox.url, notify_window_s=0.2,
                                           notify_on_completion="F4, F7") as stack:
        response = send(stack, export_csv("SP-N2,T-1,F-1,S-1,2026-01-01"), "k-n2",
                        {"exportType": "full", "exportId": "X-N2", "asOf": "2026-01-01"})
        assert response.status_code == 202, response.text
        hub_db = make_engine(stack.settings.database_url("hub"))
        try:
            wait_for(lambda: gathered(hub_db, "completion"), WAIT_S, "the completion gathered")
        finally:
            hub_db.dispose()
        assert mailbox.received == [] and notifications_of(stack) == []


def gathered(hub_db: Any, event: str) -> bool:
    with hub_db.connect() as connection:
        return bool(connection.execute(sa.select(notification_events.c.id).where(
            notification_events.c.event == event, notification_events.c.gathered_at.is_not(None))).first())


def test_a_webhook_is_signed_and_a_500_is_tried_again_until_it_is_taken(stack_settings: Settings) -> None:
    with webhook_server(500) as hook, running(stack_settings, notify_technical=hook.url,
                                              notify_webhook_secret=SECRET, notify_window_s=0.2) as stack:
        dead_letter_acks(stack, "505505505")
        [sent] = wait_for(lambda: notifications_of(stack, status="SENT"), WAIT_S, "the webhook delivered")
    assert sent["attempts"] == 2 and sent["channel"] == "webhook"
    assert len(hook.requests) == 2
    (headers, body), (again, same_body) = hook.requests
    assert same_body == body and again["x-derbridge-notification"] == headers["x-derbridge-notification"]
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["x-derbridge-signature"] == expected
    payload = webhook_json(body)
    assert (payload["flow"], payload["event"], payload["audience"], payload["count"]) == (
        "F3", "dead-letter", "technical", 1)
    assert payload["items"][0]["businessKey"] == "505505505" and "HTTP 404" in payload["items"][0]["detail"]


def test_fifty_dead_letters_of_a_flow_within_the_window_make_one_digest_with_the_keys_capped(
        stack_settings: Settings) -> None:
    keys = [f"{900000000 + n}" for n in range(50)]
    with smtp_server() as mailbox, running(stack_settings, notify_technical=OPS, notify_smtp_url=mailbox.url,
                                           notify_window_s=2.0, notify_digest_keys=10) as stack:
        dead_letter_acks(stack, *keys)
        [mail] = wait_for(lambda: mailbox.to(OPS), WAIT_S, "the digest")
        [notification] = notifications_of(stack)
    text = body_of(mail)
    assert mail["Subject"] == "derbridge F3 dead-letter: 50 messages" and notification["events"] == 50
    listed = [key for key in keys if key in text]
    assert len(listed) == 10 and "… and 40 more" in text and "the first 10 of 50" in text


def test_notifications_recorded_before_a_stop_are_sent_after_the_restart(stack_settings: Settings) -> None:
    port = free_port()  # nothing listens yet: the e-mail waits, PENDING, retried
    mail_settings = stack_settings.with_overrides(notify_technical=OPS, notify_smtp_url=f"smtp://127.0.0.1:{port}",
                                                  notify_window_s=0.1)
    with running(mail_settings) as stack:
        dead_letter_acks(stack, "707707707")
        [pending] = wait_for(lambda: [n for n in notifications_of(stack) if n["attempts"] >= 1], WAIT_S, "a try")
        assert pending["status"] == "PENDING" and "ConnectionRefused" in pending["lastError"]
    with smtp_server(port) as mailbox, running(mail_settings, "hub") as stack:
        [mail] = wait_for(lambda: mailbox.to(OPS), WAIT_S, "the e-mail after the restart")
        assert "707707707" in mail["Subject"]
        [sent] = wait_for(lambda: notifications_of(stack, status="SENT"), WAIT_S, "SENT")
        assert sent["id"] == pending["id"] and sent["attempts"] >= 2
