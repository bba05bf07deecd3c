"""Storage contract: the same behaviour on SQLite and PostgreSQL for every system's tables."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine

from derbridge.clock import utcnow
from derbridge.dacs.aggregators import service_providers as dacs_aggregators
from derbridge.dacs.schema import sync_requests
from derbridge.dacs.sync import sync_requests as syncrequests
from derbridge.derms.aggregators import service_providers as derms_aggregators
from derbridge.hub import messagelog, tracking
from derbridge.store.db import make_engine
from derbridge.store.migrations import current_revision, head_revision, upgrade
from derbridge.store.outbox import PENDING


def migrated(system: str, url: str) -> Engine:
    engine = make_engine(url)
    upgrade(system, engine)
    return engine


@pytest.fixture
def hub_db(database_url: str) -> Iterator[Engine]:
    engine = migrated("hub", database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def dacs_db(database_url: str) -> Iterator[Engine]:
    engine = migrated("dacs", database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def derms_db(database_url: str) -> Iterator[Engine]:
    engine = migrated("derms", database_url)
    yield engine
    engine.dispose()


def new_message(key: str = "SR1", **keys: str) -> messagelog.NewMessage:
    return messagelog.NewMessage(
        flow="F3", kind="aggregator-sync", source="dacs", target="derms", business_key=key,
        idempotency_key=f"F3:aggregator-sync:{key}", inbound_payload='{"raw": true}', outbound_path="/aggregator",
        outbound_payload={"dacsMessageId": key}, keys={"syncRequestId": key, **keys})


@pytest.mark.parametrize("system", ["hub", "dacs", "derms"])
def test_the_migrated_database_matches_the_schema_module(system: str, database_url: str) -> None:
    engine = migrated(system, database_url)
    metadata = importlib.import_module(f"derbridge.{system}.schema").metadata
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": f"{system}_alembic_version"})
        assert compare_metadata(context, metadata) == []
    engine.dispose()


@pytest.mark.parametrize("system", ["hub", "dacs", "derms"])
def test_migrations_reach_head_and_are_repeatable(system: str, database_url: str) -> None:
    engine = migrated(system, database_url)
    assert current_revision(system, engine) == head_revision(system, engine)
    assert upgrade(system, engine) == head_revision(system, engine)
    engine.dispose()


def test_a_message_is_recorded_once_per_idempotency_key(hub_db: Engine) -> None:
    first = messagelog.record(hub_db, new_message())
    again = messagelog.record(hub_db, new_message())
    assert first.is_new and not again.is_new and again.id == first.id
    [found] = tracking.search(hub_db, key="SR1")
    assert found["duplicates"] == 1 and found["status"] == messagelog.RECEIVED


def test_a_batch_records_its_new_messages_once_each_and_counts_the_rest_as_duplicates(hub_db: Engine) -> None:
    known = messagelog.record(hub_db, new_message("SR0"))
    batch = [new_message("SR1"), new_message("SR0"), new_message("SR2"), new_message("SR1")]

    recorded = messagelog.record_many(hub_db, batch)

    assert [r.is_new for r in recorded] == [True, False, True, False]
    assert recorded[1].id == known.id and recorded[3].id == recorded[0].id
    assert recorded[0].to_deliver == (recorded[0].id,) and recorded[3].to_deliver == ()
    by_key = {m["businessKey"]: m for m in tracking.search(hub_db)}
    assert sorted(by_key) == ["SR0", "SR1", "SR2"]
    assert (by_key["SR0"]["duplicates"], by_key["SR1"]["duplicates"], by_key["SR2"]["duplicates"]) == (1, 1, 0)


def test_messages_are_found_by_any_of_their_business_keys(hub_db: Engine) -> None:
    messagelog.record(hub_db, new_message("SR1", aggregatorId="AG9"))
    messagelog.record(hub_db, new_message("SR2", aggregatorId="AG9"))
    messagelog.record(hub_db, new_message("SR3", aggregatorId="AG1"))
    assert [m["businessKey"] for m in tracking.search(hub_db, key="AG9")] == ["SR2", "SR1"]
    assert tracking.search(hub_db, key="nothing") == []


def test_delivery_outcomes_move_only_undelivered_messages(hub_db: Engine) -> None:
    ids = [messagelog.record(hub_db, new_message(f"SR{i}")).id for i in range(3)]
    messagelog.apply_outcomes(hub_db, [
        messagelog.Outcome(ids[0], messagelog.DELIVERED, response={"ackType": "SUCCESS"}),
        messagelog.Outcome(ids[1], messagelog.RETRYING, "ConnectError"),
        messagelog.Outcome(ids[2], messagelog.DEAD, "HTTP 422"),
    ])
    assert [row.id for row in messagelog.deliverable(hub_db, ids)] == [ids[1]]
    messagelog.apply_outcomes(hub_db, [messagelog.Outcome(ids[0], messagelog.RETRYING, "late")])
    delivered = tracking.get(hub_db, ids[0])
    assert delivered is not None and delivered["status"] == messagelog.DELIVERED
    assert delivered["response"] == {"ackType": "SUCCESS"} and delivered["attempts"] == 1
    assert messagelog.undelivered(hub_db) == [(ids[1], None)]


def test_orphans_are_old_undelivered_messages_without_a_workflow(hub_db: Engine) -> None:
    orphan = messagelog.record(hub_db, new_message("SR1")).id
    taken = messagelog.record(hub_db, new_message("SR2")).id
    messagelog.assign_workflow(hub_db, [taken], "wf-1")
    assert messagelog.orphans(hub_db, utcnow() + timedelta(seconds=1)) == [orphan]
    assert messagelog.orphans(hub_db, utcnow() - timedelta(minutes=1)) == []


def test_only_dead_messages_reopen_for_resubmit(hub_db: Engine) -> None:
    dead = messagelog.record(hub_db, new_message("SR1")).id
    alive = messagelog.record(hub_db, new_message("SR2")).id
    messagelog.assign_workflow(hub_db, [dead], "wf-1")
    messagelog.dead_letter(hub_db, [dead], "gave up")
    assert messagelog.reopen(hub_db, [dead, alive]) == [dead]
    assert (dead, None) in messagelog.undelivered(hub_db)


def test_a_rejected_message_is_kept_raw_with_its_reasons(hub_db: Engine) -> None:
    rejected = messagelog.record_rejected(hub_db, "F3", "aggregator-sync", "dacs", "derms", b'{"name": 1',
                                          [{"field": "body", "message": "invalid JSON"}])
    kept = tracking.get(hub_db, rejected)
    assert kept is not None and kept["status"] == messagelog.REJECTED
    assert kept["inbound_payload"] == '{"name": 1' and "invalid JSON" in kept["lastError"]


AGGREGATOR = dacs_aggregators.AggregatorIn.model_validate({
    "name": "EcoCloud", "status": "ACTIVE", "startDate": "2026-01-01", "contact": {"name": "Dana"},
    "programOfferings": ["SMARTSTAT"]})


def test_creating_an_aggregator_writes_its_sync_request_in_the_same_transaction(dacs_db: Engine) -> None:
    created = dacs_aggregators.create(dacs_db, AGGREGATOR)
    [request] = syncrequests.list_sync_requests(dacs_db, object_id=created["aggregatorId"])
    assert request["syncRequestId"] == created["syncRequestId"] and request["status"] == PENDING
    with dacs_db.connect() as connection:
        payload = json.loads(connection.execute(sa.select(sync_requests.c.payload)).scalar_one())
    assert payload["serviceProviderId"] == created["aggregatorId"] and payload["name"] == "EcoCloud"


def test_deleting_an_aggregator_writes_no_sync_request(dacs_db: Engine) -> None:
    created = dacs_aggregators.create(dacs_db, AGGREGATOR)
    assert dacs_aggregators.delete(dacs_db, created["aggregatorId"])
    assert len(syncrequests.list_sync_requests(dacs_db)) == 1


def test_an_acknowledgement_completes_a_sync_request_once(dacs_db: Engine) -> None:
    created = dacs_aggregators.create(dacs_db, AGGREGATOR)
    assert syncrequests.acknowledge(dacs_db, created["syncRequestId"], False, {"hasError": False}) == "applied"
    assert syncrequests.acknowledge(dacs_db, created["syncRequestId"], True, {}) == "already synchronized"
    assert syncrequests.acknowledge(dacs_db, "00000000000000", False, {}) == "unknown"
    found = syncrequests.get_sync_request(dacs_db, created["syncRequestId"])
    assert found is not None and found["status"] == syncrequests.COMPLETE


def test_derms_applies_an_aggregator_message_once_and_queues_one_ack(derms_db: Engine) -> None:
    message = derms_aggregators.AggregatorMessage.model_validate({
        "dacsMessageId": "SR1", "aggregatorId": "AG1", "aggregatorName": "EcoCloud", "status": "Active",
        "effectiveStartDateTimeISO": "2026-01-01T00:00:00Z", "contactName": "Dana", "programCodes": ["P"]})
    assert derms_aggregators.apply(derms_db, message) is True
    assert derms_aggregators.apply(derms_db, message) is False
    renamed = message.model_copy(update={"dacsMessageId": "SR2", "aggregatorName": "EcoCloud Inc."})
    assert derms_aggregators.apply(derms_db, renamed) is True
    [held] = derms_aggregators.list_all(derms_db)
    assert held["name"] == "EcoCloud Inc." and held["lastMessageId"] == "SR2"
    with derms_db.connect() as connection:
        acks = connection.execute(sa.text("SELECT message_key FROM outbound_messages ORDER BY id")).scalars().all()
    assert acks == ["aggregator-ack:SR1", "aggregator-ack:SR2"]


def test_derms_refuses_an_aggregator_that_ends_before_it_starts_with_its_own_message_number(
        derms_db: Engine) -> None:
    message = derms_aggregators.AggregatorMessage.model_validate({
        "dacsMessageId": "SR9", "aggregatorId": "AG9", "aggregatorName": "Backwards", "status": "Active",
        "effectiveStartDateTimeISO": "2026-06-01T00:00:00Z", "effectiveEndDateTimeISO": "2026-01-01T00:00:00Z",
        "contactName": "Dana"})
    assert derms_aggregators.apply(derms_db, message) is True
    assert derms_aggregators.list_all(derms_db) == []
    with derms_db.connect() as connection:
        [payload] = connection.execute(sa.text("SELECT payload FROM outbound_messages")).scalars().all()
    ack = json.loads(payload)
    assert ack["ackType"] == "ERROR"
    assert [(e["messageCategory"], e["messageNumber"]) for e in ack["errors"]] == [(90200, 211)]


def test_timestamps_come_back_as_utc(hub_db: Engine) -> None:
    before = utcnow()
    message_id = messagelog.record(hub_db, new_message()).id
    found = tracking.get(hub_db, message_id)
    assert found is not None and found["receivedAt"].endswith("+00:00")
    assert found["receivedAt"][:16] >= before.isoformat()[:16]
