"""Bulk writes: rows written from a polars frame read back through SQLAlchemy as if it had written them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from derbridge.clock import as_utc
from derbridge.store import bulk
from derbridge.store.bulk import bulk_insert, select_frame
from derbridge.store.db import make_engine

metadata = sa.MetaData()
sample = sa.Table(
    "bulk_sample",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(40), nullable=True),
    sa.Column("day", sa.Date, nullable=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("flag", sa.Boolean, nullable=True),
    sa.Column("amount", sa.Float, nullable=True),
)


@pytest.fixture
def db(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    metadata.create_all(engine)
    yield engine
    engine.dispose()


def test_values_nulls_and_empty_strings_survive_a_bulk_insert(db: Engine) -> None:
    frame = pl.DataFrame({
        "id": [1, 2, 3],
        "name": ["Ashgrove, \"North\"", "", None],
        "day": [date(2026, 1, 2), None, date(1999, 12, 31)],
        "at": [datetime(2026, 1, 1, 12, 30, 5, 123456, tzinfo=UTC), None, datetime(2020, 2, 29, tzinfo=UTC)],
        "flag": [True, False, None],
        "amount": [1.5, None, -2.25],
    })
    with db.begin() as connection:
        assert bulk_insert(connection, sample, frame) == 3
    with db.connect() as connection:
        rows = connection.execute(sa.select(sample).order_by(sample.c.id)).all()
    assert [(r.id, r.name, r.day, as_utc(r.at), r.flag, r.amount) for r in rows] == [
        (1, 'Ashgrove, "North"', date(2026, 1, 2), datetime(2026, 1, 1, 12, 30, 5, 123456, tzinfo=UTC), True, 1.5),
        (2, "", None, None, False, None),
        (3, None, date(1999, 12, 31), datetime(2020, 2, 29, tzinfo=UTC), None, -2.25),
    ]


def test_a_date_time_in_another_zone_is_stored_as_the_same_instant(db: Engine) -> None:
    local = pl.DataFrame({"id": [1], "at": [datetime(2026, 7, 1, 9, 0)]}).with_columns(  # noqa: DTZ001 (a wall-clock time, given its zone next)
        pl.col("at").dt.replace_time_zone("America/Chicago"))
    with db.begin() as connection:
        bulk_insert(connection, sample, local)
    with db.connect() as connection:
        stored = connection.execute(sa.select(sample.c.at)).scalar_one()
    assert as_utc(stored) == datetime(2026, 7, 1, 14, 0, tzinfo=UTC)


def test_a_failed_bulk_insert_leaves_nothing_behind(db: Engine) -> None:
    duplicate_ids = pl.DataFrame({"id": [7, 7], "name": ["first", "second"]})
    with pytest.raises(Exception), db.begin() as connection:  # noqa: B017 - driver-specific integrity errors
        bulk_insert(connection, sample, duplicate_ids)
    with db.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(sample)).scalar_one() == 0


def test_columns_the_table_lacks_are_refused_by_name(db: Engine) -> None:
    with pytest.raises(ValueError, match="colour"), db.begin() as connection:
        bulk_insert(connection, sample, pl.DataFrame({"id": [1], "colour": ["red"]}))


def test_a_query_reads_back_into_a_frame_with_its_dates_and_nulls(db: Engine) -> None:
    frame = pl.DataFrame({"id": [1, 2, 3], "name": ["a", None, "c"],
                          "day": [date(2026, 1, 31), None, date(1999, 12, 1)], "amount": [1.5, None, 3.0]})
    with db.begin() as connection:
        bulk_insert(connection, sample, frame)
        query = (sa.select(sample.c.id, sample.c.name, sample.c.day, sample.c.amount)
                 .where(sample.c.day.is_(None) | (sample.c.day > date(2000, 1, 1))).order_by(sample.c.id))
        read = select_frame(connection, query, {"id": pl.Int64, "name": pl.String, "day": pl.Date,
                                                "amount": pl.Float64})
    assert read.equals(frame.filter(pl.col("id") < 3))


def test_rows_in_many_statements_and_chunks_all_arrive_once(db: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk, "INSERT_CHUNK_ROWS", 500)  # 1,234 rows: three chunks, each a few whole statements
    frame = pl.DataFrame({"id": range(1, 1235), "name": [f"n{i}" for i in range(1, 1235)]})  # and a remainder
    with db.begin() as connection:
        assert bulk_insert(connection, sample, frame) == 1234
        read = select_frame(connection, sa.select(sample.c.id, sample.c.name).order_by(sample.c.id),
                            {"id": pl.Int64, "name": pl.String})
    assert read.equals(frame.with_columns(pl.col("id").cast(pl.Int64)))


def test_a_query_read_into_a_frame_keeps_its_order_and_any_text(db: Engine) -> None:
    awkward = ['quote " and backslash \\', "line\nbreak\ttab", "Zoë 🌩", "", None, "[1, 2]"]
    frame = pl.DataFrame({"id": range(1, 7), "name": awkward,
                          "at": [datetime(2026, 1, 1, 12, 30, 5, 123456, tzinfo=UTC), None, None, None, None,
                                 datetime(2020, 2, 29, tzinfo=UTC)],
                          "amount": [1.0, 2.5, None, -3.0, 1e-7, 12345678.9]})
    with db.begin() as connection:
        bulk_insert(connection, sample, frame.sample(fraction=1.0, shuffle=True, seed=3))
        read = select_frame(connection, sa.select(sample.c.id, sample.c.name, sample.c.at, sample.c.amount)
                            .order_by(sample.c.id.desc()),
                            {"id": pl.Int64, "name": pl.String, "at": pl.Datetime("us", "UTC"), "amount": pl.Float64})
    assert read.equals(frame.with_columns(pl.col("id").cast(pl.Int64)).reverse())


@pytest.mark.parametrize("names", [["x", "", "y,z", "a b", '","'], ["x", None, "", None, "y"], [None, None]])
def test_text_and_whole_numbers_read_the_same_whether_split_or_decoded(db: Engine, names: list[str | None]) -> None:
    frame = pl.DataFrame({"id": range(1, len(names) + 1), "name": names}, schema={"id": pl.Int64, "name": pl.String})
    with db.begin() as connection:
        bulk_insert(connection, sample, frame)
        read = select_frame(connection, sa.select(
            sample.c.id, sample.c.name, sa.case((sample.c.id > 1, sample.c.id * 10)).label("tens"),
            sa.cast(sample.c.id, sa.Float).label("whole")).order_by(sample.c.id),
            {"id": pl.Int64, "name": pl.String, "tens": pl.Int64, "whole": pl.Int64})
    assert read.equals(frame.with_columns(tens=pl.when(pl.col("id") > 1).then(pl.col("id") * 10),
                                          whole=pl.col("id")))


def test_a_query_without_rows_reads_into_an_empty_frame_with_the_columns(db: Engine) -> None:
    with db.begin() as connection:
        read = select_frame(connection, sa.select(sample.c.id, sample.c.day), {"id": pl.Int64, "day": pl.Date})
    assert read.is_empty()
    assert read.schema == pl.Schema({"id": pl.Int64, "day": pl.Date})


def test_a_query_streams_into_one_parquet_file_shaped_chunk_by_chunk(db: Engine, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk, "SELECT_CHUNK_ROWS", 2)
    at = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    with db.begin() as connection:
        bulk_insert(connection, sample, pl.DataFrame({"id": [1, 2, 3, 4, 5], "at": [at, None, at, at, at]}))
        query = sa.select(sample.c.id, sample.c.at).order_by(sample.c.id)
        rows = bulk.select_to_parquet(connection, query, {"id": pl.Int64, "at": pl.Datetime("us", "UTC")},
                                      lambda chunk: chunk.with_columns(twice=pl.col("id") * 2),
                                      tmp_path / "files" / "out.parquet")
    written = pl.read_parquet(tmp_path / "files" / "out.parquet")
    assert rows == 5
    assert written["twice"].to_list() == [2, 4, 6, 8, 10]
    assert written["at"].to_list() == [at, None, at, at, at]
    assert [p.name for p in (tmp_path / "files").iterdir()] == ["out.parquet"], "no part files left behind"


def test_a_query_without_rows_still_writes_a_file_with_the_columns(db: Engine, tmp_path: Path) -> None:
    with db.begin() as connection:
        rows = bulk.select_to_parquet(connection, sa.select(sample.c.id), {"id": pl.Int64}, lambda chunk: chunk,
                                      tmp_path / "empty.parquet")
    assert rows == 0
    assert pl.read_parquet(tmp_path / "empty.parquet").columns == ["id"]
