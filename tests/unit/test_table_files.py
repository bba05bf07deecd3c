"""Checking a table file on its own: every problem named by column, rows and count, before any database."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from derbridge.dacs.customers.cis import TABLES
from derbridge.errors import FileRefused
from derbridge.tables import read
from derbridge.tables.check import check_file
from derbridge.tables.refusals import ROWS_NAMED

PERSONS = {"cisPersonId": ["1000000001", "1000000002", "1000000003"], "name": ["Ash,Ann", "Oak,Bo", "Elm,Cy"],
           "homePhone": ["(402) 555-0101", None, "(402) 555-0102"], "businessPhone": [None, None, None],
           "email": ["ann@example.com", None, None]}
AGREEMENTS = {"cisServiceAgreementId": ["5000000001", "5000000002"], "cisAccountId": ["2000000001", "2000000002"],
              "cisServicePointId": ["4000000001", "4000000002"], "rateCode": ["E-RES", "E-SGS"],
              "startDate": [date(2020, 5, 1), date(2021, 1, 1)]}


def write(tmp_path: Path, columns: dict[str, Any], fmt: str = "parquet", name: str = "table") -> Path:
    path = tmp_path / f"{name}.{fmt}"
    frame = pl.DataFrame(columns)
    if fmt == "parquet":
        frame.write_parquet(path)
    else:
        frame.write_csv(path)
    return path


def refusal(table: str, path: Path, fmt: str = "parquet") -> FileRefused:
    with pytest.raises(FileRefused) as refused:
        check_file(TABLES[table].file, path, fmt)  # type: ignore[arg-type]
    return refused.value


def problem(refused: FileRefused, column: str) -> dict[str, Any]:
    [found] = [error for error in refused.errors if error["field"] == column]
    return found


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_a_good_file_passes_and_its_rows_are_counted(tmp_path: Path, fmt: str) -> None:
    assert check_file(TABLES["persons"].file, write(tmp_path, PERSONS, fmt), fmt) == 3  # type: ignore[arg-type]


def test_columns_the_table_does_not_store_are_ignored(tmp_path: Path) -> None:
    assert check_file(TABLES["persons"].file, write(tmp_path, {**PERSONS, "shoeSize": [9, 10, 11]}), "parquet") == 3


def test_an_optional_column_may_be_left_out_and_a_required_one_may_not(tmp_path: Path) -> None:
    assert check_file(TABLES["service_agreements"].file, write(tmp_path, AGREEMENTS), "parquet") == 2
    without_start = {key: value for key, value in AGREEMENTS.items() if key != "startDate"}
    refused = refusal("service_agreements", write(tmp_path, without_start))
    assert refused.status == 422
    assert refused.errors == [{"field": "startDate", "type": "missing_column",
                               "message": "the file has no such column"}]


def test_a_column_of_the_wrong_type_is_named_with_the_type_it_holds(tmp_path: Path) -> None:
    refused = refusal("persons", write(tmp_path, {**PERSONS, "name": [1, 2, 3]}))
    assert problem(refused, "name")["type"] == "wrong_type"
    assert "Int64" in problem(refused, "name")["message"]


def test_an_over_long_value_is_named_by_row_with_the_schema_limit(tmp_path: Path) -> None:
    names = ["Ash,Ann", "x" * 255, "Elm,Cy"]
    refused = refusal("persons", write(tmp_path, {**PERSONS, "name": names}))
    assert problem(refused, "name") == {"field": "name", "type": "too_long", "count": 1, "rows": [2],
                                        "message": "is longer than 254 characters (1 row)"}


@pytest.mark.parametrize("missing", [None, "", "   "])
def test_a_key_without_a_value_is_refused(tmp_path: Path, missing: str | None) -> None:
    keys = ["1000000001", missing, "1000000003"]
    refused = refusal("persons", write(tmp_path, {**PERSONS, "cisPersonId": keys}))
    assert problem(refused, "cisPersonId")["type"] == "missing"
    assert problem(refused, "cisPersonId")["rows"] == [2]


def test_an_empty_csv_field_is_no_value(tmp_path: Path) -> None:
    path = tmp_path / "persons.csv"
    path.write_text("cisPersonId,name,homePhone,businessPhone,email\n1000000001,,,,\n")
    refused = refusal("persons", path, "csv")
    assert [error["field"] for error in refused.errors] == ["name"], "only name needs a value"


def test_duplicate_keys_name_every_row_that_repeats_a_key_and_the_key(tmp_path: Path) -> None:
    keys = ["1000000001", "1000000002", "1000000001"]
    refused = refusal("persons", write(tmp_path, {**PERSONS, "cisPersonId": keys}))
    assert problem(refused, "cisPersonId") == {
        "field": "cisPersonId", "type": "duplicate_key", "count": 2, "rows": [1, 3], "values": ["1000000001"],
        "message": "repeats the key of another row (2 rows)"}


def test_dates_must_be_dates_and_an_end_not_before_its_start(tmp_path: Path) -> None:
    path = tmp_path / "agreements.csv"
    path.write_text("cisServiceAgreementId,cisAccountId,cisServicePointId,rateCode,startDate,endDate\n"
                    "5000000001,2000000001,4000000001,E-RES,2020-05-01,2020-04-30\n"
                    "5000000002,2000000002,4000000002,E-RES,01/05/2020,\n")
    refused = refusal("service_agreements", path, "csv")
    assert problem(refused, "startDate")["type"] == "not_a_date"
    assert problem(refused, "startDate")["rows"] == [2]
    assert problem(refused, "endDate")["type"] == "out_of_order"
    assert problem(refused, "endDate")["rows"] == [1]


def test_closed_lists_and_time_zones_are_checked(tmp_path: Path) -> None:
    contacts = {"contactId": ["1", "2"], "cisPersonId": ["1", "1"], "kind": ["EMAIL", "FAX"], "value": ["a", "b"]}
    assert problem(refusal("contacts", write(tmp_path, contacts)), "kind")["rows"] == [2]
    premises = {"cisPremiseId": ["3000000001"], "address1": ["1 Oak St"], "city": ["Ashgrove"], "county": [None],
                "state": ["NE"], "postal": ["68101"], "country": ["USA"], "timeZone": ["America/Lincoln"]}
    assert problem(refusal("premises", write(tmp_path, premises)), "timeZone")["type"] == "unknown_time_zone"


def test_an_error_names_the_first_rows_and_counts_them_all_across_chunks(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(read, "CHUNK_ROWS", 7)
    rows = 50
    frame = {"cisPersonId": [str(1000000000 + i) for i in range(rows)], "name": ["x" * 300] * rows,
             "homePhone": [None] * rows, "businessPhone": [None] * rows, "email": [None] * rows}
    error = problem(refusal("persons", write(tmp_path, frame)), "name")
    assert error["count"] == rows
    assert error["rows"] == list(range(1, ROWS_NAMED + 1))


def test_a_duplicate_across_chunks_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(read, "CHUNK_ROWS", 2)
    keys = ["1000000001", "1000000002", "1000000001"]
    refused = refusal("persons", write(tmp_path, {**PERSONS, "cisPersonId": keys}))
    assert problem(refused, "cisPersonId")["rows"] == [1, 3]


@pytest.mark.parametrize(("content", "fmt"), [
    (b"PAR1 this is not parquet", "parquet"),
    (b"cisPersonId,name\n1000000001,Ash\n", "parquet"),
    (b"cisPersonId,name,homePhone,businessPhone,email\n1,Ash,,,\n2,Oak,,,,,,\n", "csv"),
    (b"cisPersonId,name,homePhone,businessPhone,email\n1,\xff\xfe,,,\n", "csv"),
])
def test_an_unreadable_file_is_a_400_naming_the_format(tmp_path: Path, content: bytes, fmt: str) -> None:
    path = tmp_path / f"persons.{fmt}"
    path.write_bytes(content)
    refused = refusal("persons", path, fmt)
    assert refused.status == 400
    assert fmt.upper() in refused.detail
    assert refused.errors[0]["type"] == "unreadable_file"


def test_a_csv_is_read_in_blocks_of_whole_records_even_with_quoted_newlines_and_quotes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(read, "CSV_BLOCK_BYTES", 16)
    names = ['Ash,"Ann"', "Oak,\nBo", 'Elm,""Cy""\n\n', "x" * 300, "Pine,Di"]
    frame = pl.DataFrame({"cisPersonId": [f"100000000{i}" for i in range(len(names))], "name": names,
                          "homePhone": [None] * 5, "businessPhone": [None] * 5, "email": [None] * 5},
                         schema_overrides={"homePhone": pl.String, "businessPhone": pl.String, "email": pl.String})
    path = tmp_path / "persons.csv"
    path.write_bytes(b"\xef\xbb\xbf" + frame.write_csv().encode())
    error = problem(refusal("persons", path, "csv"), "name")
    assert (error["type"], error["rows"]) == ("too_long", [4]), "rows are numbered as records, not lines"
    chunks = pl.concat(list(read.file_chunks(path, "csv")))
    assert chunks["name"].to_list() == names
    assert chunks[read.ROW].to_list() == [1, 2, 3, 4, 5]
