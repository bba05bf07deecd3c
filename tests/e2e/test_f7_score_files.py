"""F7 end to end over real HTTP between three processes: the program system scores its devices and writes the
score file; the hub relays it; DERMS checks it whole, loads it as a new set and switches to it. Through DERMS
being down, the hub killed while the file is on its way, and bad files, which change nothing."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa

from derbridge.clock import iso_z
from derbridge.config import Settings
from derbridge.derms.scores.schema import score_set_in_force
from derbridge.store.db import make_engine
from derbridge.store.migrations import upgrade
from derbridge.web.auth import outbound_credential
from derbridge.web.client import make_client
from derbridge.web.operator import checked, operator_client, wait_for
from tests.e2e.conftest import Systems
from tests.score_seed import Device, add_device, add_programs

pytestmark = pytest.mark.e2e
TIMEOUT_S = 60
DEVICES = [Device(n) for n in range(1, 301)]
UNREGISTERED = {device.nic for device in DEVICES[::10]}
"""Not registered with their head end: the default rule set scores them 0, not eligible."""
HUB_PATH = "/hub/files/from-dacs/deviceScores"


def seed_program_system(settings: Settings) -> None:
    engine = make_engine(settings.database_url("dacs"))
    try:
        upgrade("dacs", engine)
        with engine.begin() as connection:
            add_programs(connection)
            for device in DEVICES:
                add_device(connection, device, registration="D1NR" if device.nic in UNREGISTERED else "D1RE")
    finally:
        engine.dispose()


def run_scores(settings: Settings) -> dict[str, Any]:
    with operator_client(settings, "dacs") as dacs:
        started = checked(dacs.post("/api/score-runs"))
        return dict(wait_for(lambda: (run := checked(dacs.get(f"/api/score-runs/{started['runId']}")))["status"]
                             == "DONE" and run, TIMEOUT_S, "the score run"))


def score_sets(settings: Settings) -> list[dict[str, Any]]:
    with operator_client(settings, "derms") as derms:
        return list(checked(derms.get("/api/score-sets")))


def wait_in_force(settings: Settings, file_name: str) -> dict[str, Any]:
    return dict(wait_for(lambda: next((s for s in score_sets(settings) if s["fileName"] == file_name
                                       and s["inForce"]), None), TIMEOUT_S, f"{file_name} in force"))


def derms_score(settings: Settings, nic: str) -> dict[str, Any]:
    with operator_client(settings, "derms") as derms:
        [row] = checked(derms.get(f"/api/devices/ECOCLOUD/{nic}/score"))
    return dict(row)


def dacs_score(settings: Settings, device: Device) -> dict[str, Any]:
    with operator_client(settings, "dacs") as dacs:
        return dict(checked(dacs.get(f"/api/devices/{device.device_id}/score")))


def hub_messages(settings: Settings, key: str) -> list[dict[str, Any]]:
    with operator_client(settings, "hub") as hub:
        return list(checked(hub.get("/hub/api/messages", params={"key": key})))


def test_scores_computed_in_the_program_system_reach_derms_and_the_next_days_replace_them(systems: Systems) -> None:
    seed_program_system(systems.settings)
    systems.start("derms", "hub", "dacs")
    first = run_scores(systems.settings)
    in_force = wait_in_force(systems.settings, first["fileName"])
    assert (in_force["rows"], in_force["eligible"], in_force["runId"]) == (300, 270, first["runId"])
    unregistered = next(d for d in DEVICES if d.nic in UNREGISTERED)
    held = derms_score(systems.settings, unregistered.nic)
    assert (held["eligible"], held["score"]) == (False, 0.0)
    assert held["reason"] == dacs_score(systems.settings, unregistered)["reason"]
    assert derms_score(systems.settings, DEVICES[1].nic)["score"] == dacs_score(systems.settings, DEVICES[1])["score"]
    [message] = hub_messages(systems.settings, first["fileName"])
    assert (message["flow"], message["status"], message["keys"]["rows"]) == ("F7", "DELIVERED", "300")

    second = run_scores(systems.settings)
    wait_in_force(systems.settings, second["fileName"])
    states = {s["fileName"]: s["state"] for s in score_sets(systems.settings)}
    assert states == {first["fileName"]: "REPLACED", second["fileName"]: "IN_FORCE"}
    assert derms_score(systems.settings, DEVICES[1].nic)["fileName"] == second["fileName"]


def test_a_file_waits_while_derms_is_down_and_goes_when_it_returns(systems: Systems) -> None:
    seed_program_system(systems.settings)
    systems.start("hub", "dacs")
    run = run_scores(systems.settings)
    wait_for(lambda: any(m["status"] == "RETRYING" for m in hub_messages(systems.settings, run["fileName"])),
             TIMEOUT_S, "the hub retrying DERMS")
    systems.start("derms")
    assert wait_in_force(systems.settings, run["fileName"])["rows"] == 300


def test_the_hub_killed_while_a_file_is_on_its_way_takes_it_again_and_derms_applies_it_once(
        systems: Systems) -> None:
    seed_program_system(systems.settings)
    systems.start("derms", "hub", "dacs")
    with operator_client(systems.settings, "dacs") as dacs:
        started = checked(dacs.post("/api/score-runs"))
    systems.kill("hub")  # the run's file is queued to a hub that is gone, or half taken by it
    systems.start("hub")
    with operator_client(systems.settings, "dacs") as dacs:
        run = wait_for(lambda: (found := checked(dacs.get(f"/api/score-runs/{started['runId']}")))["status"] == "DONE"
                       and found, TIMEOUT_S, "the score run")
    wait_in_force(systems.settings, run["fileName"])
    assert [s["fileName"] for s in score_sets(systems.settings)] == [run["fileName"]]
    wait_for(lambda: all(m["status"] == "DELIVERED" for m in hub_messages(systems.settings, run["fileName"])),
             TIMEOUT_S, "delivered")
    assert len(hub_messages(systems.settings, run["fileName"])) == 1


HEADER = "deviceId,nicId,headEndSystem,programCode,subscriptionId,score,eligible,reason,computedAt,components\n"
ROW = "D00000000001,N00001,ECOCLOUD,SMARTSTAT,U0000000000001,1,true,,{at},SC=1\n"


@pytest.mark.parametrize(("case", "at", "body", "rows", "checksum"), [
    ("truncated", "2026-12-01T02:00:00.000Z", HEADER + ROW, 2, None),
    ("corrupted", "2026-12-02T02:00:00.000Z", HEADER + ROW, 1, "0" * 64),
    ("wrong layout", "2026-12-03T02:00:00.000Z", HEADER.replace("score,", "points,") + ROW, 1, None),
])
def test_a_truncated_corrupted_or_wrong_layout_file_is_refused_and_nothing_is_applied(
        systems: Systems, case: str, at: str, body: str, rows: int, checksum: str | None) -> None:
    seed_program_system(systems.settings)
    systems.start("derms", "hub", "dacs")
    good = run_scores(systems.settings)
    wait_in_force(systems.settings, good["fileName"])
    content = body.format(at=at).encode()
    headers = {"Content-Type": "text/csv", "X-Content-SHA256": checksum or hashlib.sha256(content).hexdigest(),
               "Idempotency-Key": f"by-hand:{case}"}
    as_dacs = make_client(systems.settings.url("hub"), outbound_credential(systems.settings, "dacs", "hub"), 30)
    with as_dacs:
        answer = as_dacs.put(HUB_PATH, params={"computedAt": at, "rows": rows}, content=content, headers=headers)
    if answer.status_code == 202:  # taken by the hub (its columns are right): DERMS refuses it, the hub gives up
        wait_for(lambda: any(m["status"] == "DEAD" for m in hub_messages(systems.settings, f"SDCSE_V1_{at[:4]}"
                                                                        f"{at[5:7]}{at[8:10]}T020000Z.csv")),
                 TIMEOUT_S, "DERMS's refusal")
    else:
        assert answer.status_code == 422, answer.text
    sets = score_sets(systems.settings)
    assert [(s["fileName"], s["inForce"]) for s in sets] == [(good["fileName"], True)]


def test_derms_killed_while_loading_a_file_loads_it_again_and_the_old_set_stays_in_force_throughout(
        systems: Systems, tmp_path: Path) -> None:
    from derbridge.benchmarks.score_file import file_rows  # a large file: loading takes long enough to be cut short
    from derbridge.dacs.scores import score_file

    systems.start("derms", "hub")
    old_at, new_at = datetime(2026, 12, 1, 2, tzinfo=UTC), datetime(2026, 12, 2, 2, tzinfo=UTC)
    put_file(systems.settings, tmp_path, file_rows(10).with_columns(computedAt=pl.lit(iso_z(old_at))), old_at)
    old = wait_in_force(systems.settings, score_file.file_name(old_at))
    big = file_rows(300_000).with_columns(computedAt=pl.lit(iso_z(new_at)))
    put_file(systems.settings, tmp_path, big, new_at)
    new_name = score_file.file_name(new_at)
    wait_for(lambda: any(s["fileName"] == new_name and s["state"] in ("CHECKING", "LOADING")
                         for s in score_sets(systems.settings)), TIMEOUT_S, "the load under way", interval_s=0.01)
    systems.kill("derms")
    derms_db = make_engine(systems.settings.database_url("derms"))
    try:
        with derms_db.connect() as connection:
            assert connection.execute(sa.select(score_set_in_force.c.set_id)).scalar_one() == old["setId"]
    finally:
        derms_db.dispose()
    systems.start("derms")
    seen: set[str] = set()

    def in_force_now() -> dict[str, Any] | None:
        current = next(s for s in score_sets(systems.settings) if s["inForce"])
        seen.add(current["fileName"])
        return current if current["fileName"] == new_name else None

    held = wait_for(in_force_now, TIMEOUT_S, "the new set in force", interval_s=0.05)
    assert held["rows"] == held["rowsLoaded"] == 300_000
    assert seen <= {old["fileName"], new_name}
    assert [s["fileName"] for s in score_sets(systems.settings)].count(new_name) == 1


def put_file(settings: Settings, tmp_path: Path, rows: pl.DataFrame, computed_at: datetime) -> None:
    """A score file PUT to the hub as the program system does."""
    from derbridge.dacs.scores import score_file

    path = tmp_path / score_file.file_name(computed_at)
    sha256 = score_file.write(rows, path)
    as_dacs = make_client(settings.url("hub"), outbound_credential(settings, "dacs", "hub"), 60)
    with as_dacs, path.open("rb") as body:
        checked(as_dacs.put(HUB_PATH, params={"computedAt": iso_z(computed_at), "rows": rows.height}, content=body,
                            headers={"Content-Type": "text/csv", "X-Content-SHA256": sha256,
                                     "Idempotency-Key": f"device-scores:{computed_at:%Y%m%d}"}))


def test_a_dropped_file_picked_up_by_the_hub_and_the_same_file_sent_is_applied_once(
        systems: Systems, tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    systems.settings = systems.settings.with_overrides(score_file_dir=str(drop), score_pickup_source=str(drop),
                                                       score_pickup_every_s=0.3)
    seed_program_system(systems.settings)
    systems.start("derms", "hub", "dacs")
    run = run_scores(systems.settings)
    assert wait_in_force(systems.settings, run["fileName"])["rows"] == 300
    wait_for(lambda: (drop / f"Sent-{run['fileName']}").exists() and (drop / f"Sent-{run['fileName']}.sha256")
             .exists(), TIMEOUT_S, "the dropped file picked up and renamed")
    messages = wait_for(lambda: (found := hub_messages(systems.settings, run["fileName"])) and len(found) == 2
                        and all(m["status"] == "DELIVERED" for m in found) and found, TIMEOUT_S,
                        "both transfers delivered")
    assert {m["kind"] for m in messages} == {"device-scores"}
    assert [s["fileName"] for s in score_sets(systems.settings)] == [run["fileName"]], "one set: a DUPLICATE"
