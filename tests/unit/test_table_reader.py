"""Reading a table file: its schema from the file alone, its rows in bounded chunks, every row numbered as a
person counts them in the file (from 1, the header not counted), whatever chunk it lands in."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from derbridge.errors import FileRefused
from derbridge.tables import read
from derbridge.tables.read import ROW, file_chunks, file_schema


def chunks(path: Path, fmt: str, rows: int | None = None) -> list[pl.DataFrame]:
    return list(file_chunks(path, fmt, rows))  # type: ignore[arg-type]


def test_the_schema_comes_from_the_file_alone_parquet_typed_and_csv_as_text(tmp_path: Path) -> None:
    frame = pl.DataFrame({"id": ["A"], "day": [date(2026, 1, 1)], "kw": [1.5]})
    frame.write_parquet(tmp_path / "t.parquet")
    frame.write_csv(tmp_path / "t.csv")
    assert file_schema(tmp_path / "t.parquet", "parquet") == pl.Schema({"id": pl.String, "day": pl.Date,
                                                                         "kw": pl.Float64})
    assert file_schema(tmp_path / "t.csv", "csv") == pl.Schema(dict.fromkeys(("id", "day", "kw"), pl.String))


def test_a_csv_header_may_start_with_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(b"\xef\xbb\xbfid,name\nA,Ann\n")
    assert list(file_schema(path, "csv")) == ["id", "name"]
    assert chunks(path, "csv")[0].columns == [ROW, "id", "name"]


def test_parquet_is_read_in_slices_of_bounded_rows_numbered_across_them(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pl.DataFrame({"id": [f"A{n}" for n in range(10)]}).write_parquet(path)
    read_chunks = chunks(path, "parquet", rows=4)
    assert [chunk.height for chunk in read_chunks] == [4, 4, 2]
    assert [chunk[ROW].to_list() for chunk in read_chunks] == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10]]
    assert pl.concat(read_chunks)["id"].to_list() == [f"A{n}" for n in range(10)]


def test_the_parquet_chunk_size_defaults_to_chunk_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(read, "CHUNK_ROWS", 3)
    path = tmp_path / "t.parquet"
    pl.DataFrame({"id": [f"A{n}" for n in range(7)]}).write_parquet(path)
    assert [chunk.height for chunk in chunks(path, "parquet")] == [3, 3, 1]


def test_csv_is_cut_into_blocks_of_whole_records_even_inside_quotes(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(read, "CSV_BLOCK_BYTES", 8)
    names = ["plain", "a,comma", 'a "quote"', "a\nnewline", 'all "of\nit", here\n\n', "last"]
    path = tmp_path / "t.csv"
    pl.DataFrame({"id": [str(n) for n in range(len(names))], "name": names}).write_csv(path)
    read_chunks = chunks(path, "csv")
    assert len(read_chunks) > 1, "the blocks are smaller than the file"
    whole = pl.concat(read_chunks)
    assert whole["name"].to_list() == names
    assert whole[ROW].to_list() == [1, 2, 3, 4, 5, 6], "rows are numbered as records, not lines"


def test_a_csv_without_a_final_newline_keeps_its_last_record(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("id,name\nA,Ann\nB,Bo")
    assert pl.concat(chunks(path, "csv")).select(ROW, "name").rows() == [(1, "Ann"), (2, "Bo")]


def test_an_empty_csv_field_is_no_value(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("id,name\nA,\n")
    assert chunks(path, "csv")[0]["name"].to_list() == [None]


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_a_file_without_rows_has_no_chunks(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"t.{fmt}"
    empty = pl.DataFrame(schema={"id": pl.String})
    empty.write_parquet(path) if fmt == "parquet" else path.write_text("id\n")
    assert chunks(path, fmt) == []


@pytest.mark.parametrize(("content", "fmt"), [
    (b"PAR1 this is not parquet", "parquet"),
    (b"id,name\nA,Ann\n", "parquet"),
    (b"id,name\nA,Ann,extra,fields\n", "csv"),
    (b"id,name\nA,\xff\xfe\n", "csv"),
])
def test_a_file_that_cannot_be_read_is_a_400_naming_its_format(tmp_path: Path, content: bytes, fmt: str) -> None:
    path = tmp_path / f"t.{fmt}"
    path.write_bytes(content)
    with pytest.raises(FileRefused) as refused:
        file_schema(path, fmt)  # type: ignore[arg-type]
        chunks(path, fmt)
    assert refused.value.status == 400
    assert fmt.upper() in refused.value.detail
    assert refused.value.errors[0]["type"] == "unreadable_file"
