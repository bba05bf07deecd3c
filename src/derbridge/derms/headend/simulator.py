"""A simulated aggregator cloud: one head-end system with its thermostat fleet.

It answers what a real cloud answers DERMS's gateway: a device's latest communication status, whether the
utility's registration of a device took, which devices took a dispatch order, and each device's kW in each
quarter hour (behaviour.py: the fleet's model of load, response, overrides and devices going off line).
Its behaviour is set by a profile: how stale its reports are (reporting lag), how often a status query or a
registration fails, and how its fleet answers dispatches. Failures are decided by hashing the seed, the NIC id
and the attempt number, so a run is reproducible and a retry may succeed.

The fleet comes from a dataset's devices table (one row per device, `derbridge dataset generate`) and is
kept as a polars frame sorted by NIC id (a million devices in tens of megabytes); devices added at run time
and status changes live in small dictionaries beside it. A cloud without a dataset never loads polars, so
DERMS's default, empty clouds cost nothing at start-up. Dataset times count back from the dataset's
"as of" date; they are shifted so that "as of" is now.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from derbridge.clock import utcnow
from derbridge.derms.headend.model import (
    ACCEPTED,
    DEFAULT_TYPE,
    DISPATCH_COLUMNS,
    OFFLINE,
    REFUSED,
    DeviceStatus,
    DispatchOrder,
    Registration,
)

if TYPE_CHECKING:
    import polars as pl

FLEET_COLUMNS = ("nicId", "serialNo", "make", "model", "firmware", "online", "lastSeenUtc")
DATASET_AS_OF = datetime(2026, 1, 1, tzinfo=UTC)
KEEP_ORDERS = timedelta(days=8)
"""A cloud remembers its dispatch orders this long after they end: longer than DERMS reads back for a baseline."""
ONLINE_REPORT_EVERY_S = 900
"""An online device reports at least this often: its last report is at most this old."""


@dataclass(frozen=True)
class CloudProfile:
    """How a simulated cloud behaves."""

    name: str
    reporting_lag_s: float = 0.0
    """How long the cloud takes to get a device's current status."""
    status_failure_rate: float = 0.0
    """Share of status queries for which the device does not answer."""
    registration_failure_rate: float = 0.0
    """Share of registrations and deregistrations the cloud refuses."""
    seed: int = 0
    response_rate: float = 0.9
    """Share of dispatched devices that take the event (behaviour.py)."""
    override_rate: float = 0.05
    """Share of the devices taking an event whose customer overrides it while it runs."""
    offline_rate: float = 0.02
    """Share of dispatched devices that go off line during the event."""
    peak_temperature_c: float = 35.0
    """The afternoon's outdoor temperature (15:00 in the fleet's time zone)."""
    temperature_swing_c: float = 10.0
    """How much cooler the night is (03:00)."""


@dataclass(frozen=True)
class FleetDevice:
    nic_id: str
    serial_no: str
    make: str
    model: str
    firmware: str
    online: bool
    last_seen: datetime
    device_type: str = DEFAULT_TYPE


