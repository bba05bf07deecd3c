"""The dataset generator: deterministic, referentially whole, within the vendor's field limits, realistic."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest
import typer
from typer.testing import CliRunner

from derbridge.benchmarks import dataset_generate
from derbridge.cli.tools.dataset import app as dataset_app
from derbridge.dataset.draws import AS_OF
from derbridge.dataset.generate import FORMAT_VERSION, Manifest, generate
from derbridge.dataset.spec import MAX_CUSTOMERS, TABLES

SMALL = 2_000
LARGE = 100_000
"""Enough customers for several substations, so feeder and substation ratios mean something."""


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Manifest]:
    out = tmp_path_factory.mktemp("small")
    return out, generate(out, SMALL, seed=11)


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("large")
    generate(out, LARGE, seed=5)
    return out


def read(out: Path, table: str) -> pl.DataFrame:
    if table == "make_model":
        return pl.read_csv(out / "make_model.csv")
    return pl.read_parquet(out / f"{table}.parquet")


def missing(child: pl.Series, parent: pl.Series) -> int:
    """How many child references have no parent row."""
    return int((~child.is_in(parent.implode())).sum())


def file_hashes(out: Path) -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(out.iterdir())}


# --- determinism and the manifest ---------------------------------------------------------------------------

def test_the_same_customers_and_seed_give_byte_identical_files(small: tuple[Path, Manifest],
                                                               tmp_path: Path) -> None:
    out, _ = small
    generate(tmp_path, SMALL, seed=11)
    assert file_hashes(tmp_path) == file_hashes(out)


def test_another_seed_gives_different_data_files(small: tuple[Path, Manifest], tmp_path: Path) -> None:
    out, manifest = small
    other = generate(tmp_path, SMALL, seed=12)
    changed = {table.name for table in other.tables if table.sha256 != manifest.table(table.name).sha256}
    assert changed == set(TABLES) - {"make_model", "rates"}, "lookups do not depend on the seed"


def test_the_manifest_records_version_seed_rows_and_checksum_of_every_table(
        small: tuple[Path, Manifest]) -> None:
    out, _ = small
    manifest = json.loads((out / "manifest.json").read_text())
    assert (manifest["formatVersion"], manifest["seed"], manifest["customers"]) == (FORMAT_VERSION, 11, SMALL)
    assert list(manifest["tables"]) == list(TABLES)
    for table, entry in manifest["tables"].items():
        assert entry["rows"] == read(out, table).height
        assert entry["sha256"] == hashlib.sha256((out / entry["file"]).read_bytes()).hexdigest()


def test_progress_is_reported_for_every_table_until_all_rows_are_written(tmp_path: Path) -> None:
    last: dict[str, tuple[int, int]] = {}

    def report(table: str, done: int, total: int) -> None:
        last[table] = (done, total)

    manifest = generate(tmp_path, 300, seed=1, progress=report)
    assert last == {table.name: (table.rows, table.rows) for table in manifest.tables}


def test_csv_holds_the_same_rows_with_utc_times_marked_z(small: tuple[Path, Manifest],
                                                         tmp_path: Path) -> None:
    out, _ = small
    manifest = generate(tmp_path, SMALL, seed=11, fmt="csv")
    assert {table.file for table in manifest.tables} == {f"{name}.csv" for name in TABLES}
    devices = pl.read_csv(tmp_path / "devices.csv", infer_schema=False)
    assert devices.height == read(out, "devices").height
    assert devices["lastSeenUtc"].str.ends_with("Z").all()


# --- referential integrity ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("table", "key"), [
    ("rates", "rateCode"), ("persons", "cisPersonId"), ("accounts", "cisAccountId"), ("premises", "cisPremiseId"),
    ("service_points", "cisServicePointId"), ("service_agreements", "cisServiceAgreementId"),
    ("contacts", "contactId"), ("substations", "substationId"), ("feeders", "feederId"),
    ("transformers", "transformerId"), ("service_point_locations", "cisServicePointId"),
    ("make_model", "makeModel"),
])
def test_every_table_has_a_unique_key(small: tuple[Path, Manifest], table: str, key: str) -> None:
    assert read(small[0], table)[key].is_unique().all()


def test_every_account_belongs_to_a_person(small: tuple[Path, Manifest]) -> None:
    out, _ = small
    assert missing(read(out, "accounts")["cisPersonId"], read(out, "persons")["cisPersonId"]) == 0


def test_every_account_and_agreement_is_on_a_described_rate(small: tuple[Path, Manifest]) -> None:
    out, _ = small
    rates = read(out, "rates")
    assert rates["description"].str.len_chars().min() > 0
    assert missing(read(out, "accounts")["rateCode"], rates["rateCode"]) == 0
    assert missing(read(out, "service_agreements")["rateCode"], rates["rateCode"]) == 0
    assert set(read(out, "accounts")["rateCode"]) == set(rates["rateCode"]), "every rate is in use"


def test_every_service_point_has_its_premise_account_and_transformer(small: tuple[Path, Manifest]) -> None:
    out, _ = small
    service_points = read(out, "service_points")
    assert missing(service_points["cisPremiseId"], read(out, "premises")["cisPremiseId"]) == 0
    assert missing(service_points["cisAccountId"], read(out, "accounts")["cisAccountId"]) == 0
    assert missing(service_points["transformerId"], read(out, "transformers")["transformerId"]) == 0
    assert service_points["locationId"].is_unique().all()


def test_every_service_agreement_joins_an_account_and_a_service_point(small: tuple[Path, Manifest]) -> None:
    out, _ = small
    agreements = read(out, "service_agreements")
    assert missing(agreements["cisAccountId"], read(out, "accounts")["cisAccountId"]) == 0
    assert missing(agreements["cisServicePointId"], read(out, "service_points")["cisServicePointId"]) == 0


def test_every_contact_belongs_to_a_person_and_repeats_a_person_field(small: tuple[Path, Manifest]) -> None:
    out, _ = small
    contacts, persons = read(out, "contacts"), read(out, "persons")
    assert missing(contacts["cisPersonId"], persons["cisPersonId"]) == 0
    assert set(contacts["kind"]) == {"HOME_PHONE", "BUSINESS_PHONE", "EMAIL"}
    fields = persons.select("cisPersonId", HOME_PHONE="homePhone", BUSINESS_PHONE="businessPhone",
                            EMAIL="email")
    stated = fields.unpivot(index="cisPersonId", variable_name="kind", value_name="value").drop_nulls()
    assert contacts.select("cisPersonId", "kind", "value").sort(pl.all()).equals(stated.sort(pl.all()))


def test_each_service_point_location_follows_its_transformer_up_to_the_substation(
        small: tuple[Path, Manifest]) -> None:
    out, _ = small
    transformers, feeders = read(out, "transformers"), read(out, "feeders")
    assert missing(transformers["feederId"], feeders["feederId"]) == 0
    assert missing(feeders["substationId"], read(out, "substations")["substationId"]) == 0
    derived = (read(out, "service_points").select("cisServicePointId", "transformerId")
               .join(transformers.select("transformerId", "feederId"), on="transformerId")
               .join(feeders.select("feederId", "substationId"), on="feederId"))
    locations = read(out, "service_point_locations").drop("effectiveStartDate")
    assert locations.sort(pl.all()).equals(derived.select(locations.columns).sort(pl.all()))


def test_network_dates_run_from_substation_down_to_service_point_and_stop_at_as_of(
        small: tuple[Path, Manifest]) -> None:
    out, _ = small
    transformers = read(out, "transformers").select("transformerId", "feederId",
                                                    transformer="effectiveStartDate")
    feeders = read(out, "feeders").select("feederId", "substationId", feeder="effectiveStartDate")
    substations = read(out, "substations").select("substationId", substation="effectiveStartDate")
    chain = (read(out, "service_point_locations").select("transformerId", "effectiveStartDate")
             .join(transformers, on="transformerId").join(feeders, on="feederId")
             .join(substations, on="substationId"))
    assert (chain["substation"] <= chain["feeder"]).all()
    assert (chain["feeder"] <= chain["transformer"]).all()
    assert (chain["transformer"] <= chain["effectiveStartDate"]).all()
    assert chain["effectiveStartDate"].max() <= AS_OF.date()


def test_every_device_is_on_a_service_point_and_its_make_model_is_in_the_lookup(
        small: tuple[Path, Manifest]) -> None:
    out, _ = small
    devices = read(out, "devices")
    assert missing(devices["cisServicePointId"], read(out, "service_points")["cisServicePointId"]) == 0
    keys = devices.select(pl.concat_str("make", pl.lit("!"), "model")).to_series()
    assert missing(keys, read(out, "make_model")["makeModel"]) == 0


def test_a_device_is_identified_by_head_end_and_nic_id(small: tuple[Path, Manifest]) -> None:
    devices = read(small[0], "devices")
    assert devices.select("headEndSystem", "nicId").is_unique().all()
    assert devices["nicId"].is_unique().all()
    assert devices["serialNo"].is_unique().all()


# --- field limits from FLOWS.md -----------------------------------------------------------------------------

@pytest.mark.parametrize(("table", "column", "limit"), [
    ("persons", "cisPersonId", 30), ("accounts", "cisAccountId", 30), ("accounts", "cisPersonId", 30),
    ("service_points", "cisServicePointId", 30), ("premises", "cisPremiseId", 30),
    ("service_agreements", "cisServiceAgreementId", 30),
    ("devices", "nicId", 100), ("devices", "headEndSystem", 50),
])
def test_identifiers_fit_the_vendor_field_lengths(small: tuple[Path, Manifest], table: str, column: str,
                                                  limit: int) -> None:
    lengths = read(small[0], table)[column].str.len_chars()
    assert lengths.min() > 0
    assert lengths.max() <= limit


def test_locations_carry_what_an_f4_enrollment_needs(small: tuple[Path, Manifest]) -> None:
    out, _ = small
    premises = read(out, "premises")
    for column in ("address1", "city", "county", "state", "postal", "country", "timeZone"):
        assert premises[column].null_count() == 0, column
    assert all(ZoneInfo(zone) for zone in premises["timeZone"].unique())
    assert premises["postal"].str.contains(r"^\d{5}$").all()
    assert set(read(out, "accounts")["division"]) <= {"ELEC-N", "ELEC-S"}


def test_contact_details_are_obviously_fictional(small: tuple[Path, Manifest]) -> None:
    persons = read(small[0], "persons")
    phones = pl.concat([persons["homePhone"], persons["businessPhone"]]).drop_nulls()
    assert phones.str.contains(r"^\(\d{3}\) 555-01\d{2}$").all()
    assert persons["email"].drop_nulls().str.contains(r"@example\.(com|net|org)$").all()
    assert persons["name"].str.contains(r"^[A-Z][a-z]+,[A-Z][a-z]+$").all()


def test_devices_report_in_utc_and_online_ones_were_seen_in_the_last_quarter_hour(
        small: tuple[Path, Manifest]) -> None:
    devices = read(small[0], "devices")
    assert devices.schema["lastSeenUtc"] == pl.Datetime("us", "UTC")
    assert devices["lastSeenUtc"].max() <= AS_OF
    assert AS_OF - devices.filter("online")["lastSeenUtc"].min() <= timedelta(minutes=15)
    assert AS_OF - devices.filter(~pl.col("online"))["lastSeenUtc"].max() >= timedelta(hours=1)


def test_enrolled_devices_and_only_they_carry_a_program_code(small: tuple[Path, Manifest]) -> None:
    devices = read(small[0], "devices")
    assert (devices["enrolled"] == devices["programCode"].is_not_null()).all()
    assert devices["installDate"].max() < AS_OF.date()


# --- realistic ratios (larger dataset) ----------------------------------------------------------------------

def test_eight_to_twelve_service_points_per_transformer(large: Path) -> None:
    ratio = read(large, "service_points").height / read(large, "transformers").height
    assert 8 <= ratio <= 12


def test_a_few_hundred_transformers_per_feeder_and_about_eight_feeders_per_substation(large: Path) -> None:
    feeders = read(large, "feeders").height
    assert 200 <= read(large, "transformers").height / feeders <= 400
    assert 6 <= feeders / read(large, "substations").height <= 10


def test_ratings_grow_from_transformer_to_substation(large: Path) -> None:
    transformers, feeders = read(large, "transformers"), read(large, "feeders")
    assert set(transformers["capacityKw"]) <= {25.0, 37.5, 50.0, 75.0, 100.0, 167.0}
    assert 4_000 <= feeders["capacityKw"].median() <= 15_000
    assert read(large, "substations")["capacityKw"].min() >= feeders["capacityKw"].max()


def test_about_thirty_percent_own_a_thermostat_and_some_own_two(large: Path) -> None:
    devices = read(large, "devices")
    per_service_point = devices.group_by("cisServicePointId").len()
    assert 0.28 <= per_service_point.height / LARGE <= 0.32
    assert 0.05 <= (per_service_point["len"] == 2).mean() <= 0.20
    assert per_service_point["len"].max() == 2


def test_fleets_are_split_across_several_aggregator_clouds(large: Path) -> None:
    shares = read(large, "devices")["headEndSystem"].value_counts(normalize=True)
    assert shares.height >= 2
    assert shares["proportion"].min() >= 0.10


def test_most_customers_have_one_service_point_and_one_agreement_per_service_point(large: Path) -> None:
    service_points = read(large, "service_points")
    assert 1.0 <= service_points.height / LARGE <= 1.05
    assert read(large, "service_agreements").height == service_points.height


@pytest.mark.parametrize(("customers", "thermostat_share"),
                         [(0, 0.3), (MAX_CUSTOMERS + 1, 0.3), (10, 1.5), (10, -0.1)])
def test_impossible_sizes_and_shares_are_refused(tmp_path: Path, customers: int,
                                                 thermostat_share: float) -> None:
    with pytest.raises(ValueError):
        generate(tmp_path, customers, seed=1, thermostat_share=thermostat_share)


# --- the command line and the benchmark ---------------------------------------------------------------------

def test_the_cli_writes_the_dataset_and_prints_a_summary(tmp_path: Path) -> None:
    main = typer.Typer()
    main.add_typer(dataset_app, name="dataset")
    result = CliRunner().invoke(main, ["dataset", "generate", "--customers", "500", "--seed", "3",
                                       "--out", str(tmp_path), "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "manifest.json").read_text())["customers"] == 500
    assert "service_point_locations" in result.output
    assert "total" in result.output


def test_the_benchmark_reports_what_the_harness_requires() -> None:
    result = dataset_generate.run(size=SMALL, database=None)
    assert result["name"] == "dataset-generate"
    assert result["unit"] == "s"
    assert result["met"] is (result["value"] <= 60.0)
    assert result["baseline"] > 0
    assert result["peak_rss_mb"] > 0



def test_the_legacy_extract_lists_every_enrolled_device_with_its_customer_and_agreement(
        small: tuple[Path, Manifest]) -> None:
    out, _manifest = small
    extract, devices = read(out, "enrolled_devices"), read(out, "devices")
    assert extract.height == devices.filter(pl.col("enrolled")).height
    assert extract.null_count().row(0) == (0,) * extract.width
    accounts, agreements = read(out, "accounts"), read(out, "service_agreements")
    joined = extract.join(agreements, on="cisServiceAgreementId").join(accounts, on="cisAccountId")
    assert (joined["cisServicePointId"] == joined["cisServicePointId_right"]).all()
    assert (joined["cisPersonId"] == joined["cisPersonId_right"]).all()
    assert set(extract["specification"].unique()) <= set(read(out, "make_model")["specification"])
