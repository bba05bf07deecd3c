"""The season's steps, each one operator's or agent's action through the systems' own APIs and a check of what
the systems then report. Each returns a line for the console and raises when the systems disagree."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from derbridge.clock import SharedClock, advance_shared_clock
from derbridge.config import Settings
from derbridge.scenario import utility
from derbridge.web.operator import checked, operator_client, wait_for

TIMEOUT_S = 60.0
NETWORK_TABLES = ("substations", "feeders", "transformers", "service_point_locations")
PARQUET = "application/vnd.apache.parquet"
APPROVER = "Grid operations (duty manager)"


def make_dataset(directory: Path, customers: int, seed: int) -> Path:
    from derbridge.dataset.generate import generate  # polars: loaded when the season runs

    generate(directory, customers, seed=seed, thermostat_share=1.0)
    return directory


def midnight(moment: datetime, zone: tzinfo) -> datetime:
    """The start of `moment`'s day where `zone` is."""
    return moment.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)


def move_to(clock_file: Path, moment: datetime) -> None:
    """The shared clock set to `moment` (never back)."""
    now = SharedClock(clock_file).now()
    if moment > now:
        advance_shared_clock(clock_file, moment - now)


# ---- set-up ----

def load_customers(settings: Settings, dataset: Path) -> str:
    loaded = utility.load_customers(settings, dataset)
    return f"{loaded['dacs']:,} rows into the program system, {loaded['derms']:,} into DERMS"


def import_network(settings: Settings, dataset: Path) -> str:
    rows = {}
    with operator_client(settings, "derms", timeout_s=TIMEOUT_S) as derms:
        for table in NETWORK_TABLES:
            body = (dataset / f"{table}.parquet").read_bytes()
            answer = checked(derms.put(f"/api/network/import/{table}", content=body, headers=_file_headers(body)))
            rows[table] = answer["rows"]
    return ", ".join(f"{count:,} {table.replace('_', ' ')}" for table, count in rows.items())


SEASON_RULE = {
    "ruleCode": "SUMMER", "description": "Summer peak: weekdays and weekends, 09:00-20:00, three events a week",
    "availableForEvents": True, "allowedOverrides": 2, "maxEventDurationMinutes": 240,
    "allowEventDays": ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"], "cycleFrequency": "MONTHLY",
    "maxEventsPerWeek": 3, "eventWindow": {"start": "09:00", "end": "20:00"}, "minNoticeMinutes": 120,
}


def set_up_programs(settings: Settings, dataset: Path, program: str) -> str:
    """The programs approved, and the season's rule associated with `program` (F2 carries both to DERMS)."""
    approved = utility.set_up_programs(settings, *utility.dataset_eligibility(dataset))
    with operator_client(settings, "dacs") as dacs:
        rule_id = checked(dacs.post("/api/rules", json=SEASON_RULE))["ruleId"]
        checked(dacs.post(f"/api/rules/{rule_id}/programs", json={"programCode": program}))

    def known_to_derms() -> list[str] | None:
        with operator_client(settings, "derms") as derms:
            held = {p["programCode"]: p["rules"] for p in checked(derms.get("/api/programs"))}
        return approved if set(approved) <= set(held) and held[program] else None

    wait_for(known_to_derms, TIMEOUT_S, "the programs' rules in DERMS", interval_s=0.2)
    return f"approved: {', '.join(approved)}; DERMS holds {program}'s rule {SEASON_RULE['ruleCode']}"


def migrate_enrolled(settings: Settings, dataset: Path) -> str:
    extract = (dataset / "enrolled_devices.parquet").read_bytes()
    with operator_client(settings, "dacs", timeout_s=TIMEOUT_S) as dacs:
        imported = checked(dacs.put("/api/legacy/enrolled-devices", content=extract, headers=_file_headers(extract)))
        sync = checked(dacs.post(f"/api/legacy/imports/{imported['importId']}/sync"))

        def acked() -> dict[str, Any] | None:
            found = checked(dacs.get(f"/api/legacy/bulk-syncs/{sync['bulkSyncId']}"))
            return found if found["status"] == "ACKED" else None

        done = wait_for(acked, TIMEOUT_S, "DERMS's ack of the initial sync", interval_s=0.2)
    return (f"{imported['rows']:,} devices ACTIVE in the program system; DERMS registered {done['registered']:,} "
            f"with their head ends ({done['notRegistered']:,} not)")


def _file_headers(body: bytes) -> dict[str, str]:
    return {"Content-Type": PARQUET, "X-Content-SHA256": hashlib.sha256(body).hexdigest()}


