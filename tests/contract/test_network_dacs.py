"""The program system's network locations on both back ends: a network export file applied once, in DERMS's
order, all or nothing; and where a service point sat on any day."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from derbridge.dacs.network import queries as network
from derbridge.dacs.network.apply import apply_export
from derbridge.dacs.schema import network_exports, network_locations
from derbridge.errors import FileRefused, TooEarly

JAN_1, FEB_1, MAR_1, APR_1 = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1)
NORTH = ("T-1", "F-1", "S-1")
SOUTH = ("T-2", "F-2", "S-1")



def export_file(path: Path, rows: list[tuple[str, tuple[str, str, str], date]]) -> Path:
    pl.DataFrame([(sp, *location, day) for sp, location, day in rows], orient="row",
                 schema={"cisServicePointId": pl.String, "facilityId": pl.String, "feederId": pl.String,
                         "substationId": pl.String, "startDate": pl.Date}).write_parquet(path)
    return path


def parameters(export_id: str, previous: str | None = None, kind: str = "delta") -> network.ExportParameters:
    return network.ExportParameters(exportType=kind, exportId=export_id, asOf=JAN_1,  # type: ignore[arg-type]
                                    previousExportId=previous)


def apply(engine: Engine, tmp_path: Path, export_id: str, rows: list[Any], previous: str | None = None
          ) -> dict[str, Any]:
    file = export_file(tmp_path / f"{export_id}.parquet", rows)
    return apply_export(engine, parameters(export_id, previous), file, "parquet", "0" * 64)


def where(engine: Engine, service_point: str, day: date) -> tuple[str, ...] | None:
    found = network.location_on(engine, service_point, day)
    return None if found is None else (found["transformerId"], found["feederId"], found["substationId"])


def counts(result: dict[str, Any]) -> tuple[int, ...]:
    return tuple(result[k] for k in ("rows", "closed", "inserted", "unchanged", "backDated"))


def test_a_first_export_opens_a_record_per_service_point(dacs_db: Engine, tmp_path: Path) -> None:
    result = apply(dacs_db, tmp_path, "E1", [("SP-1", NORTH, JAN_1), ("SP-2", SOUTH, FEB_1)])
    assert result["result"] == "applied" and counts(result) == (2, 0, 2, 0, 0)
    assert where(dacs_db, "SP-1", JAN_1) == NORTH and where(dacs_db, "SP-2", JAN_1) is None


def test_a_later_export_closes_what_moved_and_leaves_the_rest(dacs_db: Engine, tmp_path: Path) -> None:
    apply(dacs_db, tmp_path, "E1", [("SP-1", NORTH, JAN_1), ("SP-2", SOUTH, JAN_1)])
    result = apply(dacs_db, tmp_path, "E2", [("SP-1", SOUTH, MAR_1), ("SP-2", SOUTH, JAN_1)], previous="E1")
    assert counts(result) == (2, 1, 1, 1, 0)
    assert (where(dacs_db, "SP-1", FEB_1), where(dacs_db, "SP-1", MAR_1)) == (NORTH, SOUTH)
    assert [(r["transformerId"], r["effectiveEnd"]) for r in network.history(dacs_db, "SP-1")] == [
        ("T-1", "2026-03-01"), ("T-2", None)]


def test_back_dated_rows_and_a_service_point_listed_twice_go_through_its_history(
        dacs_db: Engine, tmp_path: Path) -> None:
    apply(dacs_db, tmp_path, "E1", [("SP-1", NORTH, JAN_1), ("SP-2", NORTH, JAN_1)])
    apply(dacs_db, tmp_path, "E2", [("SP-1", SOUTH, MAR_1)], previous="E1")
    result = apply(dacs_db, tmp_path, "E3", [("SP-1", ("T-3", "F-1", "S-1"), FEB_1),  # back-dated
                                             ("SP-2", SOUTH, FEB_1), ("SP-2", NORTH, APR_1)], previous="E2")
    assert counts(result) == (3, 0, 0, 0, 3)
    assert [where(dacs_db, "SP-1", day) for day in (JAN_1, FEB_1, MAR_1)] == [NORTH, ("T-3", "F-1", "S-1"), SOUTH]
    assert [where(dacs_db, "SP-2", day) for day in (JAN_1, FEB_1, APR_1)] == [NORTH, SOUTH, NORTH]


def test_the_same_export_twice_is_applied_once(dacs_db: Engine, tmp_path: Path) -> None:
    first = apply(dacs_db, tmp_path, "E1", [("SP-1", NORTH, JAN_1)])
    again = apply(dacs_db, tmp_path, "E1", [("SP-1", SOUTH, FEB_1)])
    assert again["result"] == "already applied" and counts(again) == counts(first)
    assert where(dacs_db, "SP-1", APR_1) == NORTH


def test_an_export_waits_for_the_one_it_follows(dacs_db: Engine, tmp_path: Path) -> None:
    with pytest.raises(TooEarly, match="follows export E1"):
        apply(dacs_db, tmp_path, "E2", [("SP-1", SOUTH, MAR_1)], previous="E1")
    apply(dacs_db, tmp_path, "E1", [("SP-1", NORTH, JAN_1)])
    apply(dacs_db, tmp_path, "E2", [("SP-1", SOUTH, MAR_1)], previous="E1")
    assert (where(dacs_db, "SP-1", FEB_1), where(dacs_db, "SP-1", MAR_1)) == (NORTH, SOUTH)


def test_a_file_with_bad_rows_is_refused_naming_them_and_nothing_is_applied(dacs_db: Engine, tmp_path: Path) -> None:
    file = tmp_path / "bad.csv"
    file.write_text("cisServicePointId,facilityId,feederId,substationId,startDate\n"
                    "SP-1,T-1,F-1,S-1,2026-01-01\n"
                    "SP-2,,F-1,S-1,2026-01-01\n"
                    "SP-3,T-1,F-1,S-1,2026-02-30\n"
                    f"{'X' * 31},T-1,F-1,S-1,2026-01-01\n")
    with pytest.raises(FileRefused) as refused:
        apply_export(dacs_db, parameters("E1"), file, "csv", "0" * 64)
    assert [(e["field"], e["type"], e["rows"]) for e in refused.value.errors] == [
        ("cisServicePointId", "too_long", [4]), ("facilityId", "missing", [2]), ("startDate", "not_a_date", [3])]
    file.write_text("cisServicePointId,facilityId,feederId,substationId\nSP-1,T-1,F-1,S-1\n")
    with pytest.raises(FileRefused) as refused:
        apply_export(dacs_db, parameters("E1"), file, "csv", "0" * 64)
    assert refused.value.errors == [{"field": "startDate", "type": "missing_column",
                                     "message": "the file has no such column"}]
    with dacs_db.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(network_locations)).scalar_one() == 0
        assert connection.execute(sa.select(sa.func.count()).select_from(network_exports)).scalar_one() == 0


def test_a_service_point_twice_on_one_date_is_refused(dacs_db: Engine, tmp_path: Path) -> None:
    with pytest.raises(FileRefused) as refused:
        apply(dacs_db, tmp_path, "E1", [("SP-1", NORTH, JAN_1), ("SP-1", SOUTH, JAN_1)])
    assert [(e["field"], e["type"], e["rows"]) for e in refused.value.errors] == [
        ("cisServicePointId+startDate", "duplicate_key", [1, 2])]


def test_a_large_export_reads_every_open_record_and_gives_the_same_answer(
        dacs_db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    apply(dacs_db, tmp_path, "E1", [(f"SP-{n}", NORTH, JAN_1) for n in range(30)])
    monkeypatch.setattr("derbridge.dacs.network.apply.FEW_ROWS", 5)
    result = apply(dacs_db, tmp_path, "E2", [(f"SP-{n}", SOUTH if n % 3 == 0 else NORTH, MAR_1)
                                             for n in range(0, 40)], previous="E1")
    assert counts(result) == (40, 10, 20, 20, 0)
    assert where(dacs_db, "SP-3", MAR_1) == SOUTH and where(dacs_db, "SP-35", APR_1) is not None
