"""`derbridge demo --season`: a demand-response season across the three systems, on a shared clock.

A utility of a few thousand customers whose enrolled thermostats come over from a legacy program system (F5,
bulk), with its network in DERMS (F1's source). Then, week after week of simulated time: the program system
scores every device and the score file goes to DERMS (F7); an operator creates events of every type (some waiting
for a named approver), DERMS reserves devices for them (F8, F9); customers opt out or declare themselves away
(F12, F13) and DERMS backfills; one event is cancelled before it starts (F10) and one stopped while it runs
(F1CN, every device cancelled: D1CN); the others are dispatched through the head ends when their stages start,
and each device's outcome goes back to the program system (F11), whose next score run takes it into account. The
clock jumps between the moments that matter, so a season passes in about a minute. The closing table has, per
event, its target, what was reserved and delivered, and the outcomes the program system holds.
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console

from derbridge.bootstrap import BackgroundSystems, configure_logging, local_settings
from derbridge.clock import SharedClock
from derbridge.scenario import season_steps as steps
from derbridge.scenario.demo import Scenario
from derbridge.scenario.season_report import scores_moved_table, season_table

CUSTOMERS, SEED = 3_000, 11
PROGRAM = "SMARTSTAT"
UTILITY_ZONE = ZoneInfo("America/Chicago")
"""Where the dataset's towns are: events are planned in local time, as the program's rules are written."""


@dataclass(frozen=True)
class EventPlan:
    """One event of the season: when (days after the previous one), what, and what happens to it."""

    name: str
    event_type: str
    target_kw: float
    days_later: int
    start_hour: int = 15
    """Local time (UTILITY_ZONE)."""
    hours: int = 3
    needs_approval: bool = False
    opt_outs: int = 0
    unavailable: int = 0
    cancel: bool = False
    stop_after_minutes: int | None = None
    """Cancelled by the operator this long after its start, while it runs."""


SEASON = (
    EventPlan("Early test", "DEVICE-TEST", 20, days_later=2, start_hour=10, hours=1),
    EventPlan("Price spike", "ECONOMIC", 60, days_later=5, opt_outs=2),
    EventPlan("Heat wave day 1", "EMERGENCY", 120, days_later=6, needs_approval=True, unavailable=1),
    EventPlan("Heat wave day 2", "EMERGENCY", 120, days_later=1, needs_approval=True, opt_outs=1),
    EventPlan("Feeder relief", "RELIABILITY", 40, days_later=4, start_hour=17, hours=2),
    EventPlan("Cool front", "ECONOMIC", 60, days_later=3, cancel=True),
    EventPlan("Peak week", "RELIABILITY", 80, days_later=4, needs_approval=True),
    EventPlan("Storm line", "EMERGENCY", 100, days_later=2, stop_after_minutes=75),
    EventPlan("Late test", "DEVICE-TEST", 20, days_later=6, start_hour=10, hours=1),
)
"""Two events of each type (three emergencies) over about six weeks."""


def main(console: Console, keep: bool = False, customers: int = CUSTOMERS, seed: int = SEED) -> int:
    started = time.perf_counter()
    data_dir = Path(tempfile.mkdtemp(prefix="derbridge-season-"))
    clock_file = data_dir / "clock"
    settings = local_settings(data_dir, retry_initial_s=0.2, retry_max_interval_s=2.0, sender_poll_s=0.1,
                              log_level="warning", clock_file=str(clock_file))
    configure_logging(settings)
    console.print(f"[bold]derbridge demo --season[/] — three systems on loopback, one shared clock, data in "
                  f"{data_dir}")
    dataset = steps.make_dataset(data_dir / "dataset", customers, seed)
    settings = settings.with_overrides(headend_dataset=str(dataset))
    with BackgroundSystems(("hub", "dacs", "derms"), settings):
        season = run_season(Scenario(settings, console), dataset, clock_file, customers / CUSTOMERS)
    console.print(season_table(season.facts.get("events", [])))
    if season.facts.get("scoresMoved"):
        console.print(scores_moved_table(season.facts["scoresMoved"]))
    ok = all(result[1] for result in season.results)
    verdict = "[green]every step succeeded[/]" if ok else "[red]some steps failed[/]"
    console.print(f"{verdict} in {time.perf_counter() - started:.1f} s")
    if not keep:
        import shutil

        shutil.rmtree(data_dir, ignore_errors=True)
    return 0 if ok else 1


def run_season(scenario: Scenario, dataset: Path, clock_file: Path, scale: float = 1.0) -> Scenario:
    """The utility set up, then each event of the season in turn (targets scaled to the utility's size); a
    failed step ends the season."""
    console, settings = scenario.console, scenario.settings
    console.rule("Set-up — customers, network, programs, enrolled devices")
    if not set_up(scenario, dataset):
        return scenario
    scenario.facts["events"] = []
    scenario.facts["firstScores"] = steps.current_scores(settings)
    day = summer_after(SharedClock(clock_file).now())
    steps.move_to(clock_file, day)
    for plan in SEASON:
        day += timedelta(days=plan.days_later)
        console.rule(f"{day:%a %d %b} — {plan.name} ({plan.event_type})")
        if not run_event(scenario, plan, day, clock_file, round(plan.target_kw * scale, 1)):
            return scenario
    console.rule("After the season")
    scenario.step("The program system scores every device on the season's outcomes",
                  lambda: scores_after_season(scenario))
    scenario.step("The three systems agree", lambda: steps.reconcile(settings, scenario.facts["events"]))
    return scenario


def summer_after(moment: datetime) -> datetime:
    """The first of June after `moment`, local midnight: demand response is a summer business (the simulated
    fleets' air conditioning follows the outdoor temperature)."""
    local = moment.astimezone(UTILITY_ZONE)
    year = local.year + (1 if (local.month, local.day) >= (6, 1) else 0)
    return datetime(year, 6, 1, tzinfo=UTILITY_ZONE)


def set_up(scenario: Scenario, dataset: Path) -> bool:
    settings = scenario.settings
    actions: list[tuple[str, Callable[[], str]]] = [
        ("Load the CIS extract into both systems", lambda: steps.load_customers(settings, dataset)),
        ("Import the electrical network into DERMS", lambda: steps.import_network(settings, dataset)),
        ("Set up and approve the programs (rules to DERMS, F2)",
         lambda: steps.set_up_programs(settings, dataset, PROGRAM)),
        ("Migrate the enrolled thermostats and sync them to DERMS (F5, bulk)",
         lambda: steps.migrate_enrolled(settings, dataset)),
        ("Score every device; the score file goes to DERMS (F7)", lambda: steps.score_run(settings)),
    ]
    return all(scenario.step(title, action) for title, action in actions)


def run_event(scenario: Scenario, plan: EventPlan, day: datetime, clock_file: Path, target_kw: float) -> bool:
    """One event from its creation to its outcomes (or its cancellation), the clock moved to each moment."""
    settings, facts = scenario.settings, scenario.facts
    start = day + timedelta(hours=plan.start_hour)
    end = start + timedelta(hours=plan.hours)
    steps.move_to(clock_file, start - timedelta(hours=20))
    event: dict[str, Any] = {"name": plan.name, "type": plan.event_type, "targetKw": target_kw}
    facts["events"].append(event)

    def create() -> str:
        created = steps.create_event(settings, plan.name, plan.event_type, PROGRAM, target_kw, start, end,
                                     plan.needs_approval)
        event.update(eventId=created["eventId"], status=created["status"], stages=created["stages"])
        if plan.needs_approval:
            approved = steps.approve(settings, created["eventId"])
            event["status"] = approved["status"]
            return f"{created['eventId']} waited for approval, approved by {approved['approvedBy']}"
        return f"{created['eventId']} {created['status']}, {len(created['stages'])} stages"

    def reserve() -> str:
        reserved = steps.reserve(settings, event["eventId"])
        event.update(reservedKw=reserved["expectedKw"], reserved=reserved["reserved"])
        return (f"{reserved['reserved']} devices, expected {reserved['expectedKw']:.1f} kW of "
                f"{target_kw:g}; the program system holds their participations")

    actions: list[tuple[str, Callable[[], str]]] = [
        (f"Create the {plan.event_type} event, {target_kw:g} kW {start:%H:%M}–{end:%H:%M} local", create),
        ("Reserve devices (F9); the program system holds a participation each", reserve),
    ]
    if plan.opt_outs:
        actions.append((f"{plan.opt_outs} customer(s) opt out (F12); DERMS backfills",
                        lambda: steps.opt_out(settings, event, plan.opt_outs)))
    if plan.unavailable:
        actions.append((f"{plan.unavailable} customer(s) declare themselves away (F13); DERMS backfills",
                        lambda: steps.declare_away(settings, event, plan.unavailable, start, end)))
    if plan.cancel:
        actions.append(("The forecast changes: the operator cancels before the start (F10)",
                        lambda: steps.cancel(settings, event)))
    elif plan.stop_after_minutes is not None:
        stop_at = start + timedelta(minutes=plan.stop_after_minutes)
        actions += [
            ("Each stage starts: DERMS dispatches the reserved devices through their head ends",
             lambda: steps.in_progress(settings, event, clock_file, until=stop_at)),
            (f"Storms: the operator stops the event {plan.stop_after_minutes} minutes in (F1CN); every device's "
             f"outcome is D1CN (F11)", lambda: steps.stopped(settings, event, clock_file, stop_at)),
        ]
    else:
        actions += [
            ("Each stage starts: DERMS dispatches the reserved devices through their head ends",
             lambda: steps.in_progress(settings, event, clock_file)),
            ("The event ends: each device's outcome reaches the program system (F11)",
             lambda: steps.completed(settings, event, clock_file, end)),
        ]
    return all(scenario.step(title, action) for title, action in actions)


def scores_after_season(scenario: Scenario) -> str:
    settings, facts = scenario.settings, scenario.facts
    ran = steps.score_run(settings)
    before, after = facts["firstScores"], steps.current_scores(settings)
    moved = {device: (before[device], score) for device, score in after.items()
             if device in before and score != before[device]}
    facts["scoresMoved"] = moved
    if not moved:
        raise RuntimeError("no device's score changed over the season")
    directions = Counter("up" if new > old else "down" for old, new in moved.values())
    return f"{ran}; {len(moved)} devices' scores moved ({directions['down']} down, {directions['up']} up)"
