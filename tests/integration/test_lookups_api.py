"""The hub's lookup API on a running stack: operators only, every edit audited under who made it, bad rows
refused naming row and column with nothing applied, and changes used by the running hub without a restart."""

from __future__ import annotations

from typing import Any

import pytest

from derbridge.bootstrap import BackgroundSystems
from derbridge.hub import lookup_store
from derbridge.hub.lookup_catalog import ASSET_SPEC, CONNECTION_ID, EVENT_TYPE, SEEDS
from derbridge.store.db import make_engine
from derbridge.web.auth import outbound_credential
from derbridge.web.client import make_client
from derbridge.web.operator import checked, operator_client, wait_for

ACTOR = {"X-Derbridge-Actor": "Alice Example"}


@pytest.fixture(scope="module")
def hub(running_stack: BackgroundSystems) -> Any:
    with operator_client(running_stack.settings, "hub") as client:
        yield client


def new_lookup(hub: Any, name: str, rows: list[dict[str, str]] | None = None) -> dict[str, Any]:
    body = {"name": name, "columns": ["DERMS", "DACS"], "keys": ["DERMS", "DACS"], "description": "a test lookup",
            "rows": rows if rows is not None else [{"DERMS": "A", "DACS": "1"}, {"DERMS": "B", "DACS": "2"}]}
    return checked(hub.post("/hub/api/lookups", json=body, headers=ACTOR))


def translated(hub: Any, name: str, from_: str, key: str, to: str) -> Any:
    response = hub.get(f"/hub/api/lookups/{name}/value", params={"from": from_, "key": key, "to": to})
    return response.json()["value"] if response.status_code == 200 else response.status_code


def history(hub: Any, name: str) -> list[dict[str, Any]]:
    return checked(hub.get("/hub/api/lookup-history", params={"lookup": name}))


def assert_problem(response: Any, status: int, fields: set[str]) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert {error["field"] for error in response.json()["errors"]} == fields


def test_the_hub_starts_with_every_seeded_lookup(hub: Any) -> None:
    listed = {entry["name"]: entry for entry in checked(hub.get("/hub/api/lookups"))}
    assert {lookup.name for lookup in SEEDS} <= set(listed)
    assert listed[CONNECTION_ID]["keys"] == ["DERMS", "DACS"] and listed[ASSET_SPEC]["keys"] == ["DERMS"]
    assert translated(hub, EVENT_TYPE, "DERMS", "EMERGENCY", "DACS") == "X1EM"


