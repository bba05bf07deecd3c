"""Storage contract for lookups, on SQLite and PostgreSQL: edits are audited and versioned, refused edits
and bad imports change nothing, seeding is idempotent and keeps edits, running hubs see changes."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy.engine import Engine

from derbridge.hub import lookup_store as store
from derbridge.hub.lookup_catalog import ASSET_SPEC, DACS, DERMS, EVENT_TYPE, SEEDS
from derbridge.hub.lookups import InvalidLookup, Lookup, LookupMissing

ALICE = store.Actor("operator", "alice")
EVENTS = Lookup.build("EventType", ["DERMS", "DACS"], [{"DERMS": "ECONOMIC", "DACS": "X1EC"},
                                                       {"DERMS": "EMERGENCY", "DACS": "X1EM"}], keys=["DERMS", "DACS"])



@pytest.fixture
def events(hub_db: Engine) -> Engine:
    store.create(hub_db, EVENTS, ALICE)
    return hub_db


def stored(engine: Engine, name: str = "EventType") -> Lookup:
    found = store.load(engine, name)
    assert found is not None
    return found


def test_a_new_lookup_is_stored_at_version_one_with_its_rows_and_audited(events: Engine) -> None:
    lookup = stored(events)
    assert lookup.version == 1 and lookup.records() == EVENTS.records() and lookup.keys == ("DERMS", "DACS")
    trail = store.history(events, "EventType")
    assert [(e["action"], e["rowKey"]) for e in reversed(trail)] == [("create", None), ("add", "ECONOMIC"),
                                                                       ("add", "EMERGENCY")]
    assert {(e["principal"], e["person"]) for e in trail} == {("operator", "alice")}


def test_creating_a_lookup_twice_is_refused(events: Engine) -> None:
    with pytest.raises(store.LookupExists):
        store.create(events, EVENTS, ALICE)


def test_editing_a_row_audits_old_and_new_values_and_bumps_the_version_once(events: Engine) -> None:
    edit = store.put_row(events, "EventType", "DERMS", "EMERGENCY", {"DACS": "X1EX"}, store.Actor("operator", "bo"))
    assert edit.lookup.version == 2 and [c.action for c in edit.changes] == ["replace"]
    [entry, *_] = store.history(events, "EventType")
    assert entry["action"] == "replace" and entry["rowKey"] == "EMERGENCY" and entry["version"] == 2
    assert entry["old"] == {"DERMS": "EMERGENCY", "DACS": "X1EM"} and entry["new"] == {"DERMS": "EMERGENCY",
                                                                                      "DACS": "X1EX"}
    assert entry["person"] == "bo"
    assert stored(events).value("DERMS", "EMERGENCY", "DACS") == "X1EX"
    assert store.versions(events) == {"EventType": 2}


def test_an_edit_that_changes_nothing_writes_nothing(events: Engine) -> None:
    edit = store.put_row(events, "EventType", "DERMS", "EMERGENCY", {"DACS": "X1EM"}, ALICE)
    assert edit.changes == [] and stored(events).version == 1 and len(store.history(events)) == 3


def test_adding_and_deleting_rows_are_audited(events: Engine) -> None:
    store.put_row(events, "EventType", "DERMS", "RELIABILITY", {"DACS": "X1RE"}, ALICE)
    store.delete_row(events, "EventType", "DACS", "X1EC", ALICE)
    [deleted, added, *_] = store.history(events, "EventType")
    assert (added["action"], added["old"], added["new"]) == ("add", None, {"DERMS": "RELIABILITY", "DACS": "X1RE"})
    assert (deleted["action"], deleted["rowKey"], deleted["new"], deleted["version"]) == ("delete", "ECONOMIC",
                                                                                          None, 3)
    assert [r["DERMS"] for r in stored(events).records()] == ["EMERGENCY", "RELIABILITY"]
    with pytest.raises(LookupMissing):
        store.delete_row(events, "EventType", "DACS", "X1EC", ALICE)


def test_an_edit_breaking_uniqueness_changes_nothing(events: Engine) -> None:
    with pytest.raises(InvalidLookup) as raised:
        store.put_row(events, "EventType", "DERMS", "RELIABILITY", {"DACS": "X1EC"}, ALICE)
    assert [p.field for p in raised.value.problems] == ["row.DACS"]
    assert stored(events) == replace(EVENTS, version=1)


def test_a_refusal_is_kept_in_the_audit_trail_with_the_request(events: Engine) -> None:
    store.record_refusal(events, "EventType", "PUT /x\n{\"bad\": 1}", [], ALICE, "row edit")
    [entry, *_] = store.history(events, "EventType")
    assert entry["action"] == "refuse" and entry["new"] == "PUT /x\n{\"bad\": 1}" and "row edit" in entry["note"]
    assert stored(events).version == 1


def test_an_import_with_one_bad_row_applies_nothing_and_names_the_row_and_column(events: Engine) -> None:
    rows = [{"DERMS": "RELIABILITY", "DACS": "X1RE"}, {"DERMS": "ECONOMIC", "DACS": "X1EC-NEW"},
            {"DERMS": "DEVICE_TEST", "DACS": ""}]
    other = store.Incoming("Other", [{"A": "1", "B": "2"}], columns=("A", "B"))
    with pytest.raises(InvalidLookup) as raised:
        store.import_lookups(events, [other, store.Incoming("EventType", rows)], False, ALICE)
    assert [p.field for p in raised.value.problems] == ["lookups.EventType.rows.3.DACS"]
    assert stored(events) == replace(EVENTS, version=1)
    assert store.load(events, "Other") is None, "a good lookup in the same import is not applied either"


def test_a_merge_import_keeps_unmentioned_rows_and_a_replace_import_drops_them(events: Engine) -> None:
    [merge] = store.import_lookups(events, [store.Incoming("EventType", [{"DERMS": "RELIABILITY", "DACS": "X1RE"}])],
                                   False, ALICE)
    assert (merge.lookup.version, len(merge.lookup.rows)) == (2, 3)
    [replaced] = store.import_lookups(events, [store.Incoming("EventType", [{"DERMS": "ECONOMIC", "DACS": "X1EC"}],
                                                              columns=("DACS", "DERMS"))], True, ALICE)
    assert replaced.lookup.records() == [{"DERMS": "ECONOMIC", "DACS": "X1EC"}]
    assert [c.action for c in replaced.changes] == ["delete", "delete"]
    [entry, *_] = store.history(events, "EventType")
    assert entry["note"] == "import (replace)"


def test_an_import_refuses_other_columns_for_an_existing_lookup(events: Engine) -> None:
    with pytest.raises(InvalidLookup) as raised:
        store.import_lookups(events, [store.Incoming("EventType", [], columns=("DERMS", "PROGRAM"))], True, ALICE)
    assert [p.field for p in raised.value.problems] == ["lookups.EventType.columns"]


def test_an_import_creates_a_lookup_that_does_not_exist(hub_db: Engine) -> None:
    [edit] = store.import_lookups(hub_db, [store.Incoming("New", [{"A": "1", "B": "2"}], columns=("A", "B"),
                                                          keys=("A", "B"), description="ours")], False, ALICE)
    assert edit.created and stored(hub_db, "New").keys == ("A", "B") and stored(hub_db, "New").description == "ours"


def test_seeding_is_idempotent(hub_db: Engine) -> None:
    assert sorted(store.seed(hub_db, SEEDS)) == sorted(lookup.name for lookup in SEEDS)
    before = store.load_all(hub_db)
    assert store.seed(hub_db, SEEDS) == []
    assert store.load_all(hub_db) == before
    assert stored(hub_db, EVENT_TYPE).value(DERMS, "EMERGENCY", DACS) == "X1EM"


def test_seeding_again_keeps_an_operators_edits_and_deletions_and_adds_only_new_rows(hub_db: Engine) -> None:
    store.seed(hub_db, SEEDS)
    spec = stored(hub_db, ASSET_SPEC)
    [first, second, *_] = spec.records()
    store.put_row(hub_db, ASSET_SPEC, DERMS, first[DERMS], {DACS: "EDITED"}, ALICE)
    store.delete_row(hub_db, ASSET_SPEC, DERMS, second[DERMS], ALICE)
    later_release = [replace(lookup, rows=(*lookup.rows, ("NEWMAKE!N1", "TSTAT-NEW"))) if lookup.name == ASSET_SPEC
                     else lookup for lookup in SEEDS]
    assert store.seed(hub_db, later_release) == [ASSET_SPEC]
    after = stored(hub_db, ASSET_SPEC)
    assert after.value(DERMS, first[DERMS], DACS) == "EDITED"
    assert after.find(DERMS, second[DERMS]) is None
    assert after.value(DERMS, "NEWMAKE!N1", DACS) == "TSTAT-NEW"
    [entry, *_] = store.history(hub_db, ASSET_SPEC)
    assert (entry["principal"], entry["person"], entry["note"]) == ("derbridge", "seed", "seed")
    assert store.seed(hub_db, later_release) == []


def test_a_running_hub_sees_another_processs_edit_once_it_checks_the_versions(events: Engine) -> None:
    now = [0.0]
    live = store.LiveLookups(events, check_interval_s=1.0, clock=lambda: now[0])
    assert live.snapshot().value("EventType", "DERMS", "EMERGENCY", "DACS") == "X1EM"
    store.put_row(events, "EventType", "DERMS", "EMERGENCY", {"DACS": "X1EX"}, ALICE)  # another process
    now[0] = 0.5
    assert live.snapshot().value("EventType", "DERMS", "EMERGENCY", "DACS") == "X1EM", "not checked yet"
    now[0] = 1.0
    assert live.snapshot().value("EventType", "DERMS", "EMERGENCY", "DACS") == "X1EX"


def test_invalidating_the_snapshot_shows_an_edit_at_once(events: Engine) -> None:
    live = store.LiveLookups(events, check_interval_s=3600.0, clock=lambda: 0.0)
    first = live.snapshot()
    assert live.snapshot() is first, "no reload while nothing changed"
    store.put_row(events, "EventType", "DERMS", "EMERGENCY", {"DACS": "X1EX"}, ALICE)
    live.invalidate()
    assert live.snapshot().value("EventType", "DACS", "X1EX", "DERMS") == "EMERGENCY"
