"""Digests and notifications in the hub's database, on SQLite and PostgreSQL: a window opens with its first
event and closes into one digest per flow and kind, one notification per recipient; events nobody is to hear
of are gathered without one; a claimed notification is not claimed again until its lease ends; a send that
keeps failing is given up after the retry policy's attempts."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from derbridge.clock import utcnow
from derbridge.config import Settings
from derbridge.hub.notify import store
from derbridge.hub.notify.config import NotifyConfig, notify_config
from derbridge.hub.schema import notification_events
from derbridge.runtime.retry import RetryPolicy
from derbridge.web.client import Outcome

OPS, HOOK = "ops@utility.example", "https://hooks.utility.example/derbridge"



def config(**changes: object) -> NotifyConfig:
    return notify_config(Settings(notify_technical=f"{OPS}, {HOOK}", notify_smtp_url="smtp://127.0.0.1:25",
                                  notify_webhook_secret="s", notify_window_s=60).with_overrides(**changes))


def happened(hub_db: Engine, at: datetime, flow: str = "F3", event: str = "dead-letter", key: str = "K") -> None:
    with hub_db.begin() as connection:
        connection.execute(sa.insert(notification_events).values(at=at, flow=flow, event=event, business_key=key,
                                                                 detail="HTTP 404"))


def test_a_window_closes_into_one_digest_per_flow_and_kind_with_a_notification_per_recipient(
        hub_db: Engine) -> None:
    start = utcnow()
    for n in range(3):
        happened(hub_db, start + timedelta(seconds=n), key=f"K{n}")
    happened(hub_db, start + timedelta(seconds=30), flow="F2", key="OTHER")
    assert store.gather(hub_db, config(), start + timedelta(seconds=59)) == 0  # still open
    assert store.gather(hub_db, config(), start + timedelta(seconds=60)) == 1  # F3's closed; F2's still open
    sent = store.search(hub_db)
    assert sorted((n["recipient"], n["channel"], n["events"], n["flow"]) for n in sent) == [
        (HOOK, "webhook", 3, "F3"), (OPS, "email", 3, "F3")]
    assert store.gather(hub_db, config(), start + timedelta(seconds=60)) == 0  # gathered once
    assert store.gather(hub_db, config(), start + timedelta(seconds=90)) == 1
    assert {n["flow"] for n in store.search(hub_db)} == {"F2", "F3"}


def test_events_nobody_is_to_hear_of_are_gathered_without_a_notification(hub_db: Engine) -> None:
    start = utcnow()
    happened(hub_db, start, flow="F5")
    assert store.gather(hub_db, config(notify_on_error="F3"), start + timedelta(minutes=5)) == 0
    assert store.search(hub_db) == []
    assert store.due_groups(hub_db, start + timedelta(minutes=5)) == []


def test_a_claimed_notification_waits_for_its_lease_and_a_failing_one_is_given_up(hub_db: Engine) -> None:
    start = utcnow()
    happened(hub_db, start)
    store.gather(hub_db, config(notify_technical=OPS), start + timedelta(minutes=1))
    now = start + timedelta(minutes=1)
    [claimed] = store.claim_due(hub_db, now, lease_s=120)
    assert store.claim_due(hub_db, now + timedelta(seconds=119), lease_s=120) == []
    retry = RetryPolicy(1.0, 10.0, max_attempts=2)
    store.record_attempts(hub_db, [claimed], [Outcome("transient", None, None, "refused")], retry, now)
    [again] = store.claim_due(hub_db, now + timedelta(seconds=1), lease_s=120)
    store.record_attempts(hub_db, [again], [Outcome("transient", None, None, "refused")], retry, now)
    [failed] = store.search(hub_db)
    assert failed["status"] == "FAILED" and failed["attempts"] == 2
    assert failed["lastError"] == "gave up after 2 attempts: refused"


def test_a_sent_notification_keeps_what_it_said(hub_db: Engine) -> None:
    start = utcnow()
    happened(hub_db, start, key="SAID")
    store.gather(hub_db, config(notify_technical=OPS), start + timedelta(minutes=1))
    [claimed] = store.claim_due(hub_db, start + timedelta(minutes=1), lease_s=120)
    store.record_attempts(hub_db, [claimed], [Outcome("delivered", 250, None)], RetryPolicy(), utcnow())
    found = store.get(hub_db, claimed.id)
    assert found is not None and found["status"] == "SENT" and found["sentAt"]
    assert found["payload"]["items"][0]["businessKey"] == "SAID"