# ---- scores ----

def score_run(settings: Settings) -> str:
    """A score run on demand in the program system, until DERMS has switched to its score set (F7)."""
    with operator_client(settings, "dacs") as dacs:
        started = checked(dacs.post("/api/score-runs"))
        path = f"/api/score-runs/{started['runId']}"
        done = wait_for(lambda: (found := checked(dacs.get(path)))["status"] != "RUNNING" and found,
                        TIMEOUT_S, f"score run {started['runId']}", interval_s=0.2)
    if done["status"] != "DONE":
        raise RuntimeError(f"score run {done}")
    with operator_client(settings, "derms") as derms:
        held = wait_for(lambda: next((s for s in checked(derms.get("/api/score-sets"))
                                      if s["fileName"] == done["fileName"] and s["inForce"]), None),
                        TIMEOUT_S, f"DERMS holding {done['fileName']}", interval_s=0.2)
    if (held["rows"], held["eligible"]) != (done["devices"], done["eligible"]):
        raise RuntimeError(f"DERMS holds {held}, the program system scored {done}")
    return (f"{done['devices']:,} devices scored, {done['eligible']:,} eligible; DERMS's score set in force is "
            f"{done['fileName']}")


def current_scores(settings: Settings) -> dict[str, float]:
    """Each device's score in the program system's latest run."""
    scores: dict[str, float] = {}
    with operator_client(settings, "dacs") as dacs:
        while page := checked(dacs.get("/api/device-scores", params={"after": max(scores, default=""),
                                                                        "limit": 10_000})):
            scores.update((row["deviceId"], float(row["score"])) for row in page)
    return scores


# ---- events ----

def create_event(settings: Settings, name: str, event_type: str, program: str, target_kw: float, start: datetime,
                 end: datetime, needs_approval: bool) -> dict[str, Any]:
    body = {"name": name, "eventType": event_type, "programCode": program, "targetKw": target_kw,
            "start": start.isoformat(), "end": end.isoformat(), "needsApproval": needs_approval}
    with operator_client(settings, "derms") as derms:
        created = dict(checked(derms.post("/api/events", json=body)))
    if not needs_approval:
        wait_program_event(settings, created["eventId"], "SCHEDULED")
    return created


def approve(settings: Settings, event_id: str) -> dict[str, Any]:
    with operator_client(settings, "derms") as derms:
        approved = dict(checked(derms.post(f"/api/events/{event_id}/approve", json={"approvedBy": APPROVER})))
    wait_program_event(settings, event_id, "SCHEDULED")
    return approved


def reserve(settings: Settings, event_id: str) -> dict[str, Any]:
    with operator_client(settings, "derms") as derms:
        reserved = dict(checked(derms.post(f"/api/events/{event_id}/reservation", json={})))
    count = reserved["devices"].get("RESERVED", 0)
    if not count:
        raise RuntimeError(f"nothing reserved: {reserved['excluded']}")
    wait_program_event(settings, event_id, "SCHEDULED", reserved=count)
    return {**reserved, "reserved": count}


def opt_out(settings: Settings, event: dict[str, Any], count: int) -> str:
    """Agents opt the first `count` reserved devices out; DERMS drops them and backfills from the standby list."""
    held = [p for p in participations(settings, event["eventId"]) if p["reserved"]][:count]
    version = reservation(settings, event["eventId"])["version"]
    with operator_client(settings, "dacs") as dacs:
        for participation in held:
            checked(dacs.post("/api/participations/opt-outs", json={
                "eventExternalIdentifier": event["eventId"], "deviceId": participation["deviceId"]}))
    event["optedOut"] = event.get("optedOut", 0) + len(held)
    backfilled = wait_backfilled(settings, event["eventId"], version)
    return f"{len(held)} opted out ({', '.join(p['deviceId'] for p in held)}); {backfilled}"


def declare_away(settings: Settings, event: dict[str, Any], count: int, start: datetime, end: datetime) -> str:
    """Customers of reserved devices declare themselves away over the event; DERMS drops and backfills."""
    held = [p for p in participations(settings, event["eventId"]) if p["reserved"] and not p["optedOut"]]
    chosen = held[-count:]
    version = reservation(settings, event["eventId"])["version"]
    with operator_client(settings, "dacs") as dacs:
        for participation in chosen:
            checked(dacs.post("/api/unavailability", json={
                "deviceId": participation["deviceId"], "start": (start - timedelta(hours=1)).isoformat(),
                "end": (end + timedelta(hours=1)).isoformat(), "reason": "Away on holiday"}))
    backfilled = wait_backfilled(settings, event["eventId"], version)
    return f"{len(chosen)} away ({', '.join(p['deviceId'] for p in chosen)}); {backfilled}"


