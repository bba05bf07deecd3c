"""DERMS's score sets on SQLite and PostgreSQL: a set is loaded beside the one in force and switched to whole;
availability reports each device's score and eligibility, and never a device the set marks not eligible; the
reservation engine reads the share of the score."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from derbridge.derms.availability import devices as device_availability
from derbridge.derms.reservations.scores import device_scores
from derbridge.derms.scores import files, sets
from derbridge.derms.scores.schema import score_set_in_force, score_set_rows, score_sets
from derbridge.errors import FileRefused
from derbridge.web.operator import wait_for
from tests.contract.test_derms_rules_and_availability import EVENT, receive
from tests.registry import enroll, program_message

NOW = datetime(2026, 7, 15, 13, tzinfo=UTC)
HEADER = "deviceId,nicId,headEndSystem,programCode,subscriptionId,score,eligible,reason,computedAt,components\n"



def taken(engine: Engine, directory: Path, computed_at: str, *rows: tuple[str, str, str]) -> str:
    """A score file of (nicId, score, reason) rows (no reason: eligible) checked and recorded; its set id."""
    body = HEADER + "".join(
        f"D{n},{nic},ECOCLOUD,SMARTSTAT,S{n},{score},{str(not reason).lower()},{reason},{computed_at},SC={score}\n"
        for n, (nic, score, reason) in enumerate(rows, start=1))
    upload = directory / f"upload-{computed_at[:10]}.csv"
    upload.write_text(body)
    created, found = sets.accept(engine, directory, upload, files.name_of(computed_at), computed_at, "0" * 64)
    assert created
    return str(found["setId"])


def settled(engine: Engine, set_id: str) -> str:
    """The state a taken set ends in, once its loading thread is done with it."""
    done = (sets.IN_FORCE, sets.SUPERSEDED, sets.FAILED, sets.REPLACED)
    return str(wait_for(lambda: (found := sets.find(engine, set_id)) and found["state"] in done and found["state"],
                        30, f"set {set_id} loaded"))


def judge(engine: Engine) -> dict[str, dict[str, Any]]:
    parsed = device_availability.AvailabilityRequest.model_validate({**EVENT, "programCode": "SMARTSTAT"})
    judged = device_availability.evaluate(engine, parsed, NOW)
    return {row["nic_id"]: row for row in judged.iter_rows(named=True)}


def test_a_later_set_replaces_the_one_in_force_once_loaded(derms_db: Engine, tmp_path: Path) -> None:
    first = taken(derms_db, tmp_path, "2026-07-14T02:00:00.000Z", ("N1", "80", ""))
    assert settled(derms_db, first) == sets.IN_FORCE
    with derms_db.connect() as connection:
        assert sets.current_scores(connection)["score"].to_list() == [80.0]
    second = taken(derms_db, tmp_path, "2026-07-15T02:00:00.000Z", ("N1", "20", ""), ("N2", "0", "NOT_AVAILABLE"))
    assert settled(derms_db, second) == sets.IN_FORCE
    with derms_db.connect() as connection:
        assert sorted(sets.current_scores(connection).select("nic_id", "score").rows()) == [("N1", 20.0), ("N2", 0.0)]
    assert sets.find(derms_db, first)["state"] == sets.REPLACED  # type: ignore[index]


def test_a_set_computed_before_the_one_in_force_is_never_switched_to(derms_db: Engine, tmp_path: Path) -> None:
    later = taken(derms_db, tmp_path, "2026-07-15T02:00:00.000Z", ("N1", "20", ""))
    settled(derms_db, later)
    earlier = taken(derms_db, tmp_path, "2026-07-14T02:00:00.000Z", ("N1", "80", ""))
    assert settled(derms_db, earlier) == sets.SUPERSEDED
    assert sets.find(derms_db, "current")["setId"] == later  # type: ignore[index]


def test_availability_reports_scores_and_a_device_not_eligible_is_never_available(
        derms_db: Engine, tmp_path: Path) -> None:
    receive(derms_db, program_message("SMARTSTAT", 1, "SR1"))
    enroll(derms_db, "SMARTSTAT", "S1", ["N1", "N2", "N3"])
    before = judge(derms_db)
    assert all(row["available"] and row["score"] is None for row in before.values())

    settled(derms_db, taken(derms_db, tmp_path, "2026-07-15T02:00:00.000Z",
                            ("N1", "73.5", ""), ("N2", "0", "NOT_COMMUNICATING")))
    judged = judge(derms_db)
    assert (judged["N1"]["available"], judged["N1"]["score"], judged["N1"]["eligible"]) == (True, 73.5, True)
    assert (judged["N2"]["available"], judged["N2"]["eligible"], judged["N2"]["score_reason"]) == (
        False, False, "NOT_COMMUNICATING")
    assert judged["N2"]["reasons"] == ["NOT_ELIGIBLE"]
    assert (judged["N3"]["available"], judged["N3"]["score"]) == (True, None), "not in the set: no score"
    parsed = device_availability.AvailabilityRequest.model_validate({**EVENT, "programCode": "SMARTSTAT"})
    summary = device_availability.summary(device_availability.evaluate(derms_db, parsed, NOW))
    assert {r["code"]: r["blocking"] for r in summary["reasons"]} == {"NOT_ELIGIBLE": 1}

    with derms_db.connect() as connection:
        shares = {row["nic_id"]: (row["score"], row["eligible"]) for row in device_scores(connection).iter_rows(
            named=True)}
    assert shares == {"N1": (0.735, True), "N2": (0.0, False)}


def test_a_load_cut_short_starts_again_and_the_previous_set_stays_in_force_until_it_ends(
        derms_db: Engine, tmp_path: Path) -> None:
    old = taken(derms_db, tmp_path, "2026-07-14T02:00:00.000Z", ("N1", "80", ""))
    settled(derms_db, old)
    kept = tmp_path / "cut-short.csv"
    kept.write_text(HEADER + "D1,N1,ECOCLOUD,SMARTSTAT,S1,20,true,,2026-07-15T02:00:00.000Z,SC=20\n"
                    "D2,N2,ECOCLOUD,SMARTSTAT,S2,30,true,,2026-07-15T02:00:00.000Z,SC=30\n")
    checking = tmp_path / "never-checked.csv"
    checking.write_text(kept.read_text())
    with derms_db.begin() as connection:  # what a process stopped after the first chunk of each leaves behind
        for set_id, name, state, path in (("CUT", "SDCSE_V1_20260715T020000Z.csv", sets.LOADING, kept),
                                          ("UNCHECKED", "SDCSE_V1_20260716T020000Z.csv", sets.CHECKING, checking)):
            connection.execute(sa.insert(score_sets).values(
                set_id=set_id, file_name=name, file_sha256="0" * 64, computed_at=sets.parse_computed_at(
                    files.computed_at_of(name)), state=state, file=str(path), file_format="csv", rows=2,
                rows_loaded=1, received_at=NOW))
            connection.execute(sa.insert(score_set_rows).values(
                set_id=set_id, head_end_system="ECOCLOUD", nic_id="N1", device_id="D1", subscription_id="S1",
                program_code="SMARTSTAT", score=20.0, eligible=True))
    with derms_db.connect() as connection:
        assert sets.current_scores(connection)["score"].to_list() == [80.0]
    assert sets.to_load(derms_db) == "CUT"
    assert sets.find(derms_db, "UNCHECKED") is None and not checking.exists(), "its sender sends it again"
    assert sets.load(derms_db, "CUT") == sets.IN_FORCE
    with derms_db.connect() as connection:
        assert sorted(sets.current_scores(connection).select("nic_id", "score").rows()) == [("N1", 20.0), ("N2", 30.0)]
        assert connection.execute(sa.select(sa.func.count()).select_from(score_set_rows)).scalar_one() == 2
    assert sets.find(derms_db, "CUT")["rowsLoaded"] == 2  # type: ignore[index]


def test_a_refused_file_leaves_no_rows_and_no_set(derms_db: Engine, tmp_path: Path) -> None:
    upload = tmp_path / "bad.csv"
    upload.write_text(HEADER + "".join(f"D{n},N{n},ECOCLOUD,SMARTSTAT,S{n},-1,true,,2026-07-15T02:00:00.000Z,\n"
                                       for n in range(1, 500)))
    with pytest.raises(FileRefused):
        sets.accept(derms_db, tmp_path, upload, "SDCSE_V1_20260715T020000Z.csv", "2026-07-15T02:00:00.000Z", "0" * 64)
    assert upload.exists(), "left for the caller to keep"
    assert sets.list_all(derms_db) == []
    with derms_db.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(score_set_rows)).scalar_one() == 0


def test_the_loaders_sweep_never_takes_a_file_being_refused_for_a_leftover(
        derms_db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The loader sweeps CHECKING sets no thread is loading; one whose refusal is being answered is still held."""
    upload = tmp_path / "bad.csv"
    upload.write_text(HEADER + "D1,N1,ECOCLOUD,SMARTSTAT,S1,-1,true,,2026-07-15T02:00:00.000Z,\n")
    sweeping = False

    def swept_first(step: Any) -> Any:
        def step_after_a_sweep(*args: Any) -> Any:
            nonlocal sweeping
            if not sweeping:  # the sweep lands before each step that answers the refusal
                sweeping = True
                sets.discard_unchecked(derms_db)
                sweeping = False
            return step(*args)
        return step_after_a_sweep

    monkeypatch.setattr(sets, "discard", swept_first(sets.discard))
    monkeypatch.setattr(sets.shutil, "move", swept_first(sets.shutil.move))
    with pytest.raises(FileRefused):
        sets.accept(derms_db, tmp_path, upload, "SDCSE_V1_20260715T020000Z.csv", "2026-07-15T02:00:00.000Z", "0" * 64)
    assert upload.exists(), "left for the caller to keep"
    assert sets.list_all(derms_db) == []
    assert sets.discard_unchecked(derms_db) == []


