"""CIS imports on SQLite and PostgreSQL: upserts that count right, references checked against the database, all
or nothing; and the queries other code asks of the imported customers."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from derbridge.clock import as_utc
from derbridge.dacs import schema as dacs_schema
from derbridge.dacs.customers import cis as dacs_cis
from derbridge.dataset.generate import generate
from derbridge.derms import schema as derms_schema
from derbridge.derms.customers import cis as derms_cis
from derbridge.errors import FileRefused
from derbridge.store.importlog import ImportRecord
from derbridge.tables import read as table_files
from derbridge.tables.load import import_table_file
from derbridge.tables.spec import TableSpec

CUSTOMERS = 300


@pytest.fixture(scope="module")
def extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("extract")
    generate(out, CUSTOMERS, seed=7)
    return out




def load(engine: Engine, spec: TableSpec, path: Path, imports: sa.Table) -> ImportRecord:
    fmt = "csv" if path.suffix == ".csv" else "parquet"
    return import_table_file(engine, spec, path, fmt, sha256="0" * 64, size=path.stat().st_size, who="operator",
                             imports=imports)[1]


def load_all(engine: Engine, tables: dict[str, TableSpec], extract: Path, imports: sa.Table) -> list[ImportRecord]:
    return [load(engine, spec, extract / f"{name}.parquet", imports) for name, spec in tables.items()]


def rows_in(engine: Engine, table: sa.Table) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def read(extract: Path, table: str) -> pl.DataFrame:
    return pl.read_parquet(extract / f"{table}.parquet")


def test_an_extract_imports_whole_and_a_second_time_changes_nothing(dacs_db: Engine, extract: Path) -> None:
    first = load_all(dacs_db, dacs_cis.TABLES, extract, dacs_schema.file_imports)
    assert [(r.table_name, r.inserted, r.updated, r.unchanged) for r in first] == [
        (name, read(extract, name).height, 0, 0) for name in dacs_cis.TABLES]
    again = load_all(dacs_db, dacs_cis.TABLES, extract, dacs_schema.file_imports)
    assert [(r.inserted, r.updated, r.unchanged) for r in again] == [
        (0, 0, read(extract, name).height) for name in dacs_cis.TABLES]
    for name, spec in dacs_cis.TABLES.items():
        assert rows_in(dacs_db, spec.table) == read(extract, name).height, name
    assert rows_in(dacs_db, dacs_schema.file_imports) == 2 * len(dacs_cis.TABLES)


def test_a_later_extract_updates_changed_rows_adds_new_ones_and_keeps_the_rest(
        dacs_db: Engine, extract: Path, tmp_path: Path) -> None:
    persons = read(extract, "persons")
    load(dacs_db, dacs_cis.TABLES["persons"], extract / "persons.parquet", dacs_schema.file_imports)
    stamped = imported_at(dacs_db)
    renamed = persons.head(10).with_columns(name=pl.lit("Renamed,Rae"))
    kept_as_is = persons.slice(10, 5)
    new = persons.head(5).with_columns(cisPersonId=pl.concat_str(pl.lit("NEW"), pl.col("cisPersonId")))
    later = tmp_path / "persons.parquet"
    pl.concat([renamed, kept_as_is, new]).write_parquet(later)
    record = load(dacs_db, dacs_cis.TABLES["persons"], later, dacs_schema.file_imports)
    assert (record.rows, record.inserted, record.updated, record.unchanged) == (20, 5, 10, 5)
    assert rows_in(dacs_db, dacs_schema.persons) == persons.height + 5, "rows missing from the extract are kept"
    after = imported_at(dacs_db)
    first_id, untouched_id = persons["cisPersonId"][0], persons["cisPersonId"][12]
    assert after[first_id] > stamped[first_id]
    assert after[untouched_id] == stamped[untouched_id], "an unchanged row is not rewritten"
    with dacs_db.connect() as connection:
        name = connection.execute(sa.select(dacs_schema.persons.c.name)
                                  .where(dacs_schema.persons.c.cis_person_id == first_id)).scalar_one()
    assert name == "Renamed,Rae"


def imported_at(engine: Engine) -> dict[str, object]:
    table = dacs_schema.persons
    with engine.connect() as connection:
        return {row.cis_person_id: as_utc(row.imported_at)
                for row in connection.execute(sa.select(table.c.cis_person_id, table.c.imported_at))}


def test_a_dangling_reference_in_the_last_chunk_refuses_the_whole_file(
        dacs_db: Engine, extract: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(table_files, "CHUNK_ROWS", 50)
    for name in ("rates", "persons"):
        load(dacs_db, dacs_cis.TABLES[name], extract / f"{name}.parquet", dacs_schema.file_imports)
    accounts = read(extract, "accounts")
    last = accounts.height
    dangling = accounts.with_columns(
        cisPersonId=pl.when(pl.int_range(pl.len()) == last - 1).then(pl.lit("9999999999"))
        .otherwise(pl.col("cisPersonId")))
    dangling.write_parquet(tmp_path / "accounts.parquet")
    with pytest.raises(FileRefused) as refused:
        load(dacs_db, dacs_cis.TABLES["accounts"], tmp_path / "accounts.parquet", dacs_schema.file_imports)
    assert refused.value.status == 422
    assert refused.value.errors == [{
        "field": "cisPersonId", "type": "unknown_reference", "count": 1, "rows": [last], "values": ["9999999999"],
        "message": "refers to no known person (import persons first) (1 row)"}]
    assert rows_in(dacs_db, dacs_schema.accounts) == 0, "the chunks before it were rolled back"
    assert rows_in(dacs_db, dacs_schema.file_imports) == 2


def test_references_are_checked_against_what_the_database_holds(dacs_db: Engine, extract: Path) -> None:
    with pytest.raises(FileRefused) as refused:
        load(dacs_db, dacs_cis.TABLES["service_agreements"], extract / "service_agreements.parquet",
             dacs_schema.file_imports)
    rows = read(extract, "service_agreements").height
    assert {(error["field"], error["count"]) for error in refused.value.errors} == {
        ("cisAccountId", rows), ("cisServicePointId", rows), ("rateCode", rows)}


def test_derms_keeps_each_service_point_with_its_premise_address_and_follows_address_changes(
        derms_db: Engine, extract: Path, tmp_path: Path) -> None:
    records = load_all(derms_db, derms_cis.TABLES, extract, derms_schema.file_imports)
    assert [record.inserted for record in records] == [read(extract, name).height for name in derms_cis.TABLES]
    point = read(extract, "service_points").row(0, named=True)
    premises = read(extract, "premises")
    premise = premises.filter(pl.col("cisPremiseId") == point["cisPremiseId"]).row(0, named=True)
    location = location_of(derms_db, point["cisServicePointId"])
    assert (location.city, location.time_zone, location.cis_account_id) == (
        premise["city"], premise["timeZone"], point["cisAccountId"])
    moved = premises.with_columns(
        city=pl.when(pl.col("cisPremiseId") == premise["cisPremiseId"]).then(pl.lit("Windcliff"))
        .otherwise(pl.col("city")),
        timeZone=pl.when(pl.col("cisPremiseId") == premise["cisPremiseId"]).then(pl.lit("America/Denver"))
        .otherwise(pl.col("timeZone")))
    moved.write_parquet(tmp_path / "premises.parquet")
    record = load(derms_db, derms_cis.TABLES["premises"], tmp_path / "premises.parquet", derms_schema.file_imports)
    assert (record.updated, record.unchanged) == (1, premises.height - 1)
    changed = location_of(derms_db, point["cisServicePointId"])
    assert (changed.city, changed.time_zone) == ("Windcliff", "America/Denver")
    assert as_utc(changed.imported_at) > as_utc(location.imported_at)
    other = read(extract, "service_points").row(1, named=True)
    assert location_of(derms_db, other["cisServicePointId"]).imported_at == location.imported_at


def location_of(engine: Engine, service_point_id: str) -> sa.Row[tuple[object, ...]]:
    table = derms_schema.service_locations
    with engine.connect() as connection:
        return connection.execute(sa.select(table).where(table.c.cis_service_point_id == service_point_id)).one()


# ---- what other code asks ------------------------------------------------------------------------------------

@pytest.fixture
def loaded_dacs(dacs_db: Engine, extract: Path) -> Engine:
    load_all(dacs_db, dacs_cis.TABLES, extract, dacs_schema.file_imports)
    return dacs_db


def an_enrollment(extract: Path, index: int = 0) -> dict[str, str]:
    agreement = read(extract, "service_agreements").row(index, named=True)
    account = read(extract, "accounts").filter(pl.col("cisAccountId") == agreement["cisAccountId"]).row(0, named=True)
    return {"cis_person_id": account["cisPersonId"], "cis_account_id": agreement["cisAccountId"],
            "cis_service_point_id": agreement["cisServicePointId"],
            "cis_service_agreement_id": agreement["cisServiceAgreementId"]}


def test_a_customers_own_ids_belong_together(loaded_dacs: Engine, extract: Path) -> None:
    ids = an_enrollment(extract)
    agreement = read(extract, "service_agreements").row(0, named=True)
    with loaded_dacs.connect() as connection:
        context = dacs_cis.customer_context(connection, **ids)
    assert context.ok, context.problems
    assert context.rate_code == agreement["rateCode"]
    assert context.division in {"ELEC-N", "ELEC-S"}
    assert context.cis_premise_id == read(extract, "service_points").filter(
        pl.col("cisServicePointId") == ids["cis_service_point_id"])["cisPremiseId"][0]


def test_unknown_ids_are_each_reported_once(loaded_dacs: Engine) -> None:
    with loaded_dacs.connect() as connection:
        context = dacs_cis.customer_context(connection, "P?", "A?", "SP?", "SA?")
    assert context.problems == ("unknown_person", "unknown_account", "unknown_service_point",
                                "unknown_service_agreement")


def test_ids_of_two_customers_do_not_belong_together(loaded_dacs: Engine, extract: Path) -> None:
    mine, theirs = an_enrollment(extract, 0), an_enrollment(extract, 1)
    with loaded_dacs.connect() as connection:
        other_person = dacs_cis.customer_context(connection, **{**mine, "cis_person_id": theirs["cis_person_id"]})
        other_point = dacs_cis.customer_context(
            connection, **{**mine, "cis_service_point_id": theirs["cis_service_point_id"]})
    assert other_person.problems == ("account_not_persons",)
    assert other_point.problems == ("service_point_not_on_account", "agreement_not_for_account_and_service_point")


def test_an_agreement_is_active_from_its_start_until_its_end(loaded_dacs: Engine, extract: Path,
                                                           tmp_path: Path) -> None:
    ids = an_enrollment(extract)
    agreements = read(extract, "service_agreements")
    start = agreements["startDate"][0]
    with loaded_dacs.connect() as connection:
        assert dacs_cis.customer_context(connection, **ids, on=start).agreement_active
        early = dacs_cis.customer_context(connection, **ids, on=start - timedelta(days=1))
    assert early.problems == ("agreement_not_active",)
    ended = agreements.with_columns(endDate=pl.when(pl.int_range(pl.len()) == 0).then(pl.lit(date(2026, 1, 1))))
    ended.write_parquet(tmp_path / "service_agreements.parquet")
    load(loaded_dacs, dacs_cis.TABLES["service_agreements"], tmp_path / "service_agreements.parquet",
         dacs_schema.file_imports)
    with loaded_dacs.connect() as connection:
        assert dacs_cis.customer_context(connection, **ids, on=date(2025, 12, 31)).agreement_active
        assert not dacs_cis.customer_context(connection, **ids, on=date(2026, 1, 1)).agreement_active


@pytest.fixture
def loaded_derms(derms_db: Engine, extract: Path) -> Engine:
    load_all(derms_db, derms_cis.TABLES, extract, derms_schema.file_imports)
    return derms_db


def test_derms_knows_where_an_imported_customers_service_point_is(loaded_derms: Engine, extract: Path) -> None:
    contact = read(extract, "contacts").row(0, named=True)
    account = read(extract, "accounts").filter(pl.col("cisPersonId") == contact["cisPersonId"]).row(0, named=True)
    point = read(extract, "service_points").filter(pl.col("cisAccountId") == account["cisAccountId"]).row(0, named=True)
    locations, accounts = derms_schema.service_locations, derms_schema.customer_accounts
    with loaded_derms.connect() as connection:
        found = connection.execute(
            sa.select(locations, accounts.c.division, accounts.c.cis_person_id)
            .join_from(locations, accounts, locations.c.cis_account_id == accounts.c.cis_account_id)
            .where(locations.c.cis_service_point_id == point["cisServicePointId"])).one()
    assert (found.cis_premise_id, found.cis_account_id, found.division, found.cis_person_id) == (
        point["cisPremiseId"], account["cisAccountId"], account["division"], contact["cisPersonId"])
    assert found.time_zone.startswith("America/")


def test_a_hundred_thousand_rows_import_whole_and_then_unchanged(dacs_db: Engine, tmp_path: Path) -> None:
    rows = 100_000
    number = pl.int_range(rows, dtype=pl.Int64)
    pl.select(cisPersonId=number.cast(pl.String).str.zfill(10), name=pl.format("Oak,Ann{}", number),
              homePhone=pl.lit(None, pl.String), businessPhone=pl.lit(None, pl.String),
              email=pl.format("ann{}@example.com", number)).write_parquet(tmp_path / "persons.parquet")
    spec = dacs_cis.TABLES["persons"]
    first = load(dacs_db, spec, tmp_path / "persons.parquet", dacs_schema.file_imports)
    again = load(dacs_db, spec, tmp_path / "persons.parquet", dacs_schema.file_imports)
    assert (first.inserted, again.unchanged) == (rows, rows)
    assert rows_in(dacs_db, dacs_schema.persons) == rows