def wait_backfilled(settings: Settings, event_id: str, version_before: int) -> str:
    """A newer device list of the event's reservation, acknowledged by the program system."""
    def updated() -> dict[str, Any] | None:
        lists = reservation(settings, event_id)["deviceLists"]
        return lists[-1] if lists[-1]["version"] > version_before and lists[-1]["ackType"] else None

    last = wait_for(updated, TIMEOUT_S, f"the backfilled reservation of {event_id}", interval_s=0.1)
    return (f"DERMS released {last['released']} and reserved {last['reserved']} from its standby list (device "
            f"list {last['version']}, {last['ackType']})")


def cancel(settings: Settings, event: dict[str, Any]) -> str:
    with operator_client(settings, "derms") as derms:
        checked(derms.post(f"/api/events/{event['eventId']}/cancel", json={"reason": "Forecast cooler"}))
    found = wait_program_event(settings, event["eventId"], "CANCELLED", reserved=0)
    event["status"] = "CANCELLED"
    return f"cancelled in both systems; {found['participations']} participations, none reserved"


def in_progress(settings: Settings, event: dict[str, Any], clock_file: Path, until: datetime | None = None) -> str:
    """The clock moved to each stage's start in turn (those before `until`): both systems show the event in
    progress, and DERMS dispatches each stage to the reserved devices through their head ends."""
    sent = []
    for number, stage in enumerate(event["stages"]):
        if until is not None and datetime.fromisoformat(stage["start"]) >= until:
            break
        move_to(clock_file, datetime.fromisoformat(stage["start"]) + timedelta(minutes=1))
        if number == 0:
            wait_program_event(settings, event["eventId"], "IN_PROGRESS")
            event["status"] = "IN_PROGRESS"

        def dispatched(number: int = number) -> dict[str, Any] | None:
            found = performance(settings, event["eventId"])["stages"][number]
            return found if found["dispatch"] == "SENT" else None

        found = wait_for(dispatched, TIMEOUT_S, f"stage {stage['stageId']} dispatched", interval_s=0.1)
        sent.append(f"{found['name']} {found['devicesAccepted']}/{found['devicesDispatched']}")
    return "IN PROGRESS in both systems; devices accepting each stage's dispatch: " + ", ".join(sent)


def completed(settings: Settings, event: dict[str, Any], clock_file: Path, end: datetime) -> str:
    """The clock past the end and the head ends' reporting lag: DERMS works out each device's outcome and the
    stages' delivered kW from telemetry; the program system's participations hold the same outcomes."""
    move_to(clock_file, end + timedelta(minutes=30))
    wait_program_event(settings, event["eventId"], "COMPLETED")
    event["status"] = "COMPLETED"
    sent = outcomes_applied(settings, event)
    return (f"COMPLETED; delivered {event['deliveredKw']:.1f} kW on average against {event['targetKw']:g}; "
            f"outcomes {sent}, the same in the program system")


def stopped(settings: Settings, event: dict[str, Any], clock_file: Path, at: datetime) -> str:
    """The operator cancels the event while it runs: the program system hears F1CN alone and keeps the
    reservations; DERMS tells the head ends to end their orders, and after their reporting lag every device's
    outcome is D1CN, in both systems."""
    move_to(clock_file, at)
    with operator_client(settings, "derms") as derms:
        checked(derms.post(f"/api/events/{event['eventId']}/cancel", json={"reason": "Storms: feeders switched"}))
    held = wait_program_event(settings, event["eventId"], "CANCELLED")
    event["status"] = "CANCELLED"
    move_to(clock_file, at + timedelta(minutes=30))
    sent = outcomes_applied(settings, event, until=at)
    return (f"CANCELLED in both systems, {held['reserved']} participations still reserved; delivered "
            f"{event['deliveredKw']:.1f} kW on average until the stop; outcomes {sent}, the same in the program "
            f"system")


