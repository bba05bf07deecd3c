"""Simulated aggregator clouds and the gateway: what DERMS learns about devices, and from whom."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from derbridge.derms.headend.gateway import Gateway
from derbridge.derms.headend.model import DeviceStatus, HeadEndUnavailable, Registration
from derbridge.derms.headend.simulator import DATASET_AS_OF, CloudProfile, SimulatedCloud

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def fleet(*rows: tuple[str, bool, datetime]) -> pl.DataFrame:
    return pl.DataFrame(
        {"nicId": [r[0] for r in rows], "serialNo": [f"S{r[0]}" for r in rows], "make": ["ECOTHERM"] * len(rows),
         "model": ["ET300"] * len(rows), "firmware": ["5.4.2"] * len(rows), "online": [r[1] for r in rows],
         "lastSeenUtc": [r[2] for r in rows]},
        schema_overrides={"lastSeenUtc": pl.Datetime("us", "UTC")})


def cloud(**profile: float) -> SimulatedCloud:
    devices = fleet(("ECO-1", True, DATASET_AS_OF - timedelta(minutes=3)),
                    ("ECO-2", False, DATASET_AS_OF - timedelta(days=2)))
    return SimulatedCloud(CloudProfile("ECOCLOUD", **profile), devices, clock=lambda: NOW)


def test_an_online_device_reports_within_the_last_quarter_hour() -> None:
    [status] = cloud().latest_status(["ECO-1"])
    assert status.known and status.online
    assert status.last_seen is not None and NOW - timedelta(minutes=15) <= status.last_seen <= NOW


def test_an_offline_device_keeps_its_last_report_shifted_to_now() -> None:
    [status] = cloud().latest_status(["ECO-2"])
    assert status.known and not status.online
    assert status.last_seen == NOW - timedelta(days=2)
    assert "offline since" in status.message


def test_an_unknown_device_is_said_to_be_unknown() -> None:
    [status] = cloud().latest_status(["ECO-404"])
    assert not status.known and "no device ECO-404" in status.message


def test_a_device_that_goes_offline_is_reported_offline_from_then_on() -> None:
    simulated = cloud()
    simulated.set_online("ECO-1", False)
    [status] = simulated.latest_status(["ECO-1"])
    assert not status.online and status.last_seen == NOW


def test_registration_and_deregistration_change_what_the_cloud_holds() -> None:
    simulated = cloud()
    assert simulated.register(["ECO-1", "ECO-404"]) == [
        Registration("ECO-1", True, True), Registration("ECO-404", False, False, "ECOCLOUD has no device ECO-404")]
    assert simulated.is_registered("ECO-1")
    assert simulated.deregister(["ECO-1"]) == [Registration("ECO-1", False, True)]
    assert not simulated.is_registered("ECO-1")


def test_failures_follow_the_profile_and_a_retry_can_succeed() -> None:
    nics = [f"ECO-{i}" for i in range(400)]
    devices = fleet(*((nic, True, DATASET_AS_OF) for nic in nics))
    simulated = SimulatedCloud(CloudProfile("ECOCLOUD", registration_failure_rate=0.25, seed=7), devices,
                               clock=lambda: NOW)
    first = simulated.register(nics)
    failed = [r.nic_id for r in first if not r.ok]
    assert 60 <= len(failed) <= 140
    again = simulated.register(failed)
    assert sum(r.ok for r in again) > len(failed) / 2


def test_the_same_seed_fails_the_same_devices() -> None:
    nics = [f"ECO-{i}" for i in range(100)]
    devices = fleet(*((nic, True, DATASET_AS_OF) for nic in nics))

    def failures() -> list[str]:
        simulated = SimulatedCloud(CloudProfile("ECOCLOUD", status_failure_rate=0.3, seed=3), devices,
                                   clock=lambda: NOW)
        return [s.nic_id for s in simulated.latest_status(nics) if not s.online]

    assert failures() == failures()


class Unreachable:
    name = "NESTLIKE"
    reporting_lag_s = 0.0

    def latest_status(self, nic_ids: list[str]) -> list[DeviceStatus]:
        raise HeadEndUnavailable("connection refused")

    def register(self, nic_ids: list[str]) -> list[Registration]:
        raise HeadEndUnavailable("connection refused")

    def deregister(self, nic_ids: list[str]) -> list[Registration]:
        raise HeadEndUnavailable("connection refused")


def test_the_gateway_asks_each_head_end_for_its_own_devices_and_answers_per_device() -> None:
    gateway = Gateway([cloud(), Unreachable()])
    answers = gateway.latest_status([("ECOCLOUD", "ECO-1"), ("NESTLIKE", "N-1"), ("HOMEGRID", "H-1")])
    assert answers[("ECOCLOUD", "ECO-1")].online
    assert answers[("NESTLIKE", "N-1")].message == "NESTLIKE unavailable: connection refused"
    assert answers[("HOMEGRID", "H-1")].message == "unknown head-end system 'HOMEGRID'"


@pytest.mark.parametrize("verb", ["register", "deregister"])
def test_registration_through_an_unreachable_head_end_fails_for_each_device(verb: str) -> None:
    answers = getattr(Gateway([Unreachable()]), verb)([("NESTLIKE", "N-1"), ("NESTLIKE", "N-2")])
    assert [a.ok for a in answers.values()] == [False, False]


def test_a_dataset_fleet_costs_under_a_hundred_bytes_a_device(tmp_path: Path) -> None:
    from derbridge.dataset.generate import generate
    from derbridge.derms.headend.simulator import devices_file, load_fleets

    generate(tmp_path, 20_000, seed=1)
    clouds = load_fleets(devices_file(tmp_path), [CloudProfile(name) for name in ("ECOCLOUD", "NESTLIKE", "HOMEGRID")])
    statistics = [cloud.statistics() for cloud in clouds.values()]
    devices = sum(each["devices"] for each in statistics)
    assert devices == pl.read_parquet(tmp_path / "devices.parquet").height
    assert sum(each["fleetBytes"] for each in statistics) < 100 * devices
    nic = pl.read_parquet(tmp_path / "devices.parquet").filter(pl.col("headEndSystem") == "HOMEGRID")["nicId"][7]
    [status] = clouds["HOMEGRID"].latest_status([nic])
    assert status.known
