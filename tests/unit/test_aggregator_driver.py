"""The aggregator driver's records: the dataset's not-yet-enrolled devices of one cloud, each with its customer,
location and agreement from the CIS tables, valid for DERMS's aggregator API, the same every time."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from derbridge.dataset.generate import generate
from derbridge.derms.enrollment.intake import EnrollmentRecord
from derbridge.scenario import aggregator

CUSTOMERS = 1200


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dataset")
    generate(out, CUSTOMERS, seed=3)
    return out


def records_of(dataset: Path, head_end: str, count: int) -> list[dict]:
    devices = aggregator.candidates(dataset, head_end, count)
    return aggregator.enrollment_records(devices, "SMARTSTAT", aggregator.dataset_as_of(dataset))


def test_records_are_the_first_devices_of_the_cloud_not_yet_enrolled(dataset: Path) -> None:
    records = records_of(dataset, "NESTLIKE", 25)
    devices = pl.read_parquet(dataset / "devices.parquet")
    expected = devices.filter((pl.col("headEndSystem") == "NESTLIKE") & ~pl.col("enrolled"))["nicId"].head(25)
    assert [r["assetInfo"]["assetList"][0]["nicId"] for r in records] == expected.to_list()


def test_each_record_carries_its_customer_location_and_agreement_from_the_cis(dataset: Path) -> None:
    tables = {name: pl.read_parquet(dataset / f"{name}.parquet")
              for name in ("devices", "service_points", "accounts", "persons", "service_agreements", "premises")}
    lookup = pl.read_csv(dataset / "make_model.csv")["makeModel"].to_list()
    for each in records_of(dataset, "HOMEGRID", 15):
        EnrollmentRecord.model_validate(each)
        asset = each["assetInfo"]["assetList"][0]
        location, customer = each["locationInfo"], each["customerInfo"]
        device = tables["devices"].filter(pl.col("nicId") == asset["nicId"]).row(0, named=True)
        point = tables["service_points"].filter(pl.col("cisServicePointId") == device["cisServicePointId"]).row(
            0, named=True)
        account = tables["accounts"].filter(pl.col("cisAccountId") == point["cisAccountId"]).row(0, named=True)
        person = tables["persons"].filter(pl.col("cisPersonId") == account["cisPersonId"]).row(0, named=True)
        agreement = tables["service_agreements"].filter(pl.col("cisServicePointId") == point["cisServicePointId"])
        premise = tables["premises"].filter(pl.col("cisPremiseId") == point["cisPremiseId"]).row(0, named=True)
        assert (location["cisServicePointId"], location["cisPremiseId"], location["locationId"]) == (
            point["cisServicePointId"], point["cisPremiseId"], point["locationId"])
        assert (customer["cisAccountId"], customer["cisPersonId"], customer["name"]) == (
            account["cisAccountId"], person["cisPersonId"], person["name"])
        assert location["division"] == account["division"] and location["city"] == premise["city"]
        assert each["programInfo"]["cisServiceAgreementId"] == agreement["cisServiceAgreementId"][0]
        assert asset["specification"] == f"{device['make']}!{device['model']}" and asset["specification"] in lookup
        assert (asset["serialNo"], asset["headEndSystem"]) == (device["serialNo"], "HOMEGRID")
        assert (each["enrollmentSource"], each["assetInfo"]["installationMethod"],
                each["assetInfo"]["assetOwnership"]) == ("X1BY", "X1SI", "W1CO")


def test_the_same_dataset_gives_the_same_records_and_batches(dataset: Path, tmp_path: Path) -> None:
    first = records_of(dataset, "ECOCLOUD", 40)
    assert records_of(dataset, "ECOCLOUD", 40) == first
    assert records_of(dataset, "ECOCLOUD", 20) == first[:20]
    assert [b["batchId"] for b in aggregator.batches(first, 15)] == [
        b["batchId"] for b in aggregator.batches(records_of(dataset, "ECOCLOUD", 40), 15)]
    assert [len(b["records"]) for b in aggregator.batches(first, 15)] == [15, 15, 10]
    generate(tmp_path / "csv", CUSTOMERS, seed=3, fmt="csv")
    assert records_of(tmp_path / "csv", "ECOCLOUD", 40) == first, "CSV and Parquet datasets agree"


def test_a_cloud_with_fewer_candidates_gives_what_it_has(dataset: Path) -> None:
    assert len(records_of(dataset, "HOMEGRID", 10**6)) < 10**6
    assert records_of(dataset, "NO-SUCH-CLOUD", 5) == []
