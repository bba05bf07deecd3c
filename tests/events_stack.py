"""Events and reservations across the three systems, for end-to-end tests: one program's fleet in DERMS (rules,
network, registered devices) and in the program system (the same devices enrolled), and an operator's steps."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from derbridge.clock import utcnow
from derbridge.config import Settings
from derbridge.store.db import make_engine
from derbridge.store.migrations import upgrade
from derbridge.web.operator import checked, operator_client, wait_for
from tests import grid, seed

TIMEOUT_S = 60
HEAD_END = "ECOCLOUD"


def seed_fleet(settings: Settings, devices_per_transformer: int = 4) -> list[str]:
    """SMARTSTAT's rules, the small grid and devices on each of its transformers in DERMS; the same devices
    enrolled in the program system. Returns the devices' NIC ids."""
    nics = {transformer: [f"{transformer}-N{n}" for n in range(1, devices_per_transformer + 1)]
            for transformer in grid.SMALL_GRID.transformers}
    derms = make_engine(settings.database_url("derms"))
    dacs = make_engine(settings.database_url("dacs"))
    try:
        upgrade("derms", derms)
        upgrade("dacs", dacs)
        grid.add_program(derms)
        grid.add_grid(derms)
        for transformer, nic_ids in nics.items():
            grid.add_devices(derms, grid.SMALL_GRID, transformer, nic_ids)
        with dacs.begin() as connection:
            seed.add_program(connection)
            seed.add_enrolled_devices(connection, grid.PROGRAM,
                                      [(HEAD_END, nic) for nic_ids in nics.values() for nic in nic_ids])
    finally:
        derms.dispose()
        dacs.dispose()
    return [nic for nic_ids in nics.values() for nic in nic_ids]


def create_event(settings: Settings, hours_ahead: float = 3.0, **changes: Any) -> dict[str, Any]:
    start = utcnow().replace(microsecond=0) + timedelta(hours=hours_ahead)
    body = {"name": "Heat wave", "eventType": "EMERGENCY", "programCode": grid.PROGRAM, "targetKw": 3.0,
            "start": start.isoformat(), "end": (start + timedelta(hours=2)).isoformat(), **changes}
    with operator_client(settings, "derms") as derms:
        return dict(checked(derms.post("/api/events", json=body)))


def reserve(settings: Settings, event_id: str, **body: Any) -> dict[str, Any]:
    with operator_client(settings, "derms") as derms:
        return dict(checked(derms.post(f"/api/events/{event_id}/reservation", json=body)))


def cancel(settings: Settings, event_id: str, reason: str = "forecast cooler") -> dict[str, Any]:
    with operator_client(settings, "derms") as derms:
        return dict(checked(derms.post(f"/api/events/{event_id}/cancel", json={"reason": reason})))


def reservation(settings: Settings, event_id: str) -> dict[str, Any]:
    with operator_client(settings, "derms") as derms:
        return dict(checked(derms.get(f"/api/events/{event_id}/reservation")))


def program_event(settings: Settings, event_id: str) -> dict[str, Any] | None:
    with operator_client(settings, "dacs") as dacs:
        response = dacs.get(f"/api/program-events/{event_id}")
    return None if response.status_code == 404 else dict(checked(response))


def participations(settings: Settings, event_id: str) -> list[dict[str, Any]]:
    with operator_client(settings, "dacs") as dacs:
        return list(checked(dacs.get(f"/api/program-events/{event_id}/participations",
                                     params={"limit": 10_000})))


def wait_program_event(settings: Settings, event_id: str, status: str, reserved: int | None = None,
                       timeout_s: float = TIMEOUT_S) -> dict[str, Any]:
    """The program system's view of the event once it reached `status` (and holds `reserved` reservations)."""
    def reached() -> dict[str, Any] | None:
        found = program_event(settings, event_id)
        if found is None or found["status"] != status:
            return None
        return found if reserved is None or found["reserved"] == reserved else None

    return wait_for(reached, timeout_s, f"event {event_id} {status} in the program system"
                    + (f" with {reserved} reserved" if reserved is not None else ""), interval_s=0.1)


def wait_ack(settings: Settings, event_id: str, version: int = 1, timeout_s: float = TIMEOUT_S) -> dict[str, Any]:
    """DERMS's record of the hub's ack of the event's device list `version`."""
    def acked() -> dict[str, Any] | None:
        lists = reservation(settings, event_id)["deviceLists"]
        found = [each for each in lists if each["version"] == version and each["ackType"]]
        return found[0] if found else None

    return wait_for(acked, timeout_s, f"the ack of device list {version} of {event_id}", interval_s=0.1)


def hub_messages(settings: Settings, key: str, flow: str | None = None) -> list[dict[str, Any]]:
    with operator_client(settings, "hub") as hub:
        return list(checked(hub.get("/hub/api/messages", params={"key": key, **({"flow": flow} if flow else {})})))
