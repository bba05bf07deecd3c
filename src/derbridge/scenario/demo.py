"""`derbridge demo`: the whole system on a fresh data directory, a scripted scenario, the message trails.

Three acts. An aggregator's details created, updated and deleted in the program system (F3). Then a small
utility: its CIS extract loaded into both systems, a thermostat program approved, an aggregator enrolling its
customers' thermostats through DERMS (F4) — one record refused for an unknown program — each device's status
checked (F6), the enrollments ACTIVE and synced to DERMS, which registers the devices with their head end
(F5); then one customer opts out and another's thermostat is replaced. Last, the program system scores the
enrolled thermostats and explains one score (F7). Each step is checked against what the systems report; the
demo exits 0 only if every step succeeded.
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from derbridge.bootstrap import BackgroundSystems, configure_logging, local_settings
from derbridge.config import Settings
from derbridge.scenario import utility
from derbridge.web.operator import checked, operator_client, wait_for

SYNC_TIMEOUT_S = 30.0
CUSTOMERS, SEED = 1_000, 7
ENROLLING = 12
"""On-line thermostats the aggregator enrolls; one more record names a program that does not exist."""
PROGRAM, HEAD_END = "SMARTSTAT", "ECOCLOUD"


@dataclass
class Scenario:
    settings: Settings
    console: Console
    results: list[tuple[str, bool, str, float]] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    after_step: Callable[[str], None] | None = None
    """Called with each step's title once it is done: a fault test's place to kill a system."""

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
        if self.after_step is not None:
            self.after_step(title)
        return ok


def aggregator_body(name: str, offerings: list[str]) -> dict[str, Any]:
    return {
        "name": name, "status": "ACTIVE", "startDate": "2026-01-01", "endDate": None,
        "contact": {"name": "Dana Operator", "email": "ops@example.org", "phone": "+1 555 0100"},
        "externalReferenceId": "ECO-42", "externalSystem": "ECOCLOUD", "programOfferings": offerings,
    }


def run_scenario(settings: Settings, console: Console, dataset: Path) -> Scenario:
    scenario = Scenario(settings, console)
    dacs, derms, hub = (operator_client(settings, s) for s in ("dacs", "derms", "hub"))
    try:
        console.rule("F3 — an aggregator's details")
        aggregator_act(scenario, dacs, derms, hub)
        console.rule("F4, F6, F5 — enrollment")
        if enrollment_act(scenario, dacs, derms, hub, dataset):
            console.rule("F7 — device scores")
            scores_act(scenario, dacs, derms)
    finally:
        for client in (dacs, derms, hub):
            client.close()
    return scenario


def aggregator_act(scenario: Scenario, dacs: Any, derms: Any, hub: Any) -> None:
    """Create, update and delete an aggregator in the program system; DERMS follows through the hub."""

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
        found = scenario.facts["trail"] = sorted(messages + acks, key=lambda m: m["id"])
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


def enrollment_act(scenario: Scenario, dacs: Any, derms: Any, hub: Any, dataset: Path) -> bool:
    """A small utility's customers enroll their thermostats through an aggregator; one opts out, one
    thermostat is replaced."""
    from derbridge.scenario.aggregator import candidates, enroll, enrollment_records  # polars: here only

    settings = scenario.settings
    devices = candidates(dataset, HEAD_END, ENROLLING + 2, online_only=True)
    start = utility.dataset_start(dataset)
    records = enrollment_records(devices.head(ENROLLING + 1), PROGRAM, start)
    wanted, spare = records[:ENROLLING], records[ENROLLING]
    [stray] = enrollment_records(devices.tail(1), "NOPROGRAM", start)
    facts = scenario.facts

    def load() -> str:
        loaded = utility.load_customers(settings, dataset)
        return f"{loaded['dacs']:,} rows into the program system, {loaded['derms']:,} into DERMS"

    def programs() -> str:
        return "approved: " + ", ".join(utility.set_up_programs(settings, *utility.dataset_eligibility(dataset)))

    def aggregator_enrolls() -> str:
        with utility.aggregator_client(settings) as client:
            run = enroll(client, [*wanted, stray], batch_size=ENROLLING + 1, poll_s=0.2, timeout_s=SYNC_TIMEOUT_S)
        results = [result for batch in run.batches for result in batch.get("results", [])]
        codes = Counter(result["responseCode"] for result in results)
        if codes != Counter({"SUCCESS": ENROLLING, "ERROR": 1}):
            raise RuntimeError(f"per-record results {dict(codes)}")
        [refused] = [result for result in results if result["responseCode"] == "ERROR"]
        facts["batchId"] = run.batches[0]["batchId"]
        return (f"batch {facts['batchId']}: {ENROLLING} SUCCESS, 1 ERROR "
                f"({refused['messageCategory']}/{refused['messageNumber']}: {refused['messageText']})")

    def settled(expected: dict[str, int]) -> Callable[[], str]:
        def wait() -> str:
            counts = utility.wait_until_settled(settings, sum(expected.values()), SYNC_TIMEOUT_S)
            if counts["enrollments"] != expected:
                raise RuntimeError(f"enrollments {counts['enrollments']}")
            registered = Counter(d["headEndRegistration"] for d in checked(dacs.get("/api/devices")))
            return (f"enrollments {counts['enrollments']}; every sync request COMPLETE; "
                    f"devices by head-end registration {dict(registered)}")
        return wait

    def opt_out() -> str:
        leaving = _enrollment_of(dacs, wanted[0])
        checked(dacs.post(f"/api/enrollments/{leaving['enrollmentId']}/unenroll", json={"reason": "CUSTOMEROPTOUT"}))
        facts["leavingNic"] = _nic(wanted[0])
        return f"enrollment {leaving['enrollmentId']} UNENROLLED (CUSTOMEROPTOUT)"

    def replace() -> str:
        [old] = _enrollment_of(dacs, wanted[1])["devices"]
        new = checked(dacs.post(f"/api/devices/{old['deviceId']}/replace", json={
            "sequence": 1, "specification": old["specification"], "assetType": old["deviceType"],
            "nicId": _nic(spare), "headEndSystem": HEAD_END}))
        facts["replacedNic"] = old["nicId"]
        return f"device {old['deviceId']} ({old['nicId']}) replaced by {new['deviceId']} ({_nic(spare)})"

    def head_end_registrations() -> str:
        def registration(nic: str) -> str:
            return str(checked(derms.get(f"/api/devices/{HEAD_END}/{nic}"))["headEndRegistration"])

        found = {nic: registration(nic) for nic in (facts["leavingNic"], facts["replacedNic"], _nic(spare))}
        if list(found.values()) != ["D1DR", "D1DR", "D1RE"]:
            raise RuntimeError(f"DERMS registrations {found}")
        return "DERMS: " + ", ".join(f"{nic} {status}" for nic, status in found.items())

    def agent_check() -> str:
        [device] = _enrollment_of(dacs, wanted[2])["devices"]
        asked = checked(dacs.post(f"/api/devices/{device['deviceId']}/status-checks"))

        def answered() -> dict[str, Any] | None:
            check = checked(dacs.get(f"/api/status-checks/{asked['communicationId']}"))
            return check if check["status"] != "AWAITRESP" else None

        check = wait_for(answered, SYNC_TIMEOUT_S, f"status check {asked['communicationId']}")
        if check["status"] != "SUCCESS":
            raise RuntimeError(f"status check {check}")
        return f"status check {asked['communicationId']} SUCCESS, last seen {check['lastSeen']}"

    def device_trail() -> str:
        found = _trail_of(hub, facts["replacedNic"])
        facts["deviceTrail"] = found
        flows = Counter(f"{m['flow']} {m['kind']}" for m in found)
        bad = [m for m in found if m["status"] != "DELIVERED"]
        expected = {"F4 enrollment-record", "F6 status-check", "F6 status-result", "F5 enrollment-sync",
                    "F5 enrollment-ack"}
        if bad or not expected <= set(flows):
            raise RuntimeError(f"trail {dict(flows)} ({len(bad)} not delivered)")
        return f"{len(found)} messages, all delivered: " + ", ".join(f"{kind} ×{n}" for kind, n in flows.items())

    steps: list[tuple[str, Callable[[], str]]] = [
        (f"Load the CIS extract of {CUSTOMERS:,} customers into both systems", load),
        ("Set up and approve the thermostat programs", programs),
        (f"Aggregator {HEAD_END} enrolls {ENROLLING} thermostats through DERMS, and one record for a program that "
         "does not exist", aggregator_enrolls),
        ("Status checks succeed, enrollments ACTIVE, syncs acknowledged with head-end registration",
         settled({"ACTIVE": ENROLLING, "VAL-ERROR": 1})),
        ("A customer opts out (unenrollment)", opt_out),
        ("Another customer's thermostat is replaced", replace),
        ("Both syncs acknowledged", settled({"ACTIVE": ENROLLING - 1, "UNENROLLED": 1, "VAL-ERROR": 1})),
        ("DERMS deregistered the old devices and registered the new one", head_end_registrations),
        ("An agent checks a device's status", agent_check),
        ("Hub message trail of the replaced thermostat is complete", device_trail),
    ]
    return all(scenario.step(title, action) for title, action in steps)  # each step builds on the one before


def scores_act(scenario: Scenario, dacs: Any, derms: Any) -> None:
    """The program system scores every enrolled thermostat and says why one of them scored what it did; the
    score file goes through the hub, and DERMS holds the new set."""
    facts = scenario.facts

    def run() -> str:
        started = checked(dacs.post("/api/score-runs"))
        path = f"/api/score-runs/{started['runId']}"
        done = wait_for(lambda: (found := checked(dacs.get(path)))["status"] != "RUNNING" and found,
                        SYNC_TIMEOUT_S, f"score run {started['runId']}")
        if done["status"] != "DONE" or done["devices"] != ENROLLING - 1:  # one opted out
            raise RuntimeError(f"score run {done}")
        devices = checked(dacs.get("/api/devices", params={"status": "ACTIVE"}))
        facts["scores"] = [{**checked(dacs.get(f"/api/devices/{d['deviceId']}/score")), "nicId": d["nicId"],
                            "headEndSystem": d["headEndSystem"]} for d in devices]
        facts["run"] = done
        return f"{done['devices']} thermostats scored, {done['eligible']} eligible; file {done['fileName']}"

    def explain() -> str:
        device = facts["scores"][0]["deviceId"]
        facts["trial"] = tried = checked(dacs.post("/api/score-rule-sets/DEFAULT/test", json={"deviceId": device}))
        if tried["components"] != facts["scores"][0]["components"]:
            raise RuntimeError(f"the trial gives {tried['components']}, the run {facts['scores'][0]['components']}")
        return f"{device}: score {tried['score']:g} by {tried['ruleSet']}, the same components as the run"

    def in_derms() -> str:
        name = facts["run"]["fileName"]
        held = wait_for(lambda: next((s for s in checked(derms.get("/api/score-sets"))
                                      if s["fileName"] == name and s["inForce"]), None), SYNC_TIMEOUT_S,
                        f"DERMS holding {name}")
        if (held["rows"], held["eligible"]) != (facts["run"]["devices"], facts["run"]["eligible"]):
            raise RuntimeError(f"DERMS holds {held}, the program system scored {facts['run']}")
        first = facts["scores"][0]
        [row] = checked(derms.get(f"/api/devices/{first['headEndSystem']}/{first['nicId']}/score"))
        if (row["score"], row["eligible"]) != (first["score"], first["eligible"]):
            raise RuntimeError(f"DERMS gives {first['nicId']} {row}, the program system {first}")
        return (f"score set {held['setId']} in force: {held['rows']} devices, {held['eligible']} eligible; "
                f"{first['nicId']} scores {row['score']:g} in both systems")

    if scenario.step(f"The program system scores the {ENROLLING - 1} enrolled thermostats", run):
        scenario.step("Why one thermostat scored what it did", explain)
        scenario.step("The score file through the hub: DERMS switches to the new score set", in_derms)


def _nic(record: dict[str, Any]) -> str:
    return str(record["assetInfo"]["assetList"][0]["nicId"])


def _enrollment_of(dacs: Any, record: dict[str, Any]) -> dict[str, Any]:
    """The program system's enrollment for an aggregator's record (its messageId is the transactionId)."""
    [found] = [e for e in checked(dacs.get("/api/enrollments", params={"limit": 1000}))
               if e["transactionId"] == record["params"]["messageId"]]
    return checked(dacs.get(f"/api/enrollments/{found['enrollmentId']}"))


def _trail_of(hub: Any, nic_id: str) -> list[dict[str, Any]]:
    """Every message about a device: those naming its NIC, and the answers correlated to them."""
    found = {m["id"]: m for m in checked(hub.get("/hub/api/messages", params={"key": nic_id}))}
    for message in list(found.values()):
        for name in ("communicationId", "syncRequestId"):
            if name in message["keys"]:
                for answer in checked(hub.get("/hub/api/messages", params={"key": message["keys"][name]})):
                    found[answer["id"]] = answer
    return sorted(found.values(), key=lambda m: m["id"])


def trail_table(messages: list[dict[str, Any]], title: str = "Message trail (hub)") -> Table:
    table = Table(title=title)
    for column in ("#", "flow", "kind", "from → to", "business keys", "status", "attempts", "received", "delivered"):
        table.add_column(column)
    for m in messages:
        keys = " ".join(f"{k}={v}" for k, v in m["keys"].items())
        table.add_row(str(m["id"]), m["flow"], m["kind"], f"{m['source']} → {m['target']}", keys, m["status"],
                      str(m["attempts"]), (m["receivedAt"] or "")[11:23], (m["deliveredAt"] or "")[11:23])
    return table


def scores_table(scores: list[dict[str, Any]]) -> Table:
    table = Table(title="Device scores (program system, latest run)")
    for column in ("device", "program", "score", "eligible", "components"):
        table.add_column(column, overflow="fold")
    for score in scores:
        table.add_row(score["deviceId"], score["programCode"], f"{score['score']:g}",
                      "yes" if score["eligible"] else f"no: {score['reason']}", score["components"])
    return table


def explanation_table(trial: dict[str, Any]) -> Table:
    table = Table(title=f"Why {trial['deviceId']} scores {trial['score']:g} ({trial['ruleSet']} rule set)")
    table.add_column("name")
    table.add_column("value", justify="right")
    for name, value in {**trial["variables"], **trial["steps"]}.items():
        table.add_row(name, "unknown" if value is None else f"{value:g}")
    return table


def main(console: Console, keep: bool = False) -> int:
    started = time.perf_counter()
    data_dir = Path(tempfile.mkdtemp(prefix="derbridge-demo-"))
    settings = local_settings(data_dir, retry_initial_s=0.2, retry_max_interval_s=2.0, sender_poll_s=0.2,
                              log_level="warning")
    configure_logging(settings)
    console.print(f"[bold]derbridge demo[/] — three systems on loopback, data in {data_dir}")
    from derbridge.dataset.generate import generate  # polars: loaded when the demo runs, not for `trail_table`

    dataset = data_dir / "dataset"
    generate(dataset, CUSTOMERS, seed=SEED)
    console.print(f"  dataset  {CUSTOMERS:,} customers (seed {SEED}) in {dataset}")
    settings = settings.with_overrides(headend_dataset=str(dataset))
    for system in ("hub", "dacs", "derms"):
        console.print(f"  {system:5}    {settings.url(system)}")
    with BackgroundSystems(("hub", "dacs", "derms"), settings):
        scenario = run_scenario(settings, console, dataset)
    if scenario.facts.get("trail"):
        console.print(trail_table(scenario.facts["trail"], "Message trail of the aggregator (hub)"))
    if scenario.facts.get("deviceTrail"):
        console.print(trail_table(scenario.facts["deviceTrail"], "Message trail of the replaced thermostat (hub)"))
    if scenario.facts.get("trial"):
        console.print(scores_table(scenario.facts["scores"]))
        console.print(explanation_table(scenario.facts["trial"]))
    ok = all(result[1] for result in scenario.results)
    elapsed = time.perf_counter() - started
    verdict = "[green]every step succeeded[/]" if ok else "[red]some steps failed[/]"
    console.print(f"{verdict} in {elapsed:.1f} s")
    if not keep:
        import shutil

        shutil.rmtree(data_dir, ignore_errors=True)
    return 0 if ok else 1
