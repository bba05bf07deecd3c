"""A digest tells how many events of one flow and kind, lists the first keys with their errors and counts the
rest; webhooks are signed with HMAC-SHA256 of the exact body."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from derbridge.hub.notify.channels import signature
from derbridge.hub.notify.digest import DETAIL_CHARS, Gathered, compose

START = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


def event(n: int, detail: str | None = "HTTP 404: no such sync request") -> SimpleNamespace:
    return SimpleNamespace(business_key=f"KEY-{n}", message_id=100 + n, message_kind="aggregator-ack",
                           detail=detail, at=START + timedelta(seconds=n))


def test_fifty_events_make_one_digest_that_counts_them_and_lists_the_first_keys() -> None:
    listed = [event(n) for n in range(20)]
    payload = compose(Gathered("F3", "dead-letter", 1, 50, START, START + timedelta(seconds=49), listed))
    assert payload["subject"] == "derbridge F3 dead-letter: 50 messages"
    assert (payload["count"], len(payload["items"]), payload["more"], payload["audience"]) == (50, 20, 30, "technical")
    assert "the first 20 of 50" in payload["text"] and "… and 30 more" in payload["text"]
    assert "KEY-19 (aggregator-ack, message 119): HTTP 404" in payload["text"] and "KEY-20" not in payload["text"]
    assert payload["firstAt"] == "2026-07-01T12:00:00+00:00" and payload["lastAt"] == "2026-07-01T12:00:49+00:00"


def test_one_event_is_named_in_the_subject_with_what_to_do() -> None:
    payload = compose(Gathered("F4", "mapping-failure", 7, 1, START, START, [event(1, "cannot map: ACME!X")]))
    assert payload["subject"] == "derbridge F4 mapping-failure: KEY-1 (aggregator-ack, message 101)"
    assert "This message could not be mapped" in payload["text"] and "cannot map: ACME!X" in payload["text"]
    assert "derbridge lookups set" in payload["text"] and payload["more"] == 0


def test_a_long_error_is_cut_in_a_digest() -> None:
    payload = compose(Gathered("F3", "declined", 1, 1, START, START, [event(1, "x" * 5000)]))
    assert len(payload["items"][0]["detail"]) == DETAIL_CHARS + 1 and payload["audience"] == "business"


def test_the_signature_is_the_hmac_sha256_of_the_body_with_the_secret() -> None:
    body = b'{"flow":"F3"}'
    assert signature(body, "k") == "sha256=" + hmac.new(b"k", body, hashlib.sha256).hexdigest()
    assert signature(body, "k") != signature(body + b" ", "k")
