"""DERMS's network model on both back ends: imports checked whole, moves that date their change, exports that
hold what changed; any sequence of changes stored and read back is what the pure rules give."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from derbridge.derms.network import model as network
from derbridge.derms.network.connections import ChangeRefused, check_history
from derbridge.derms.network.files import IMPORT_ORDER, create_export, import_file
from derbridge.derms.schema import network_changes, network_exports, outbound_files, service_point_connections
from derbridge.errors import FileRefused
from tests.networks import JAN_1, SERVICE_POINTS, Move, Network, Refeed, changes, write_network

MAR_1, APR_1 = date(2026, 3, 1), date(2026, 4, 1)



def imported(engine: Engine, directory: Path, fmt: str = "csv") -> list[dict[str, object]]:
    write_network(directory, fmt)
    return [import_file(engine, name, directory / f"{name}.{fmt}", fmt) for name in IMPORT_ORDER]  # type: ignore[arg-type]


def stored(engine: Engine) -> dict[str, list[network.Record]]:
    with engine.connect() as connection:
        return {sp: network.history(connection, sp) for sp in SERVICE_POINTS}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_the_network_files_import_parents_first_and_a_second_import_changes_nothing(
        derms_db: Engine, tmp_path: Path, fmt: str) -> None:
    first = imported(derms_db, tmp_path, fmt)
    assert [(r["table"], r["inserted"]) for r in first] == [
        ("substations", 2), ("feeders", 3), ("transformers", 3), ("service_point_locations", 3)]
    again = imported(derms_db, tmp_path, fmt)
    assert [(r["inserted"], r["updated"], r["unchanged"]) for r in again] == [(0, 0, 2), (0, 0, 3), (0, 0, 3),
                                                                             (0, 0, 3)]
    summary = network.summary(derms_db)
    assert [summary[k] for k in ("substations", "feeders", "transformers", "servicePoints")] == [2, 3, 3, 3]


def test_an_import_updates_the_attributes_of_known_elements(derms_db: Engine, tmp_path: Path) -> None:
    imported(derms_db, tmp_path)
    frame = pl.read_csv(tmp_path / "transformers.csv").with_columns(capacityKw=pl.lit(75.0))
    frame.write_csv(tmp_path / "transformers.csv")
    result = import_file(derms_db, "transformers", tmp_path / "transformers.csv", "csv")
    assert (result["updated"], result["unchanged"]) == (3, 0)


def test_a_file_with_unknown_or_inconsistent_rows_is_refused_naming_them_and_nothing_is_applied(
        derms_db: Engine, tmp_path: Path) -> None:
    imported(derms_db, tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_text("cisServicePointId,transformerId,feederId,substationId,effectiveStartDate\n"
                   "SP-9,T-1,F-1,S-1,2026-01-01\n"     # fine, but the file is refused whole
                   "SP-10,T-9,F-1,S-1,2026-01-01\n"    # no such transformer
                   "SP-11,T-1,F-2,S-1,2026-01-01\n"    # T-1 is on F-1
                   "SP-1,T-2,F-2,S-1,2026-01-01\n"     # SP-1 is on T-1: a move, not an import
                   "SP-12,T-1,F-1,S-1,not a date\n")
    with pytest.raises(FileRefused) as refused:
        import_file(derms_db, "service_point_locations", bad, "csv")
    assert [(e["field"], e["type"], e["rows"]) for e in refused.value.errors] == [
        ("effectiveStartDate", "not_a_date", [5])]
    bad.write_text(bad.read_text().replace("not a date", "2026-01-01"))
    with pytest.raises(FileRefused) as refused:
        import_file(derms_db, "service_point_locations", bad, "csv")
    assert [(e["field"], e["type"], e["rows"]) for e in refused.value.errors] == [
        ("transformerId", "unknown_reference", [2]), ("feederId", "inconsistent", [3]),
        ("transformerId", "changed_by_import", [4])]
    assert network.summary(derms_db)["servicePoints"] == 3


def test_feeders_refer_to_imported_substations(derms_db: Engine, tmp_path: Path) -> None:
    write_network(tmp_path)
    with pytest.raises(FileRefused) as refused:
        import_file(derms_db, "feeders", tmp_path / "feeders.csv", "csv")
    assert {e["field"] for e in refused.value.errors} == {"substationId"}
    assert refused.value.errors[0]["count"] == 3


def test_moves_date_their_change_and_refuse_to_rewrite_later_history(derms_db: Engine, tmp_path: Path) -> None:
    imported(derms_db, tmp_path)
    moved = network.move_service_point(derms_db, "SP-1", "T-2", MAR_1)
    assert [(c["transformerId"], c["effectiveStart"], c["effectiveEnd"]) for c in moved["connections"]] == [
        ("T-1", "2026-01-01", "2026-03-01"), ("T-2", "2026-03-01", None)]
    with pytest.raises(ChangeRefused):
        network.move_service_point(derms_db, "SP-1", "T-3", MAR_1 - timedelta(days=1))
    refed = network.move_transformer(derms_db, "T-2", "F-3", APR_1)
    assert refed["servicePoints"] == 2  # SP-1 (since March 1) and SP-2
    assert [(r.feeder_id, r.substation_id, r.effective_start) for r in stored(derms_db)["SP-1"]] == [
        ("F-1", "S-1", JAN_1), ("F-2", "S-1", MAR_1), ("F-3", "S-2", APR_1)]
    with pytest.raises(ChangeRefused):
        network.move_transformer(derms_db, "T-2", "F-1", MAR_1)
    with pytest.raises(ChangeRefused):  # T-2 is on F-3 only from April 1
        network.move_service_point(derms_db, "SP-3", "T-2", MAR_1)
    with pytest.raises(network.NotFound):
        network.move_service_point(derms_db, "SP-404", "T-2", APR_1)
    with pytest.raises(network.NotFound):
        network.move_transformer(derms_db, "T-2", "F-404", APR_1)
    assert network.move_transformer(derms_db, "T-2", "F-3", APR_1)["changeSeq"] is None


def test_a_full_export_then_deltas_hold_what_changed_and_each_follows_the_previous(
        derms_db: Engine, tmp_path: Path) -> None:
    imported(derms_db, tmp_path)
    full = create_export(derms_db, tmp_path / "exports", "full", JAN_1)
    assert (full["rows"], full["previousExportId"], full["status"]) == (3, None, "PENDING")
    assert create_export(derms_db, tmp_path / "exports", "delta", JAN_1)["exportId"] is None
    network.move_service_point(derms_db, "SP-1", "T-2", MAR_1)
    delta = create_export(derms_db, tmp_path / "exports", "delta", MAR_1)
    assert delta["previousExportId"] == full["exportId"]
    rows = pl.read_parquet(delta["file"])
    assert rows.columns == ["servicePointId", "transformerId", "feederId", "substationId", "effectiveDate"]
    assert rows.rows() == [("SP-1", "T-2", "F-2", "S-1", MAR_1)]  # the record it ends needs no second telling
    with derms_db.connect() as connection:
        queued = connection.execute(sa.select(outbound_files.c.path).where(
            outbound_files.c.message_key == f"network-export:{delta['exportId']}")).scalar_one()
    assert queued.startswith("/hub/files/from-derms/networkLocations?exportType=delta")
    assert f"previousExportId={full['exportId']}" in queued


def test_a_delta_after_a_transformer_move_holds_one_new_record_per_service_point_on_it(
        derms_db: Engine, tmp_path: Path) -> None:
    imported(derms_db, tmp_path)
    network.move_service_point(derms_db, "SP-3", "T-1", MAR_1)
    create_export(derms_db, tmp_path / "exports", "full", JAN_1)
    network.move_transformer(derms_db, "T-1", "F-2", APR_1)
    delta = create_export(derms_db, tmp_path / "exports", "delta", APR_1)
    assert pl.read_parquet(delta["file"]).rows() == [("SP-1", "T-1", "F-2", "S-1", APR_1),
                                                     ("SP-3", "T-1", "F-2", "S-1", APR_1)]


def test_a_full_export_as_of_a_date_leaves_records_that_ended_before_it_unless_just_written(
        derms_db: Engine, tmp_path: Path) -> None:
    imported(derms_db, tmp_path)
    network.move_service_point(derms_db, "SP-1", "T-2", MAR_1)
    create_export(derms_db, tmp_path / "exports", "delta", JAN_1)
    later = create_export(derms_db, tmp_path / "exports", "full", APR_1)
    assert sorted(pl.read_parquet(later["file"])["effectiveDate"].to_list()) == [JAN_1, JAN_1, MAR_1]


def test_an_export_refused_by_the_hub_is_not_followed(derms_db: Engine, tmp_path: Path) -> None:
    imported(derms_db, tmp_path)
    first = create_export(derms_db, tmp_path / "exports", "full", JAN_1)
    with derms_db.begin() as connection:
        connection.execute(sa.update(outbound_files).values(status="FAILED"))
    second = create_export(derms_db, tmp_path / "exports", "full", JAN_1)
    assert second["previousExportId"] is None and second["exportId"] != first["exportId"]
    chained = create_export(derms_db, tmp_path / "exports", "full", JAN_1, new_chain=True)
    assert chained["previousExportId"] is None
    with derms_db.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(network_exports)).scalar_one() == 3


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=st.lists(changes, max_size=12))
def test_any_sequence_of_changes_stored_and_read_back_is_what_the_rules_give(
        derms_db: Engine, tmp_path_factory: pytest.TempPathFactory, sequence: list[Move | Refeed]) -> None:
    with derms_db.begin() as connection:
        for table in (service_point_connections, network_changes):
            connection.execute(sa.delete(table))
        connection.execute(sa.text("DELETE FROM transformers"))
        connection.execute(sa.text("DELETE FROM feeders"))
        connection.execute(sa.text("DELETE FROM substations"))
    imported(derms_db, tmp_path_factory.mktemp("network"))
    model = Network.imported()
    for change in sequence:
        model.apply(change)
        try:
            if isinstance(change, Move):
                network.move_service_point(derms_db, change.service_point, change.transformer, change.day)
            else:
                network.move_transformer(derms_db, change.transformer, change.feeder, change.day)
        except ChangeRefused:
            pass
        histories = stored(derms_db)
        for history in histories.values():
            check_history(history)
        assert histories == model.histories
