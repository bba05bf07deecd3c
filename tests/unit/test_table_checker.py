"""Checking a table file against its spec: every problem named in one format (its column, kind, count and first
rows), whichever chunk it is in; keys given once and rows that must agree, across chunks too."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from derbridge.errors import FileRefused
from derbridge.tables import read
from derbridge.tables.check import check_file, read_checked
from derbridge.tables.refusals import ROWS_NAMED
from derbridge.tables.spec import Agreement, FileColumn, FileSpec


def csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "t.csv"
    path.write_text(text)
    return path


def parquet(tmp_path: Path, columns: dict[str, Any]) -> Path:
    path = tmp_path / "t.parquet"
    pl.DataFrame(columns).write_parquet(path)
    return path


def refused(spec: FileSpec, path: Path) -> FileRefused:
    with pytest.raises(FileRefused) as refusal:
        check_file(spec, path, "parquet" if path.suffix == ".parquet" else "csv")
    return refusal.value


def found(spec: FileSpec, path: Path) -> list[tuple[str, str, list[int]]]:
    """Each error's column, kind and rows."""
    return [(error["field"], error["type"], error["rows"]) for error in refused(spec, path).errors]


def one(name: str, kind: Any = "text", **rules: Any) -> FileSpec:
    return FileSpec("t", (FileColumn(name, kind, **rules),))


@pytest.mark.parametrize(("kind", "good", "bad", "expected"), [
    ("date", "2026-02-28", "2026-02-30", "is not a date (YYYY-MM-DD)"),
    ("datetime", "2026-02-28T10:00:00+01:00", "28/02/2026 10:00", "is not an ISO 8601 date-time"),
    ("number", "-1.5e3", "12kW", "is not a number"),
    ("integer", "42", "4.2", "is not an integer"),
    ("boolean", "Yes", "perhaps", "is not true or false"),
])
def test_a_value_that_does_not_read_as_its_kind_is_named(tmp_path: Path, kind: str, good: str, bad: str,
                                                          expected: str) -> None:
    error = refused(one("v", kind), csv(tmp_path, f"v\n{good}\n{bad}\n")).errors[0]
    assert error == {"field": "v", "type": f"not_a_{kind}", "message": f"{expected} (1 row)", "count": 1,
                     "rows": [2]}


def test_values_read_as_their_kind_with_surrounding_blanks_ignored(tmp_path: Path) -> None:
    spec = FileSpec("t", (FileColumn("day", "date"), FileColumn("at", "datetime"), FileColumn("kw", "number"),
                          FileColumn("n", "integer"), FileColumn("on", "boolean"), FileColumn("name")))
    path = csv(tmp_path, "day,at,kw,n,on,name\n"
                         " 2026-01-02 ,2026-01-02T03:04:05Z, 1.5 ,7,TRUE, Ann \n"
                         ",2026-01-02T03:04:05.25-06:00,,,n,\n"
                         ",2026-01-02T03:04:05,,,0,\n")
    assert read_checked(spec, path, "csv").drop(read.ROW).rows() == [
        (date(2026, 1, 2), datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), 1.5, 7, True, " Ann "),
        (None, datetime(2026, 1, 2, 9, 4, 5, 250000, tzinfo=UTC), None, None, False, None),
        (None, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), None, None, False, None)]


def test_parquet_columns_of_the_kind_are_taken_as_they_are_and_naive_date_times_as_utc(tmp_path: Path) -> None:
    spec = FileSpec("t", (FileColumn("day", "date"), FileColumn("at", "datetime"), FileColumn("on", "boolean")))
    path = parquet(tmp_path, {"day": [date(2026, 1, 2)], "at": [datetime(2026, 1, 2, 3)], "on": [True]})  # noqa: DTZ001 (naive on purpose)
    assert read_checked(spec, path, "parquet").drop(read.ROW).rows() == [
        (date(2026, 1, 2), datetime(2026, 1, 2, 3, tzinfo=UTC), True)]


def test_a_parquet_column_of_a_type_that_cannot_hold_the_kind_is_refused_by_its_schema(tmp_path: Path) -> None:
    spec = FileSpec("t", (FileColumn("id"), FileColumn("day", "date"), FileColumn("kw", "number")))
    path = parquet(tmp_path, {"id": [1], "day": [1.5], "kw": [2]})
    assert [(e["field"], e["type"], e["message"]) for e in refused(spec, path).errors] == [
        ("id", "wrong_type", "holds Int64, not text"), ("day", "wrong_type", "holds Float64, not a date")]


def test_a_column_is_there_unless_optional_and_a_value_given_where_required(tmp_path: Path) -> None:
    spec = FileSpec("t", (FileColumn("id", required=True), FileColumn("name"), FileColumn("note", optional=True)))
    assert check_file(spec, csv(tmp_path, "id,name\nA,\n"), "csv") == 1
    assert refused(spec, csv(tmp_path, "id\nA\n")).errors == [
        {"field": "name", "type": "missing_column", "message": "the file has no such column"}]
    assert found(spec, csv(tmp_path, 'id,name\nA,x\n,x\n"  ",x\n')) == [("id", "missing", [2, 3])]


