"""F11, F12 and F13 through the hub, all three systems in process: DERMS's outcomes reach the program system's
participations (as a message, and as a file), an agent's opt-out reaches DERMS (or comes back DECLINED for a
device DERMS did not reserve), and an agent's unavailability window keeps the device out of DERMS's events."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from derbridge.bootstrap import BackgroundSystems
from derbridge.clock import utcnow
from derbridge.dacs.schema import event_participations, program_types
from derbridge.derms.dispatch.collect import wire_records
from derbridge.derms.dispatch.outcomes import OUTCOME_SCHEMA
from derbridge.derms.schema import declared_unavailability, event_opt_outs
from derbridge.store.db import make_engine
from derbridge.web.auth import outbound_credential
from derbridge.web.client import make_client
from derbridge.web.operator import checked, operator_client, wait_for
from tests.event_seed import HEAD_END, add_device, add_event, add_program_type, reserve, reserve_in_derms
from tests.seed import add_program


def outcomes_message(message_id: str, event: str, nics: list[str], code: str = "D1SP") -> dict[str, Any]:
    return {"messageId": message_id, "postOutcomeList": [
        {"eventExternalIdentifier": event, "headEndSystem": HEAD_END, "nicId": nic, "outcome": code,
         "participationStartDateTime": "2026-07-15T19:00:00Z", "participationEndDateTime": "2026-07-15T21:00:00Z"}
        for nic in nics]}


def outcomes_of(stack: BackgroundSystems, event: str) -> dict[str, str | None]:
    engine = make_engine(stack.settings.database_url("dacs"))
    p = event_participations
    with engine.connect() as connection:
        rows = connection.execute(sa.select(p.c.nic_id, p.c.outcome).where(p.c.event_external_id == event)).all()
    engine.dispose()
    return {row.nic_id: row.outcome for row in rows}


def with_the_program(connection: Connection) -> None:
    """The program type and program the tests of this module share (the stack is the module's)."""
    if connection.execute(sa.select(program_types.c.program_type_code)).first() is None:
        add_program_type(connection)
        add_program(connection)


def hub_message(stack: BackgroundSystems, key: str, flow: str) -> dict[str, Any] | None:
    with operator_client(stack.settings, "hub") as hub:
        found = checked(hub.get("/hub/api/messages", params={"key": key, "flow": flow}))
    settled = [m for m in found if m["status"] in ("DELIVERED", "DECLINED", "DEAD")]
    return settled[0] if settled else None


def test_outcome_messages_from_derms_reach_the_participations(running_stack: BackgroundSystems) -> None:
    settings = running_stack.settings
    dacs_db = make_engine(settings.database_url("dacs"))
    with dacs_db.begin() as connection:
        add_event(connection, "EV-OUT", utcnow() - timedelta(hours=3))
        for nic in ("NIC-O1", "NIC-O2"):
            reserve(connection, "EV-OUT", nic)
    dacs_db.dispose()
    with make_client(settings.url("hub"), outbound_credential(settings, "derms", "hub"), 30) as derms:
        first = derms.post("/hub/from-derms/eventOutcome", json=outcomes_message("M-1", "EV-OUT", ["NIC-O1"]))
        again = derms.post("/hub/from-derms/eventOutcome", json=outcomes_message("M-1", "EV-OUT", ["NIC-O1"]))
        derms.post("/hub/from-derms/eventOutcome", json=outcomes_message("M-2", "EV-OUT", ["NIC-O2", "NIC-O3"], "D1ND"))
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["responses"]["response"][0]["responseCode"] == "DUPLICATE"
    wait_for(lambda: outcomes_of(running_stack, "EV-OUT") == {"NIC-O1": "D1SP", "NIC-O2": "D1ND", "NIC-O3": "D1ND"},
             60, "the outcomes applied")


def test_an_outcome_file_from_derms_is_applied_whole(running_stack: BackgroundSystems) -> None:
    settings = running_stack.settings
    buffer = io.BytesIO()
    pl.DataFrame({"eventExternalIdentifier": ["EV-FILE"] * 3, "headEndSystem": [HEAD_END] * 3,
                  "nicId": ["F1", "F2", "F3"], "outcome": ["D1SP", "D1IO", "D1CN"]}).write_csv(buffer)
    body = buffer.getvalue()
    with make_client(settings.url("hub"), outbound_credential(settings, "derms", "hub"), 30) as derms:
        answer = derms.put("/hub/files/from-derms/eventOutcomes", params={"fileId": "OF-1"}, content=body,
                           headers={"content-type": "text/csv", "idempotency-key": "OF-1",
                                    "x-content-sha256": hashlib.sha256(body).hexdigest()})
    assert answer.status_code == 202, answer.text
    wait_for(lambda: outcomes_of(running_stack, "EV-FILE") == {"F1": "D1SP", "F2": "D1IO", "F3": "D1CN"}, 60,
             "the outcome file applied")


def test_an_outcome_file_as_derms_writes_it_is_applied_with_its_times_and_messages(
        running_stack: BackgroundSystems, tmp_path: Path) -> None:
    settings = running_stack.settings
    start = datetime(2026, 7, 15, 20, tzinfo=UTC)
    found = pl.DataFrame({
        "head_end_system": [HEAD_END] * 2, "nic_id": ["W1", "W2"], "outcome": ["D1SP", "D1ER"],
        "start_at": [start, None], "end_at": [start + timedelta(hours=2), None],
        "error_message": [None, "ECOCLOUD unavailable: HTTP 503"]}, schema=OUTCOME_SCHEMA)
    path = tmp_path / "outcomes.csv"
    wire_records(found, "EV-WIRE").write_csv(path)
    body = path.read_bytes()
    with make_client(settings.url("hub"), outbound_credential(settings, "derms", "hub"), 30) as derms:
        answer = derms.put("/hub/files/from-derms/eventOutcomes", params={"fileId": "EV-WIRE-OUTCOMES"},
                           content=body, headers={"content-type": "text/csv", "idempotency-key": "EV-WIRE-OUTCOMES",
                                                  "x-content-sha256": hashlib.sha256(body).hexdigest()})
    assert answer.status_code == 202, answer.text
    wait_for(lambda: outcomes_of(running_stack, "EV-WIRE") == {"W1": "D1SP", "W2": "D1ER"}, 60,
             "the outcome file applied")
    engine = make_engine(settings.database_url("dacs"))
    p = event_participations
    with engine.connect() as connection:
        rows = {row.nic_id: row for row in connection.execute(sa.select(p).where(p.c.event_external_id == "EV-WIRE"))}
    engine.dispose()
    assert rows["W1"].participation_start.replace(tzinfo=UTC) == start
    assert rows["W1"].participation_end.replace(tzinfo=UTC) == start + timedelta(hours=2)
    assert rows["W2"].outcome_message == "ECOCLOUD unavailable: HTTP 503" and rows["W2"].participation_start is None


def test_an_agents_opt_out_reaches_derms_and_one_it_cannot_take_comes_back_declined(
        running_stack: BackgroundSystems) -> None:
    settings = running_stack.settings
    dacs_db, derms_db = (make_engine(settings.database_url(system)) for system in ("dacs", "derms"))
    start = utcnow() + timedelta(days=1)
    with dacs_db.begin() as connection:
        with_the_program(connection)
        add_event(connection, "EV-OPT", start)
        for n in (1, 2):
            add_device(connection, f"D{n:011d}", f"NIC-P{n}")
            reserve(connection, "EV-OPT", f"NIC-P{n}", f"D{n:011d}")
    with derms_db.begin() as connection:
        reserve_in_derms(connection, "EV-OPT", "NIC-P1", start)  # DERMS reserved only the first
    with operator_client(settings, "dacs") as dacs:
        for n in (1, 2):
            checked(dacs.post("/api/participations/opt-outs",
                              json={"eventExternalIdentifier": "EV-OPT", "deviceId": f"D{n:011d}"}))
    accepted = wait_for(lambda: hub_message(running_stack, f"EV-OPT:{HEAD_END}:NIC-P1", "F12"), 60, "delivered")
    declined = wait_for(lambda: hub_message(running_stack, f"EV-OPT:{HEAD_END}:NIC-P2", "F12"), 60, "declined")
    assert (accepted["status"], declined["status"]) == ("DELIVERED", "DECLINED")
    with derms_db.connect() as connection:
        held = connection.execute(sa.select(event_opt_outs.c.nic_id)).scalars().all()
    assert held == ["NIC-P1"]
    dacs_db.dispose()
    derms_db.dispose()


def test_an_agents_unavailability_window_reaches_derms_and_its_cancel_follows(running_stack: BackgroundSystems) -> None:
    settings = running_stack.settings
    dacs_db, derms_db = (make_engine(settings.database_url(system)) for system in ("dacs", "derms"))
    with dacs_db.begin() as connection:
        with_the_program(connection)
        add_device(connection, "D00000000077", "NIC-U1", subscription_id="SUB00000000077")
    dacs_db.dispose()
    start = utcnow() + timedelta(days=2)
    with operator_client(settings, "dacs") as dacs:
        window = checked(dacs.post("/api/unavailability", json={
            "deviceId": "D00000000077", "start": start.isoformat(), "end": (start + timedelta(hours=5)).isoformat(),
            "reason": "travelling"}))
        checked(dacs.delete(f"/api/unavailability/{window['unavailabilityId']}"))

    def held_at_derms() -> tuple[int, str] | None:
        with derms_db.connect() as connection:
            row = connection.execute(sa.select(declared_unavailability.c.version, declared_unavailability.c.status)
                                     .where(declared_unavailability.c.nic_id == "NIC-U1")).first()
        return (row.version, row.status) if row is not None and row.version == 2 else None

    assert wait_for(held_at_derms, 60, "the cancel at DERMS") == (2, "CANCELLED")
    derms_db.dispose()
