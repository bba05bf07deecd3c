"""Table files: columns and types checked from the schema, every value checked where asked, a renamed typed copy
written once; each problem names its column, and its rows where there are some."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from derbridge.errors import FileRefused
from derbridge.tables.check import read_checked
from derbridge.tables.load import copy_columns
from derbridge.tables.spec import FileColumn, FileSpec, file_format

COLUMNS = (FileColumn("id", max_length=4, required=True), FileColumn("day", "date", required=True),
           FileColumn("kw", "number", optional=True))
FILE = FileSpec("t", COLUMNS)
KEYED = FileSpec("t", COLUMNS, keys=(("id",),))


def refusal(action: object) -> FileRefused:
    with pytest.raises(FileRefused) as refused:
        action()  # type: ignore[operator]
    return refused.value


def test_a_parquet_file_lacking_a_column_or_holding_the_wrong_type_is_refused_naming_each(tmp_path: Path) -> None:
    file = tmp_path / "t.parquet"
    pl.DataFrame({"id": ["a"], "kw": ["lots"], "day": [1]}).write_parquet(file)
    refused = refusal(lambda: copy_columns(FILE, file, "parquet", {"id": "ID", "day": "DAY", "kw": "KW"},
                                           tmp_path / "out.parquet"))
    assert (refused.status, [(e["field"], e["type"]) for e in refused.errors]) == (422, [("day", "wrong_type")])
    pl.DataFrame({"kw": [1.0]}).write_parquet(file)
    refused = refusal(lambda: read_checked(FILE, file, "parquet"))
    assert [(e["field"], e["type"]) for e in refused.errors] == [("id", "missing_column"), ("day", "missing_column")]
    assert not (tmp_path / "out.parquet").exists()


def test_every_value_is_checked_and_each_problem_names_its_rows(tmp_path: Path) -> None:
    file = tmp_path / "t.csv"
    file.write_text("id,day,kw\nA1,2026-01-01,1.5\n,2026-01-02,\nTOOLONG,2026-13-01,x\nA1,2026-01-01,2\n")
    refused = refusal(lambda: read_checked(KEYED, file, "csv"))
    assert [(e["field"], e["type"], e["rows"]) for e in refused.errors] == [
        ("id", "missing", [2]), ("id", "too_long", [3]), ("day", "not_a_date", [3]), ("kw", "not_a_number", [3]),
        ("id", "duplicate_key", [1, 4])]
    assert refused.errors[0]["message"] == "has no value (1 row)"
    file.write_text("id,day,kw\nA1,2026-01-01,1.5\nA2,2026-01-02,\nA1,2026-01-03,2\n")
    refused = refusal(lambda: read_checked(KEYED, file, "csv"))
    assert [(e["field"], e["type"], e["rows"]) for e in refused.errors] == [("id", "duplicate_key", [1, 3])]


def test_a_checked_file_comes_back_typed_with_its_row_numbers(tmp_path: Path) -> None:
    file = tmp_path / "t.csv"
    file.write_text("id,day,kw,other\nA1,2026-01-01,1.5,x\nA2,2026-01-02,,y\n")
    frame = read_checked(FILE, file, "csv")
    assert frame.rows() == [(1, "A1", date(2026, 1, 1), 1.5), (2, "A2", date(2026, 1, 2), None)]


def test_a_copy_holds_the_columns_renamed_and_typed_whatever_the_file_was(tmp_path: Path) -> None:
    file = tmp_path / "t.csv"
    file.write_text("kw,id,day,other\n1,A1,2026-01-01,x\n,A2,2026-01-02,y\n")
    rows = copy_columns(FILE, file, "csv", {"id": "ID", "day": "DAY", "kw": "KW"}, tmp_path / "out.parquet")
    copied = pl.read_parquet(tmp_path / "out.parquet")
    assert rows == 2 and copied.schema == pl.Schema({"ID": pl.String, "DAY": pl.Date, "KW": pl.Float64})
    assert copied.rows() == [("A1", date(2026, 1, 1), 1.0), ("A2", date(2026, 1, 2), None)]


def test_a_value_the_copy_cannot_read_is_named_with_its_rows(tmp_path: Path) -> None:
    file = tmp_path / "t.csv"
    file.write_text("id,day\nA1,2026-01-01\nA2,01/02/2026\n")
    refused = refusal(lambda: copy_columns(FileSpec("t", COLUMNS[:2]), file, "csv", {"id": "ID", "day": "DAY"},
                                           tmp_path / "out.parquet"))
    assert [(e["field"], e["type"], e["rows"]) for e in refused.errors] == [("day", "not_a_date", [2])]
    assert not (tmp_path / "out.parquet").exists()


def test_a_file_that_is_not_what_it_claims_is_unreadable(tmp_path: Path) -> None:
    file = tmp_path / "t.parquet"
    file.write_text("id,day\nA1,2026-01-01\n")
    refused = refusal(lambda: read_checked(FILE, file, "parquet"))
    assert refused.status == 400 and refused.errors[0]["type"] == "unreadable_file"


def test_media_types_name_the_format_and_others_are_refused() -> None:
    assert file_format("application/vnd.apache.parquet") == "parquet"
    assert file_format("text/csv; charset=utf-8") == "csv"
    refused = refusal(lambda: file_format("application/json"))
    assert refused.status == 415 and refused.errors[0]["field"] == "header.content-type"