def test_text_longer_than_its_column_allows_is_named(tmp_path: Path) -> None:
    assert found(one("id", max_length=3), csv(tmp_path, "id\nabc\nabcd\n")) == [("id", "too_long", [2])]


def test_a_value_not_in_a_closed_list_is_named(tmp_path: Path) -> None:
    spec = one("status", allowed=("ACTIVE", "INACTIVE"))
    error = refused(spec, csv(tmp_path, "status\nACTIVE\nactive\n\nPAUSED\n")).errors[0]
    assert (error["type"], error["rows"], error["message"]) == (
        "not_allowed", [2, 4], "is not one of ACTIVE, INACTIVE (2 rows)")


def test_a_time_zone_must_be_an_iana_name(tmp_path: Path) -> None:
    spec = one("tz", "time_zone")
    assert found(spec, csv(tmp_path, "tz\nAmerica/Chicago\nCentral\n")) == [("tz", "unknown_time_zone", [2])]


def test_a_number_below_its_least_is_named(tmp_path: Path) -> None:
    assert found(one("kw", "number", min_value=0), csv(tmp_path, "kw\n0\n-0.5\n3\n")) == [("kw", "too_small", [2])]


def test_a_later_date_may_not_be_before_the_earlier_one(tmp_path: Path) -> None:
    spec = FileSpec("t", (FileColumn("start", "date"), FileColumn("end", "date")), not_before=(("end", "start"),))
    path = csv(tmp_path, "start,end\n2026-01-02,2026-01-02\n2026-01-02,2026-01-01\n2026-01-02,\n")
    assert found(spec, path) == [("end", "out_of_order", [2])]


def test_every_problem_is_named_at_once(tmp_path: Path) -> None:
    spec = FileSpec("t", (FileColumn("id", max_length=2, required=True), FileColumn("day", "date")),
                    keys=(("id",),))
    path = csv(tmp_path, "id,day\nA,2026-01-01\n,2026-01-01\nABC,someday\nA,2026-01-02\n")
    problem = refused(spec, path)
    assert [(e["field"], e["type"], e["rows"]) for e in problem.errors] == [
        ("id", "missing", [2]), ("id", "too_long", [3]), ("day", "not_a_date", [3]), ("id", "duplicate_key", [1, 4])]
    assert (problem.status, problem.detail) == (422, "t: problems in id, day; nothing was applied")


def test_an_error_names_the_first_rows_and_counts_them_all_across_chunks(tmp_path: Path) -> None:
    bad = ROWS_NAMED + 5
    path = parquet(tmp_path, {"kw": ["1"] * 3 + ["lots"] * bad})
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(read, "CHUNK_ROWS", 4)
        error = refused(one("kw", "number"), path).errors[0]
    assert error["count"] == bad
    assert error["rows"] == list(range(4, 4 + ROWS_NAMED))
    assert error["message"] == f"is not a number ({bad} rows)"


def test_a_key_given_twice_is_found_across_chunks_naming_every_row_and_the_key(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(read, "CHUNK_ROWS", 2)
    spec = FileSpec("t", (FileColumn("system"), FileColumn("nic")), keys=(("system", "nic"),))
    path = parquet(tmp_path, {"system": ["ECO", "ECO", "NEST", "ECO", None, None],
                              "nic": ["N1", "N2", "N1", "N1", "N3", "N3"]})
    assert refused(spec, path).errors == [{
        "field": "system+nic", "type": "duplicate_key", "message": "repeats the key of another row (2 rows)",
        "count": 2, "rows": [1, 4], "values": ["ECO+N1"]}], "a key without all its values is no key"


def test_keys_alike_once_read_are_the_same_key(tmp_path: Path) -> None:
    spec = FileSpec("t", (FileColumn("day", "date"),), keys=(("day",),))
    assert found(spec, csv(tmp_path, "day\n2026-01-01\n 2026-01-01\n")) == [("day", "duplicate_key", [1, 2])]


def test_rows_that_share_a_key_must_agree_across_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(read, "CHUNK_ROWS", 2)
    spec = FileSpec("t", (FileColumn("subscription"), FileColumn("program"), FileColumn("start", "datetime"),
                          FileColumn("device")),
                    agreements=(Agreement("subscription", ("program", "start"), "subscription"),))
    path = parquet(tmp_path, {"subscription": ["S1", "S2", "S1", "S2", "S3", "S1"],
                              "program": ["P1", "P1", "P1", "P2", "P1", "P1"],
                              "start": ["2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00+00:00",
                                        "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00"],
                              "device": ["D1", "D2", "D3", "D4", "D5", "D6"]})
    assert refused(spec, path).errors == [{
        "field": "subscription", "type": "inconsistent", "count": 2, "rows": [2, 4], "values": ["S2"],
        "message": "gives a subscription whose other rows differ in program, start (2 rows)"}]


def test_a_good_file_passes_and_its_rows_are_counted(tmp_path: Path) -> None:
    spec = FileSpec("t", (FileColumn("id", required=True),), keys=(("id",),))
    assert check_file(spec, csv(tmp_path, "id\nA\nB\nC\n"), "csv") == 3
