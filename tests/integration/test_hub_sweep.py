"""The hub's sweep, run every minute: a message recorded but never handed to a delivery (the dispatcher failed,
or the hub stopped in between) is handed to one a minute later, from the sweep's own workflow, once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from derbridge.bootstrap import BackgroundSystems
from derbridge.clock import utcnow
from derbridge.hub import delivery, messagelog, tracking
from derbridge.hub.schema import messages
from derbridge.store.db import make_engine
from derbridge.web.operator import wait_for
from tests.conftest import BACKENDS
from tests.integration.conftest import stack_on


@pytest.fixture(scope="module", params=BACKENDS)
def hub(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundSystems]:
    """The hub alone, in this process: DERMS is not there, so a delivery is tried and retried."""
    yield from stack_on(request.param, tmp_path_factory, ("hub",))


def orphan(hub: BackgroundSystems, key: str) -> int:
    """A sync to DERMS recorded two minutes ago and never handed to a delivery."""
    db = make_engine(hub.settings.database_url("hub"))
    try:
        recorded = messagelog.record(db, messagelog.NewMessage(
            flow="F3", kind="aggregator-sync", source="dacs", target="derms", business_key=key,
            idempotency_key=f"F3:aggregator-sync:{key}", inbound_payload='{"raw": true}', outbound_path="/aggregator",
            outbound_payload={"dacsMessageId": key}, keys={"syncRequestId": key}))
        with db.begin() as connection:
            connection.execute(sa.update(messages).where(messages.c.id == recorded.id)
                               .values(received_at=utcnow() - timedelta(minutes=2)))
        return recorded.id
    finally:
        db.dispose()


def tracked(hub: BackgroundSystems, message_id: int) -> dict[str, Any]:
    db = make_engine(hub.settings.database_url("hub"))
    try:
        return dict(tracking.get(db, message_id) or {})
    finally:
        db.dispose()


def test_an_orphan_is_handed_to_a_delivery_once(hub: BackgroundSystems) -> None:
    message_id = orphan(hub, "SR-ORPHAN")
    delivery.sweep(None, None)  # the scheduled sweep may have taken it first: either way, one delivery
    tried = wait_for(lambda: (found := tracked(hub, message_id))["attempts"] >= 1 and found, 30,
                     "the orphan's first delivery attempt")
    assert tried["status"] in (messagelog.RETRYING, messagelog.RECEIVED), tried
    assert delivery.sweep(None, None) == 0, "handed over once"