class SimulatedCloud:
    """One head-end system's fleet and the utility's registrations in it. Thread-safe."""

    def __init__(self, profile: CloudProfile, fleet: pl.DataFrame | None = None,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.profile = profile
        self.name = profile.name
        self._clock = clock
        self._fleet = _sorted_fleet(fleet)
        self._shift = clock() - DATASET_AS_OF
        self._added: dict[str, FleetDevice] = {}
        self._status_changes: dict[str, tuple[bool, datetime]] = {}
        self._registered: set[str] = set()
        self._attempts: dict[tuple[str, str], int] = {}
        self._orders: dict[str, pl.DataFrame] = {}
        self._order_ends: dict[str, datetime] = {}
        self._dispatched: list[pl.DataFrame] = []
        self._lock = threading.Lock()

    @property
    def reporting_lag_s(self) -> float:
        return self.profile.reporting_lag_s

    @property
    def size(self) -> int:
        return (self._fleet.height if self._fleet is not None else 0) + len(self._added)

    # ---- what DERMS's gateway asks ----

    def latest_status(self, nic_ids: list[str]) -> list[DeviceStatus]:
        devices = self.devices(nic_ids)
        now = self._clock()
        answers = []
        with self._lock:
            for nic_id in nic_ids:
                device = devices.get(nic_id)
                if device is None:
                    answers.append(DeviceStatus(nic_id, False, False, None, f"{self.name} has no device {nic_id}"))
                elif self._fails("status", nic_id, self.profile.status_failure_rate):
                    answers.append(DeviceStatus(nic_id, True, False, device.last_seen,
                                                "the device did not answer the status query"))
                else:
                    answers.append(self._status_of(device, now))
        return answers

    def register(self, nic_ids: list[str]) -> list[Registration]:
        return self._change_registration(nic_ids, register=True)

    def deregister(self, nic_ids: list[str]) -> list[Registration]:
        return self._change_registration(nic_ids, register=False)

    def dispatch(self, order: DispatchOrder, devices: pl.DataFrame) -> pl.DataFrame:
        """Pass the order to each device on line; the same order again is answered as the first time."""
        import polars as pl

        with self._lock:
            self._forget_before(self._clock() - KEEP_ORDERS)
            answered = self._orders.get(order.stage_id)
            self._order_ends[order.stage_id] = order.end
        new = devices if answered is None else devices.join(answered, on="nic_id", how="anti")
        if new.height:
            known = self._frame(new["nic_id"].to_list()).select("nic_id", online=pl.col("offline_since").is_null())
            online = pl.col("online")
            acks = new.join(known, on="nic_id", how="left").select(
                "nic_id", "kw",
                result=pl.when(online.is_null()).then(pl.lit(REFUSED)).when(online).then(pl.lit(ACCEPTED))
                .otherwise(pl.lit(OFFLINE)),
                message=pl.when(online.is_null()).then(pl.format("{} has no device {}", pl.lit(self.name), "nic_id"))
                .when(online).then(pl.lit("")).otherwise(pl.lit("the device is off line")))
            accepted = acks.filter(pl.col("result") == ACCEPTED).select(
                "nic_id", pl.col("kw").cast(pl.Float64), event_id=pl.lit(order.event_id),
                start=pl.lit(order.start).dt.cast_time_unit("us"), end=pl.lit(order.end).dt.cast_time_unit("us"))
            with self._lock:
                before = self._orders.get(order.stage_id)
                answers = acks.select(DISPATCH_COLUMNS)
                self._orders[order.stage_id] = answers if before is None else pl.concat([before, answers])
                self._dispatched.append(accepted)
        with self._lock:
            answered = self._orders[order.stage_id]
        return devices.select("nic_id").join(answered, on="nic_id", how="left", maintain_order="left")

    def end_dispatch(self, event_id: str, at: datetime) -> None:
        """Every order of the event ends at `at` at the latest."""
        import polars as pl

        ended = pl.min_horizontal("end", pl.lit(at).dt.cast_time_unit("us"))
        cut = pl.when(pl.col("event_id") == event_id).then(ended).otherwise("end")
        with self._lock:
            self._dispatched = [frame.with_columns(end=cut) for frame in self._dispatched]

    def telemetry(self, nic_ids: list[str], start: datetime, end: datetime) -> pl.DataFrame:
        """Each known device's kW and state per quarter hour of [start, end) that has ended (behaviour.py)."""
        import polars as pl

        from derbridge.derms.headend.behaviour import telemetry

        with self._lock:
            dispatched = pl.concat(self._dispatched) if self._dispatched else pl.DataFrame(
                schema={"nic_id": pl.String, "kw": pl.Float64, "event_id": pl.String,
                        "start": pl.Datetime("us", "UTC"), "end": pl.Datetime("us", "UTC")})
        dispatched = dispatched.filter(pl.col("nic_id").is_in(nic_ids), pl.col("start") < end, pl.col("end") > start)
        return telemetry(self.profile, self._frame(nic_ids).select("nic_id", "device_type", "offline_since"),
                         dispatched, start, end, self._clock())

    # ---- what an operator or a test does to the fleet ----

    def devices(self, nic_ids: list[str]) -> dict[str, FleetDevice]:
        """The fleet's devices among `nic_ids` (unknown ones are left out): a binary search in the sorted fleet."""
        found = {nic: self._added[nic] for nic in nic_ids if nic in self._added}
        wanted = [nic for nic in nic_ids if nic not in found]
        if not wanted or self._fleet is None:
            return found
        import polars as pl  # already loaded: it made the fleet

        positions = (self._fleet["nicId"].search_sorted(pl.Series(wanted, dtype=pl.String))
                     .clip(0, self._fleet.height - 1))
        rows = self._fleet[positions].filter(pl.col("nicId").is_in(wanted))
        for row in rows.iter_rows(named=True):
            found[row["nicId"]] = FleetDevice(row["nicId"], row["serialNo"], row["make"], row["model"],
                                              row["firmware"], row["online"], row["lastSeenUtc"] + self._shift)
        return found

    def add_device(self, device: FleetDevice) -> None:
        with self._lock:
            self._added[device.nic_id] = device

    def set_online(self, nic_id: str, online: bool) -> None:
        """The device goes on or off line now (a status change the cloud learns of at once)."""
        if not self.devices([nic_id]):
            raise KeyError(f"{self.name} has no device {nic_id}")
        with self._lock:
            self._status_changes[nic_id] = (online, self._clock())

    def is_registered(self, nic_id: str) -> bool:
        with self._lock:
            return nic_id in self._registered

    def registered_count(self) -> int:
        with self._lock:
            return len(self._registered)

    def statistics(self) -> dict[str, Any]:
        """What an operator wants to know about the fleet: its size, how much of it is online, registrations."""
        online = int(self._fleet["online"].sum()) if self._fleet is not None else 0
        with self._lock:
            added = list(self._added.values())
            changes = dict(self._status_changes)
            registered = len(self._registered)
        online += sum(device.online for device in added)
        for nic_id, (now_online, _since) in changes.items():
            [device] = self.devices([nic_id]).values()
            online += int(now_online) - int(device.online)
        return {"name": self.name, "devices": self.size, "online": online, "registered": registered,
                "statusChanges": len(changes), "fleetBytes": self._fleet.estimated_size() if self._fleet is not None
                else 0, "reportingLagS": self.profile.reporting_lag_s,
                "statusFailureRate": self.profile.status_failure_rate,
                "registrationFailureRate": self.profile.registration_failure_rate, "seed": self.profile.seed,
                "responseRate": self.profile.response_rate, "overrideRate": self.profile.override_rate,
                "offlineRate": self.profile.offline_rate, "peakTemperatureC": self.profile.peak_temperature_c,
                "temperatureSwingC": self.profile.temperature_swing_c, "ordersDispatched": len(self._orders)}

    # ---- inside ----

    def _forget_before(self, moment: datetime) -> None:
        """Under the lock: orders that ended before `moment` are forgotten, so a long-running cloud stays small."""
        old = [stage for stage, end in self._order_ends.items() if end < moment]
        if not old:
            return
        for stage in old:
            self._orders.pop(stage, None)
            self._order_ends.pop(stage, None)
        import polars as pl

        self._dispatched = [frame.filter(pl.col("end") >= moment) for frame in self._dispatched]
        self._dispatched = [frame for frame in self._dispatched if frame.height]

    def _frame(self, nic_ids: list[str]) -> pl.DataFrame:
        """The fleet's devices among `nic_ids`, whole frame at a time: nic_id, device_type, offline_since (null
        when on line now)."""
        import polars as pl

        schema = pl.Schema({"nic_id": pl.String(), "device_type": pl.String(), "online": pl.Boolean(),
                            "last_seen": pl.Datetime("us", "UTC")})
        parts = []
        if self._fleet is not None:
            kind = pl.col("deviceType").cast(pl.String) if "deviceType" in self._fleet.columns else pl.lit(
                DEFAULT_TYPE)
            parts.append(self._fleet.lazy().filter(pl.col("nicId").is_in(nic_ids)).select(
                nic_id="nicId", device_type=kind, online="online",
                last_seen=(pl.col("lastSeenUtc") + self._shift).dt.cast_time_unit("us")).collect())
        with self._lock:
            added = [device for nic, device in self._added.items() if nic in set(nic_ids)]
            changes = dict(self._status_changes)
        parts.append(pl.DataFrame({"nic_id": [d.nic_id for d in added], "device_type": [d.device_type for d in added],
                                   "online": [d.online for d in added], "last_seen": [d.last_seen for d in added]},
                                  schema=schema))
        frame = pl.concat([part.cast(schema) for part in parts]).unique("nic_id", keep="last")
        if changes:
            changed = pl.DataFrame({"nic_id": list(changes), "now_online": [c[0] for c in changes.values()],
                                    "since": [c[1] for c in changes.values()]},
                                   schema={"nic_id": pl.String, "now_online": pl.Boolean,
                                           "since": pl.Datetime("us", "UTC")})
            frame = frame.join(changed, on="nic_id", how="left").select(
                "nic_id", "device_type", online=pl.coalesce("now_online", "online"),
                last_seen=pl.when(pl.col("now_online").is_null()).then("last_seen").otherwise("since"))
        return frame.with_columns(offline_since=pl.when(pl.col("online")).then(None).otherwise(pl.col("last_seen")))

    def _status_of(self, device: FleetDevice, now: datetime) -> DeviceStatus:
        online, last_seen = device.online, device.last_seen
        changed = self._status_changes.get(device.nic_id)
        if changed is not None:
            online, since = changed
            last_seen = now if online else since
        elif online:
            last_seen = now - timedelta(seconds=self._spread("report", device.nic_id) % ONLINE_REPORT_EVERY_S)
        message = "" if online else f"offline since {last_seen.astimezone(UTC).isoformat()}"
        return DeviceStatus(device.nic_id, True, online, last_seen, message)

    def _change_registration(self, nic_ids: list[str], register: bool) -> list[Registration]:
        known = self.devices(nic_ids)
        verb = "registration" if register else "deregistration"
        answers = []
        with self._lock:
            for nic_id in nic_ids:
                if nic_id not in known:
                    answers.append(Registration(nic_id, nic_id in self._registered, False,
                                                f"{self.name} has no device {nic_id}"))
                elif self._fails(verb, nic_id, self.profile.registration_failure_rate):
                    answers.append(Registration(nic_id, nic_id in self._registered, False,
                                                f"{self.name} refused the {verb} of {nic_id}: temporary failure"))
                else:
                    if register:
                        self._registered.add(nic_id)
                    else:
                        self._registered.discard(nic_id)
                    answers.append(Registration(nic_id, register, True))
        return answers

    def _fails(self, purpose: str, nic_id: str, rate: float) -> bool:
        """Under the lock: whether this attempt fails; each attempt draws anew."""
        if rate <= 0:
            return False
        attempt = self._attempts.get((purpose, nic_id), 0) + 1
        self._attempts[(purpose, nic_id)] = attempt
        return self._spread(f"{purpose}/{attempt}", nic_id) % 1_000_000 < rate * 1_000_000

    def _spread(self, purpose: str, nic_id: str) -> int:
        digest = hashlib.blake2b(f"{self.profile.seed}/{self.name}/{purpose}/{nic_id}".encode(), digest_size=8)
        return int.from_bytes(digest.digest(), "big")


def _sorted_fleet(fleet: pl.DataFrame | None) -> pl.DataFrame | None:
    """The fleet sorted by NIC id for binary search; None when there is none."""
    if fleet is None or fleet.height == 0:
        return None
    missing = [column for column in FLEET_COLUMNS if column not in fleet.columns]
    if missing:
        raise ValueError(f"a fleet needs the columns {missing}")
    extra = ["deviceType"] if "deviceType" in fleet.columns else []
    return fleet.select(*FLEET_COLUMNS, *extra).sort("nicId")


def devices_file(dataset_dir: Path) -> Path:
    """A dataset's devices table, in whichever format it was written (manifest.json names it)."""
    manifest = dataset_dir / "manifest.json"
    if manifest.exists():
        return dataset_dir / json.loads(manifest.read_text())["tables"]["devices"]["file"]
    for candidate in (dataset_dir / "devices.parquet", dataset_dir / "devices.csv"):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"{dataset_dir} holds no devices table (devices.parquet or devices.csv)")


def load_fleets(devices_file: Path, profiles: list[CloudProfile],
                clock: Callable[[], datetime] = utcnow) -> dict[str, SimulatedCloud]:
    """One cloud per profile, each with the dataset devices of its head-end system.

    Each cloud reads only its own rows, and repeated strings (make, model, firmware) are kept once: a million
    devices take about 50 MB.
    """
    import polars as pl

    scan = pl.scan_parquet(devices_file) if devices_file.suffix == ".parquet" else pl.scan_csv(
        devices_file, try_parse_dates=True)
    names = [*FLEET_COLUMNS, *(["deviceType"] if "deviceType" in scan.collect_schema().names() else [])]
    compact = [pl.col(name).cast(pl.Categorical) if name in ("make", "model", "firmware", "deviceType")
               else pl.col(name) for name in names]
    return {profile.name: SimulatedCloud(
        profile, scan.filter(pl.col("headEndSystem") == profile.name).select(compact).collect(), clock)
        for profile in profiles}
