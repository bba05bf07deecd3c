"""Lookups as data: translation, missing keys, reversibility and uniqueness, snapshots built in memory."""

from __future__ import annotations

from pathlib import Path

import pytest

from derbridge.dataset.fleets import DEVICE_MODELS, THERMOSTAT
from derbridge.errors import PermanentError
from derbridge.hub import lookup_catalog as catalog
from derbridge.hub.lookups import InvalidLookup, Lookup, LookupMissing, Lookups, changes
from derbridge.scenario import aggregator

EVENTS = {"EventType": {"columns": ["DERMS", "DACS"], "keys": ["DERMS", "DACS"],
                        "rows": [{"DERMS": "ECONOMIC", "DACS": "X1EC"}, {"DERMS": "EMERGENCY", "DACS": "X1EM"}]},
          "AssetSpec": {"columns": ["DERMS", "DACS"],
                        "rows": [{"DERMS": "ECOTHERM!ET300", "DACS": "TSTAT-ECO-ET300"},
                                 {"DERMS": "KELVIN!K2", "DACS": "TSTAT-GENERIC"},
                                 {"DERMS": "KELVIN!K3", "DACS": "TSTAT-GENERIC"}]}}


def fields_of(error: InvalidLookup) -> set[str]:
    return {problem.field for problem in error.problems}


def test_a_snapshot_built_from_a_dict_translates_a_key_to_another_column() -> None:
    lookups = Lookups.from_dict(EVENTS)
    assert lookups.value("EventType", "DERMS", "EMERGENCY", "DACS") == "X1EM"
    assert lookups.value("AssetSpec", "DERMS", "ECOTHERM!ET300", "DACS") == "TSTAT-ECO-ET300"


def test_a_reversible_lookup_translates_both_ways() -> None:
    lookups = Lookups.from_dict(EVENTS)
    assert lookups.value("EventType", "DACS", "X1EC", "DERMS") == "ECONOMIC"


def test_a_missing_key_raises_a_permanent_error_naming_lookup_column_and_key() -> None:
    with pytest.raises(LookupMissing) as raised:
        Lookups.from_dict(EVENTS).value("EventType", "DERMS", "RELIABILITY", "DACS")
    assert isinstance(raised.value, PermanentError)
    assert (raised.value.lookup, raised.value.column, raised.value.key) == ("EventType", "DERMS", "RELIABILITY")
    assert raised.value.missing == "row"
    assert "EventType" in str(raised.value) and "DERMS" in str(raised.value) and "RELIABILITY" in str(raised.value)


def test_find_answers_none_for_a_missing_key_but_still_refuses_an_unknown_column() -> None:
    lookups = Lookups.from_dict(EVENTS)
    assert lookups.find("EventType", "DERMS", "RELIABILITY", "DACS") is None
    assert lookups.find("EventType", "DERMS", "ECONOMIC", "DACS") == "X1EC"
    with pytest.raises(LookupMissing) as raised:
        lookups.find("EventType", "DERMS", "ECONOMIC", "CATEGORY")
    assert raised.value.missing == "column"


def test_an_unknown_lookup_is_missing_too() -> None:
    with pytest.raises(LookupMissing) as raised:
        Lookups.from_dict(EVENTS).value("Nothing", "DERMS", "X", "DACS")
    assert raised.value.missing == "lookup" and "Nothing" in str(raised.value)


def test_a_lookup_translates_only_from_its_key_columns() -> None:
    """AssetSpec is keyed by DERMS only: two models share a specification, so it cannot be reversed."""
    with pytest.raises(LookupMissing, match="not a key"):
        Lookups.from_dict(EVENTS).value("AssetSpec", "DACS", "TSTAT-GENERIC", "DERMS")


def test_values_of_a_key_column_must_be_unique_and_the_second_row_is_named() -> None:
    with pytest.raises(InvalidLookup) as raised:
        Lookup.build("EventType", ["DERMS", "DACS"], [{"DERMS": "ECONOMIC", "DACS": "X1EC"},
                                                     {"DERMS": "EMERGENCY", "DACS": "X1EC"}], keys=["DERMS", "DACS"])
    [problem] = raised.value.problems
    assert problem.field == "rows.2.DACS" and "row 1" in problem.message and problem.type == "duplicate_key"


def test_every_bad_cell_is_named_by_row_number_from_one_and_column() -> None:
    rows = [{"DERMS": "A", "DACS": "1"}, {"DERMS": "", "DACS": 2}, {"DERMS": "C"}, {"DERMS": "D", "DACS": "4",
                                                                                      "EXTRA": "x"}]
    with pytest.raises(InvalidLookup) as raised:
        Lookup.build("L", ["DERMS", "DACS"], rows)
    assert fields_of(raised.value) == {"rows.2.DERMS", "rows.2.DACS", "rows.3.DACS", "rows.4.EXTRA"}


def test_a_definition_needs_two_columns_and_keys_among_them() -> None:
    with pytest.raises(InvalidLookup) as raised:
        Lookup.build("bad name", ["ONLY"], [], keys=["OTHER"])
    assert fields_of(raised.value) == {"name", "columns", "keys"}


