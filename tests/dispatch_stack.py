"""An event run through its stages on the shared clock across the three systems, for end-to-end tests of
dispatch and outcomes: the fleet in the simulated cloud too, the clock moved stage by stage, and what each
system then holds."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from derbridge.clock import advance_shared_clock, clock_for, utcnow
from derbridge.config import Settings
from derbridge.dacs import schema as dacs
from derbridge.store.db import make_engine
from derbridge.web.auth import outbound_credential
from derbridge.web.client import make_client
from derbridge.web.operator import checked, operator_client, wait_for
from tests.events_stack import HEAD_END, TIMEOUT_S, participations

FLEET_PROFILE = f"{HEAD_END} seed=5 response_rate=0.7 override_rate=0.5 offline_rate=0.0"
"""Several outcomes among two dozen devices (each of D1SP and D1IO missing once in 30,000 events)."""


def add_to_cloud(settings: Settings, nics: list[str], cloud_url: str = "") -> None:
    """The devices in the simulated cloud — DERMS's in-process one, or the one in its own process at
    `cloud_url` — so that it can be dispatched and report for them."""
    if cloud_url:
        client = make_client(cloud_url, outbound_credential(settings, "operator", "headend"), 10)
        path = "/fleet/devices"
    else:
        client, path = operator_client(settings, "derms"), f"/api/headends/{HEAD_END}/devices"
    with client:
        for nic in nics:
            checked(client.post(path, json={
                "nicId": nic, "serialNo": f"S{nic}", "make": "ECOTHERM", "model": "ET300",
                "lastSeenISO": (utcnow() - timedelta(days=30)).isoformat()}))


def registered_in_program_system(settings: Settings) -> None:
    """Every device registered with its head end in the program system's eyes (F5's ack does it), so that the
    score run counts it available."""
    engine = make_engine(settings.database_url("dacs"))
    try:
        with engine.begin() as connection:
            connection.execute(sa.update(dacs.controllable_devices).values(head_end_registration="D1RE"))
    finally:
        engine.dispose()


def performance(settings: Settings, event_id: str) -> dict[str, Any]:
    with operator_client(settings, "derms") as derms:
        return dict(checked(derms.get(f"/api/events/{event_id}/performance")))


def outcomes(settings: Settings, event_id: str) -> list[dict[str, Any]]:
    with operator_client(settings, "derms") as derms:
        return list(checked(derms.get(f"/api/events/{event_id}/outcomes", params={"limit": 10_000})))


def move_clock_to(settings: Settings, moment: datetime) -> None:
    """The shared clock (the systems' now) moved to `moment`."""
    advance_shared_clock(Path(settings.clock_file), moment - clock_for(settings.clock_file).now())


def run_stages(settings: Settings, event: dict[str, Any], finish: bool = True) -> None:
    """The clock to a minute into each stage, each time until DERMS has dispatched it; then (`finish`) past the
    end."""
    for index in range(len(event["stages"])):
        dispatch_stage(settings, event, index)
    if finish:
        finish_event(settings, event)


def dispatch_stage(settings: Settings, event: dict[str, Any], index: int) -> None:
    """The clock to a minute into the stage, and until DERMS has dispatched it."""
    stage = event["stages"][index]
    move_clock_to(settings, datetime.fromisoformat(stage["start"]) + timedelta(minutes=1))
    wait_for(lambda: performance(settings, event["eventId"])["stages"][index]["dispatch"] == "SENT",
             TIMEOUT_S, f"stage {stage['name']} dispatched", interval_s=0.1)


def finish_event(settings: Settings, event: dict[str, Any]) -> None:
    move_clock_to(settings, datetime.fromisoformat(event["end"]) + timedelta(minutes=1))


def wait_collected(settings: Settings, event_id: str) -> dict[str, Any]:
    return wait_for(lambda: (found := performance(settings, event_id))["outcomesCollected"] and found,
                    TIMEOUT_S, f"the outcomes of {event_id}", interval_s=0.1)


def wait_outcomes_applied(settings: Settings, event_id: str, expected: dict[str, str]) -> list[dict[str, Any]]:
    """The program system's participations once each device's outcome is the one DERMS sent."""
    def applied() -> list[dict[str, Any]] | None:
        held = participations(settings, event_id)
        return held if {p["nicId"]: p["outcome"] for p in held} == expected else None

    return wait_for(applied, TIMEOUT_S, f"the outcomes of {event_id} in the program system", interval_s=0.2)
