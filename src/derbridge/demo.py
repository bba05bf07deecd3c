"""`derbridge demo`: the whole system on a fresh data directory, a scripted scenario, the message trail.

Each step is checked against what the systems report; the demo exits 0 only if every step succeeded.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from derbridge.bootstrap import BackgroundSystems, local_settings
from derbridge.config import Settings
from derbridge.operator import checked, operator_client, wait_for

SYNC_TIMEOUT_S = 30.0


@dataclass
class Scenario:
    settings: Settings
    console: Console
    results: list[tuple[str, bool, str, float]] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    def step(self, title: str, action: Callable[[], str]) -> bool:
        started = time.perf_counter()
        try:
            detail, ok = action(), True
        except Exception as exc:  # a failed step is reported, and the demo goes on to show the trail
            detail, ok = f"{type(exc).__name__}: {exc}", False
        elapsed = time.perf_counter() - started
        self.results.append((title, ok, detail, elapsed))
        mark = "[green]✔[/]" if ok else "[red]✘[/]"
        self.console.print(f"{mark} {title} [dim]({elapsed * 1000:.0f} ms)[/] {detail}")
        return ok


def aggregator_body(name: str, offerings: list[str]) -> dict[str, Any]:
    return {
        "name": name, "status": "ACTIVE", "startDate": "2026-01-01", "endDate": None,
        "contact": {"name": "Dana Operator", "email": "ops@example.org", "phone": "+1 555 0100"},
        "externalReferenceId": "ECO-42", "externalSystem": "ECOCLOUD", "programOfferings": offerings,
    }


def run_scenario(settings: Settings, console: Console) -> Scenario:
    scenario = Scenario(settings, console)
    dacs, derms, hub = (operator_client(settings, s) for s in ("dacs", "derms", "hub"))

    def completed(sync_request_id: str) -> Callable[[], dict[str, Any] | None]:
        def check() -> dict[str, Any] | None:
            found = checked(dacs.get(f"/api/sync-requests/{sync_request_id}"))
            return found if found["status"] in ("COMPLETE", "ERROR", "FAILED") else None
        return check

    def create() -> str:
        body = aggregator_body("EcoCloud Thermostats", ["SMARTSTAT"])
        created = checked(dacs.post("/api/aggregators", json=body))
        scenario.facts.update(created)
        return f"aggregator {created['aggregatorId']}, sync request {created['syncRequestId']}"

    def sync_of(key: str) -> Callable[[], str]:
        def wait() -> str:
            request = wait_for(completed(scenario.facts[key]), SYNC_TIMEOUT_S, f"sync request {scenario.facts[key]}")
            if request["status"] != "COMPLETE":
                raise RuntimeError(f"sync request ended {request['status']}: {request['lastError'] or request['ack']}")
            return f"sync request {request['syncRequestId']} COMPLETE after {request['attempts']} attempt(s)"
        return wait

    def in_derms(name: str) -> Callable[[], str]:
        def check() -> str:
            held = checked(derms.get("/api/aggregators"))
            found = [a for a in held if a["aggregatorId"] == scenario.facts["aggregatorId"]]
            if len(found) != 1 or found[0]["name"] != name:
                raise RuntimeError(f"DERMS holds {found!r}")
            return f"DERMS holds {name!r} with programs {found[0]['programCodes']}"
        return check

    def update() -> str:
        body = aggregator_body("EcoCloud Thermostats Inc.", ["SMARTSTAT", "EVSAVER"])
        updated = checked(dacs.put(f"/api/aggregators/{scenario.facts['aggregatorId']}", json=body))
        scenario.facts["updateSyncRequestId"] = updated["syncRequestId"]
        return f"sync request {updated['syncRequestId']}"

    def delete_without_sync() -> str:
        aggregator_id = scenario.facts["aggregatorId"]
        before = checked(dacs.get("/api/sync-requests", params={"objectId": aggregator_id}))
        checked(dacs.delete(f"/api/aggregators/{aggregator_id}"))
        after = checked(dacs.get("/api/sync-requests", params={"objectId": aggregator_id}))
        if len(after) != len(before):
            raise RuntimeError("deletion wrote a sync request")
        return "deleted in the program system; no sync request (as documented)"

    def trail() -> str:
        messages = checked(hub.get("/hub/api/messages", params={"key": scenario.facts["aggregatorId"]}))
        f3 = checked(hub.get("/hub/api/messages", params={"flow": "F3"}))
        acks = [m for m in f3 if m["kind"] == "aggregator-ack"]
        scenario.facts["trail"] = sorted(messages + acks, key=lambda m: m["id"])
        found = scenario.facts["trail"]
        bad = [m for m in found if m["status"] != "DELIVERED"]
        if len(found) != 4 or bad:
            raise RuntimeError(f"expected 4 delivered messages, found {len(found)} ({len(bad)} not delivered)")
        return "4 messages, all delivered"

    scenario.step("Create an aggregator in the program system", create)
    scenario.step("F3 sync reaches DERMS and its ack completes the sync request", sync_of("syncRequestId"))
    scenario.step("DERMS holds the aggregator", in_derms("EcoCloud Thermostats"))
    scenario.step("Update the aggregator (new name, second program)", update)
    scenario.step("F3 update sync completes", sync_of("updateSyncRequestId"))
    scenario.step("DERMS holds the update", in_derms("EcoCloud Thermostats Inc."))
    scenario.step("Delete the aggregator", delete_without_sync)
    scenario.step("Hub message trail is complete", trail)
    for client in (dacs, derms, hub):
        client.close()
    return scenario


def trail_table(messages: list[dict[str, Any]]) -> Table:
    table = Table(title="Message trail (hub)")
    for column in ("#", "flow", "kind", "from → to", "business keys", "status", "attempts", "received", "delivered"):
        table.add_column(column)
    for m in messages:
        keys = " ".join(f"{k}={v}" for k, v in m["keys"].items())
        table.add_row(str(m["id"]), m["flow"], m["kind"], f"{m['source']} → {m['target']}", keys, m["status"],
                      str(m["attempts"]), (m["receivedAt"] or "")[11:23], (m["deliveredAt"] or "")[11:23])
    return table


def main(console: Console, keep: bool = False) -> int:
    started = time.perf_counter()
    data_dir = Path(tempfile.mkdtemp(prefix="derbridge-demo-"))
    settings = local_settings(data_dir, retry_initial_s=0.2, retry_max_interval_s=2.0, sender_poll_s=0.2,
                              log_level="warning")
    console.print(f"[bold]derbridge demo[/] — three systems on loopback, data in {data_dir}")
    for system in ("hub", "dacs", "derms"):
        console.print(f"  {system:5} {settings.url(system)}")
    with BackgroundSystems(("hub", "dacs", "derms"), settings):
        scenario = run_scenario(settings, console)
    if scenario.facts.get("trail"):
        console.print(trail_table(scenario.facts["trail"]))
    ok = all(result[1] for result in scenario.results)
    elapsed = time.perf_counter() - started
    verdict = "[green]every step succeeded[/]" if ok else "[red]some steps failed[/]"
    console.print(f"{verdict} in {elapsed:.1f} s")
    if not keep:
        import shutil

        shutil.rmtree(data_dir, ignore_errors=True)
    return 0 if ok else 1