def test_merging_replaces_rows_by_their_first_key_and_keeps_the_rest_in_place() -> None:
    lookup = Lookups.from_dict(EVENTS).get("EventType")
    merged = lookup.merged([{"DERMS": "EMERGENCY", "DACS": "X1EX"}, {"DERMS": "DEVICE_TEST", "DACS": "X1DT"}])
    assert merged.records() == [{"DERMS": "ECONOMIC", "DACS": "X1EC"}, {"DERMS": "EMERGENCY", "DACS": "X1EX"},
                                {"DERMS": "DEVICE_TEST", "DACS": "X1DT"}]
    assert [(c.action, c.row_key) for c in changes(lookup, merged)] == [("replace", "EMERGENCY"),
                                                                        ("add", "DEVICE_TEST")]


def test_a_merge_that_clashes_with_a_kept_row_names_the_incoming_row() -> None:
    lookup = Lookups.from_dict(EVENTS).get("EventType")
    with pytest.raises(InvalidLookup) as raised:
        lookup.merged([{"DERMS": "RELIABILITY", "DACS": "X1RE"}, {"DERMS": "DEVICE_TEST", "DACS": "X1EC"}])
    [problem] = raised.value.problems
    assert problem.field == "rows.2.DACS" and "ECONOMIC" in problem.message


def test_upserting_changes_the_found_row_or_adds_one_and_deleting_removes_it() -> None:
    lookup = Lookups.from_dict(EVENTS).get("EventType")
    changed = lookup.upserted("DACS", "X1EM", {"DERMS": "EMERGENCY-2"})
    assert changed.value("DACS", "X1EM", "DERMS") == "EMERGENCY-2"
    added = changed.upserted("DERMS", "RELIABILITY", {"DACS": "X1RE"})
    assert added.value("DERMS", "RELIABILITY", "DACS") == "X1RE"
    assert [c.action for c in changes(lookup, added)] == ["delete", "add", "add"]  # the first key changed
    removed = added.without("DERMS", "ECONOMIC")
    assert removed.find("DERMS", "ECONOMIC") is None and len(removed.rows) == 2
    with pytest.raises(LookupMissing):
        removed.without("DERMS", "ECONOMIC")


def test_an_upsert_that_leaves_a_new_row_incomplete_is_refused_naming_the_column() -> None:
    lookup = Lookups.from_dict(EVENTS).get("EventType")
    with pytest.raises(InvalidLookup) as raised:
        lookup.upserted("DERMS", "RELIABILITY", {})
    assert fields_of(raised.value) == {"row.DACS"}


def test_the_catalogue_seeds_every_lookup_the_flows_name_with_its_vendor_name() -> None:
    names = {lookup.name for lookup in catalog.SEEDS}
    assert names == {catalog.ROUTING, catalog.CONNECTION_ID, catalog.ASSET_SPEC, catalog.ASSET_TYPE,
                     catalog.EVENT_TYPE, catalog.ENROLLMENT_STATUS, catalog.ALLOW_EVENT_DAYS, catalog.CYCLE_FREQUENCY}
    assert all(lookup.description for lookup in catalog.SEEDS)


def test_the_seeds_cover_every_device_model_of_the_dataset_and_what_the_aggregators_send() -> None:
    """The seeds are the hub's own data; a generated dataset must still enroll without a lookup edit."""
    lookups = Lookups.of(catalog.SEEDS)
    for model in DEVICE_MODELS:
        assert lookups.value(catalog.ASSET_SPEC, catalog.DERMS, model.make_model, catalog.DACS) == model.specification
    assert lookups.value(catalog.ASSET_TYPE, catalog.DERMS, aggregator.ASSET_TYPE, catalog.DACS) == THERMOSTAT
    assert {model.asset_type for model in DEVICE_MODELS} == {THERMOSTAT}


def test_the_hub_does_not_import_the_dataset_generator() -> None:
    hub = Path(catalog.__file__).parent
    assert not [path.name for path in hub.rglob("*.py") if "derbridge.dataset" in path.read_text()]


@pytest.mark.parametrize(("derms", "dacs"), [("ECONOMIC", "X1EC"), ("EMERGENCY", "X1EM"), ("RELIABILITY", "X1RE"),
                                             ("DEVICE-TEST", "X1DT")])
def test_event_types_map_to_program_event_categories_both_ways(derms: str, dacs: str) -> None:
    lookups = Lookups.of(catalog.SEEDS)
    assert lookups.value(catalog.EVENT_TYPE, catalog.DERMS, derms, catalog.DACS) == dacs
    assert lookups.value(catalog.EVENT_TYPE, catalog.DACS, dacs, catalog.DERMS) == derms


def test_divisions_and_connection_ids_are_reversible() -> None:
    lookups = Lookups.of(catalog.SEEDS)
    for division in ("ELEC-N", "ELEC-S"):
        connection = lookups.value(catalog.CONNECTION_ID, catalog.DACS, division, catalog.DERMS)
        assert lookups.value(catalog.CONNECTION_ID, catalog.DERMS, connection, catalog.DACS) == division