def test_a_set_whose_record_cannot_be_updated_is_let_go_and_its_file_handed_back(
        derms_db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A database fault after the check: nothing kept, nothing held by the process, the upload left to keep."""
    upload = tmp_path / "good.csv"
    upload.write_text(HEADER + "D1,N1,ECOCLOUD,SMARTSTAT,S1,50,true,,2026-07-15T02:00:00.000Z,SC=50\n")

    def fails(*_args: Any, **_values: Any) -> None:
        raise sa.exc.OperationalError("UPDATE score_sets", None, Exception("disk I/O error"))

    monkeypatch.setattr(sets, "_set", fails)
    with pytest.raises(sa.exc.OperationalError):
        sets.accept(derms_db, tmp_path, upload, "SDCSE_V1_20260715T020000Z.csv", "2026-07-15T02:00:00.000Z", "0" * 64)
    assert upload.exists() and sets.list_all(derms_db) == []
    assert sets.discard_unchecked(derms_db) == [], "no set left held by this process"


def test_a_file_whose_load_failed_is_taken_again_when_it_is_sent_again(derms_db: Engine, tmp_path: Path) -> None:
    failed = taken(derms_db, tmp_path, "2026-07-15T02:00:00.000Z", ("N1", "20", ""))
    settled(derms_db, failed)
    with derms_db.begin() as connection:  # as a load that failed leaves it
        connection.execute(sa.update(score_sets).values(state=sets.FAILED, error="OperationalError: disk I/O error"))
        connection.execute(sa.delete(score_set_in_force))
    again = taken(derms_db, tmp_path, "2026-07-15T02:00:00.000Z", ("N1", "20", ""))
    assert again != failed and settled(derms_db, again) == sets.IN_FORCE
    assert [s["setId"] for s in sets.list_all(derms_db)] == [again]