def outcomes_applied(settings: Settings, event: dict[str, Any], until: datetime | None = None) -> dict[str, int]:
    """Wait for DERMS's outcomes of the event and for the program system to hold the same; the counts sent (the
    delivered kW kept with the event, averaged until `until` when it was stopped)."""
    found = wait_for(lambda: (measured := performance(settings, event["eventId"]))["outcomesCollected"] and measured,
                     TIMEOUT_S, f"the outcomes of {event['eventId']} in DERMS", interval_s=0.1)
    sent = {code: count for code, count in found["outcomes"].items() if count}

    def applied() -> dict[str, int] | None:
        held = Counter(p["outcome"] for p in participations(settings, event["eventId"]) if p["outcome"])
        return dict(held) if held == sent else None

    wait_for(applied, TIMEOUT_S, f"the outcomes of {event['eventId']} in the program system", interval_s=0.1)
    event.update(outcomes=sent, deliveredKw=delivered_kw(found["stages"], until))
    return sent


def delivered_kw(stages: list[dict[str, Any]], until: datetime | None = None) -> float:
    """The event's delivered kW: its stages' delivered kW weighted by their durations (up to `until`)."""
    def seconds(stage: dict[str, Any]) -> float:
        start, end = datetime.fromisoformat(stage["start"]), datetime.fromisoformat(stage["end"])
        return max(0.0, ((end if until is None else min(end, until)) - start).total_seconds())

    durations = [seconds(s) for s in stages]
    weighted = sum((s["deliveredKw"] or 0.0) * span for s, span in zip(stages, durations, strict=True))
    return weighted / sum(durations) if sum(durations) else 0.0


# ---- what the systems hold ----

def reservation(settings: Settings, event_id: str) -> dict[str, Any]:
    with operator_client(settings, "derms") as derms:
        return dict(checked(derms.get(f"/api/events/{event_id}/reservation")))


def performance(settings: Settings, event_id: str) -> dict[str, Any]:
    with operator_client(settings, "derms") as derms:
        return dict(checked(derms.get(f"/api/events/{event_id}/performance")))


def participations(settings: Settings, event_id: str) -> list[dict[str, Any]]:
    with operator_client(settings, "dacs") as dacs:
        return list(checked(dacs.get(f"/api/program-events/{event_id}/participations", params={"limit": 100_000})))


def wait_program_event(settings: Settings, event_id: str, status: str, reserved: int | None = None) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        with operator_client(settings, "dacs") as dacs:
            response = dacs.get(f"/api/program-events/{event_id}")
        if response.status_code == 404:
            return None
        found = dict(checked(response))
        if found["status"] != status or (reserved is not None and found["reserved"] != reserved):
            return None
        return found

    return wait_for(reached, TIMEOUT_S, f"event {event_id} {status} in the program system", interval_s=0.1)


def reconcile(settings: Settings, events: list[dict[str, Any]]) -> str:
    """The three systems agree on every event: devices reserved, opt-outs, outcomes; the hub holds no message
    dead, refused or still undelivered."""
    disagreements = [found for event in events if "eventId" in event
                     for found in _disagreements(settings, event["eventId"])]
    with operator_client(settings, "hub") as hub:
        counts = dict(checked(hub.get("/health"))["messages"])
    stuck = {status: counts[status] for status in ("DEAD", "REJECTED", "RECEIVED", "RETRYING") if counts.get(status)}
    if disagreements or stuck:
        raise RuntimeError("; ".join(disagreements) + (f"; hub messages {stuck}" if stuck else ""))
    return (f"{len(events)} events: DERMS and the program system hold the same reservations, opt-outs and "
            f"outcomes; the hub's {sum(counts.values()):,} messages all settled ({counts})")


def _disagreements(settings: Settings, event_id: str) -> list[str]:
    with operator_client(settings, "dacs") as dacs:
        held = dict(checked(dacs.get(f"/api/program-events/{event_id}")))
    with operator_client(settings, "derms") as derms:
        response = derms.get(f"/api/events/{event_id}/reservation")
        reserved = 0 if response.status_code == 404 else int(checked(response)["devices"].get("RESERVED", 0))
        opted_out = len(checked(derms.get("/api/opt-outs", params={"eventId": event_id, "limit": 5000})))
        sent = {code: count for code, count in checked(derms.get(f"/api/events/{event_id}/performance"))[
            "outcomes"].items() if count}
    applied = dict(Counter(p["outcome"] for p in participations(settings, event_id) if p["outcome"]))
    found = []
    if held["reserved"] != reserved:
        found.append(f"{event_id}: DERMS reserves {reserved}, the program system {held['reserved']}")
    if held["optedOut"] != opted_out:
        found.append(f"{event_id}: DERMS holds {opted_out} opt-outs, the program system {held['optedOut']}")
    if sent != applied:
        found.append(f"{event_id}: DERMS sent outcomes {sent}, the program system holds {applied}")
    return found