def test_one_lookup_shows_with_its_rows_as_json_or_csv(hub: Any) -> None:
    new_lookup(hub, "ShowMe")
    shown = checked(hub.get("/hub/api/lookups/ShowMe"))
    assert shown["rows"] == [{"DERMS": "A", "DACS": "1"}, {"DERMS": "B", "DACS": "2"}] and shown["version"] == 1
    as_csv = hub.get("/hub/api/lookups/ShowMe", params={"format": "csv"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.text == "DERMS,DACS\nA,1\nB,2\n"
    assert hub.get("/hub/api/lookups/Nothing").status_code == 404


def test_a_row_edit_is_used_by_the_running_hub_at_once_and_audited_under_the_person(hub: Any) -> None:
    new_lookup(hub, "Live")
    assert translated(hub, "Live", "DERMS", "A", "DACS") == "1"
    answer = checked(hub.put("/hub/api/lookups/Live/rows", json={"key": {"DERMS": "A"}, "values": {"DACS": "9"}},
                             headers=ACTOR))
    assert (answer["version"], answer["replaced"]) == (2, 1)
    assert translated(hub, "Live", "DERMS", "A", "DACS") == "9"
    assert translated(hub, "Live", "DACS", "9", "DERMS") == "A"
    [entry, *_] = history(hub, "Live")
    assert (entry["action"], entry["rowKey"], entry["principal"], entry["person"]) == ("replace", "A", "operator",
                                                                                      "Alice Example")
    assert (entry["old"]["DACS"], entry["new"]["DACS"]) == ("1", "9")


def test_a_change_written_by_another_hub_process_is_picked_up_without_a_restart(
        running_stack: BackgroundSystems, hub: Any) -> None:
    new_lookup(hub, "Elsewhere")
    assert translated(hub, "Elsewhere", "DERMS", "B", "DACS") == "2"
    other_process = make_engine(running_stack.settings.database_url("hub"))
    lookup_store.put_row(other_process, "Elsewhere", "DERMS", "B", {"DACS": "7"}, lookup_store.Actor("operator"))
    other_process.dispose()
    wait_for(lambda: translated(hub, "Elsewhere", "DERMS", "B", "DACS") == "7", 15, "the hub to reload lookups")


def test_rows_are_added_and_deleted(hub: Any) -> None:
    new_lookup(hub, "Rows")
    added = checked(hub.put("/hub/api/lookups/Rows/rows", json={"key": {"DERMS": "C"}, "values": {"DACS": "3"}}))
    assert added["added"] == 1
    deleted = checked(hub.delete("/hub/api/lookups/Rows/rows", params={"column": "DACS", "value": "1"}))
    assert deleted["deleted"] == 1 and deleted["changes"][0]["old"] == {"DERMS": "A", "DACS": "1"}
    assert [r["DERMS"] for r in checked(hub.get("/hub/api/lookups/Rows"))["rows"]] == ["B", "C"]
    assert translated(hub, "Rows", "DERMS", "A", "DACS") == 404
    assert hub.delete("/hub/api/lookups/Rows/rows", params={"column": "DACS", "value": "1"}).status_code == 404


def test_a_row_edit_breaking_uniqueness_is_refused_and_kept_and_changes_nothing(hub: Any) -> None:
    new_lookup(hub, "Unique")
    response = hub.put("/hub/api/lookups/Unique/rows", json={"key": {"DERMS": "C"}, "values": {"DACS": "1"}},
                       headers=ACTOR)
    assert_problem(response, 422, {"row.DACS"})
    assert checked(hub.get("/hub/api/lookups/Unique"))["version"] == 1
    [entry, *_] = history(hub, "Unique")
    assert entry["action"] == "refuse" and "row.DACS" in entry["note"]
    assert entry["new"].endswith('"values":{"DACS":"1"}}'), "the request is kept as it came"


def test_an_unknown_key_column_is_refused_naming_it(hub: Any) -> None:
    new_lookup(hub, "Columns")
    response = hub.put("/hub/api/lookups/Columns/rows", json={"key": {"PROGRAM": "A"}, "values": {}})
    assert_problem(response, 422, {"column"})
    assert_problem(hub.put("/hub/api/lookups/Columns/rows", json={"key": {}, "values": {}}), 422, {"key"})


def test_a_csv_import_with_a_bad_row_applies_nothing_and_names_row_and_column(hub: Any) -> None:
    new_lookup(hub, "CsvBad")
    body = "DERMS,DACS\nC,3\nD,\nE,3\n"
    response = hub.post("/hub/api/lookups/CsvBad/import", params={"mode": "replace"}, content=body,
                        headers={"Content-Type": "text/csv", **ACTOR})
    assert_problem(response, 422, {"rows.2.DACS", "rows.3.DACS"})
    assert checked(hub.get("/hub/api/lookups/CsvBad"))["rows"] == [{"DERMS": "A", "DACS": "1"},
                                                                   {"DERMS": "B", "DACS": "2"}]
    [entry, *_] = history(hub, "CsvBad")
    assert entry["action"] == "refuse" and entry["new"].endswith(body) and entry["person"] == "Alice Example"


def test_a_csv_row_with_the_wrong_number_of_cells_is_named(hub: Any) -> None:
    new_lookup(hub, "CsvCells")
    response = hub.post("/hub/api/lookups/CsvCells/import", content="DERMS,DACS\nC,3,extra\n",
                        headers={"Content-Type": "text/csv"})
    assert_problem(response, 422, {"rows.1"})


def test_csv_import_merges_or_replaces_and_round_trips_with_export(hub: Any) -> None:
    new_lookup(hub, "CsvGood")
    merged = checked(hub.post("/hub/api/lookups/CsvGood/import", content="DACS,DERMS\n3,C\n22,B\n",
                              headers={"Content-Type": "text/csv"}))
    assert merged["lookups"] == [{"lookup": "CsvGood", "version": 2, "created": False, "added": 1, "replaced": 1,
                                  "deleted": 0}]
    exported = hub.get("/hub/api/lookups/CsvGood", params={"format": "csv"}).text
    assert exported == "DERMS,DACS\nA,1\nB,22\nC,3\n"
    replaced = checked(hub.post("/hub/api/lookups/CsvGood/import", params={"mode": "replace"},
                                content="DERMS,DACS\nC,3\n", headers={"Content-Type": "text/csv"}))
    assert replaced["lookups"][0]["deleted"] == 2
    again = checked(hub.post("/hub/api/lookups/CsvGood/import", params={"mode": "replace"},
                             content=hub.get("/hub/api/lookups/CsvGood", params={"format": "csv"}).text,
                             headers={"Content-Type": "text/csv"}))
    assert again["lookups"][0]["version"] == 3, "importing what was exported changes nothing"


def test_csv_import_needs_an_existing_lookup_and_a_known_media_type(hub: Any) -> None:
    response = hub.post("/hub/api/lookups/NotYet/import", content="A,B\n1,2\n", headers={"Content-Type": "text/csv"})
    assert response.status_code == 404
    new_lookup(hub, "Media")
    assert_problem(hub.post("/hub/api/lookups/Media/import", content="A;B", headers={"Content-Type": "text/plain"}),
                   415, {"header.content-type"})


def test_the_export_document_imports_back_unchanged_and_can_create_lookups(hub: Any) -> None:
    document = checked(hub.get("/hub/api/lookup-export"))
    assert {lookup.name for lookup in SEEDS} <= {entry["name"] for entry in document["lookups"]}
    again = checked(hub.post("/hub/api/lookup-import", json=document))
    assert all(entry["added"] == entry["replaced"] == entry["deleted"] == 0 for entry in again["lookups"])
    created = checked(hub.post("/hub/api/lookup-import", json={"lookups": [
        {"name": "Imported", "columns": ["DERMS", "DACS"], "rows": [{"DERMS": "X", "DACS": "Y"}]}]}))
    assert created["lookups"][0]["created"] is True
    assert translated(hub, "Imported", "DERMS", "X", "DACS") == "Y"


def test_a_bad_lookup_in_a_multi_import_refuses_all_of_it(hub: Any) -> None:
    response = hub.post("/hub/api/lookup-import", params={"mode": "replace"}, json={"lookups": [
        {"name": "FirstGood", "columns": ["A", "B"], "rows": [{"A": "1", "B": "2"}]},
        {"name": EVENT_TYPE, "rows": [{"DERMS": "ECONOMIC", "DACS": "X1EC"}, {"DERMS": "EMERGENCY", "DACS": "X1EC"}]},
    ]})
    assert_problem(response, 422, {f"lookups.{EVENT_TYPE}.rows.2.DACS"})
    assert hub.get("/hub/api/lookups/FirstGood").status_code == 404
    assert translated(hub, EVENT_TYPE, "DERMS", "EMERGENCY", "DACS") == "X1EM"


def test_creating_a_lookup_twice_conflicts_and_a_bad_definition_is_named(hub: Any) -> None:
    new_lookup(hub, "Twice")
    assert hub.post("/hub/api/lookups", json={"name": "Twice", "columns": ["A", "B"]}).status_code == 409
    response = hub.post("/hub/api/lookups", json={"name": "Bad", "columns": ["A", "B"], "keys": ["C"]})
    assert_problem(response, 422, {"keys"})


def test_a_malformed_actor_header_is_refused(hub: Any) -> None:
    response = hub.put("/hub/api/lookups/Twice/rows", json={"key": {"DERMS": "A"}, "values": {"DACS": "5"}},
                       headers={"X-Derbridge-Actor": "x" * 101})
    assert_problem(response, 422, {"header.x-derbridge-actor"})


@pytest.mark.parametrize("caller", ["dacs", "derms"])
def test_only_operators_may_read_or_change_lookups(running_stack: BackgroundSystems, caller: str) -> None:
    settings = running_stack.settings
    with make_client(settings.url("hub"), outbound_credential(settings, caller, "hub"), 10) as client:
        assert client.get("/hub/api/lookups").status_code == 403
        assert client.put(f"/hub/api/lookups/{EVENT_TYPE}/rows",
                          json={"key": {"DERMS": "EMERGENCY"}, "values": {"DACS": "X"}}).status_code == 403
    with make_client(settings.url("hub"), "", 10) as stranger:
        assert stranger.get("/hub/api/lookup-export").status_code == 401
