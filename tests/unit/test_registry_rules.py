"""The registry's pure rules: rounds that keep arrival order, what a head end's answer makes of a device, and
what a bulk sync file must hold."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

from derbridge.derms.registry import bulk_sync
from derbridge.derms.registry.enrollment_sync import EnrollMessage, rounds
from derbridge.derms.registry.registration import outcome
from derbridge.errors import FileRefused
from derbridge.tables.refusals import ROWS_NAMED
from derbridge.tables.spec import sniffed_format


def message(message_id: str, subscription: str, *nics: str) -> EnrollMessage:
    return EnrollMessage.model_validate({
        "dacsMessageId": message_id, "contactInfo": {"cisPersonId": "P1", "contactId": "C1"},
        "subscriptionInfo": {"subscriptionId": subscription, "cisAccountId": "A1", "status": "ACTIVE",
                             "programCode": "SMARTSTAT", "startDateTimeISO": "2026-01-01T00:00:00Z"},
        "locationInfo": {"cisServicePointId": "SP1", "controllableDevices": [
            {"deviceId": nic[-6:], "nicId": nic, "headEndSystem": "ECOCLOUD", "isActive": True} for nic in nics]}})


def ids(grouped: list[list[EnrollMessage]]) -> list[list[str]]:
    return [[m.dacsMessageId for m in group] for group in grouped]


def test_messages_sharing_nothing_go_in_one_round() -> None:
    assert ids(rounds([message("1", "S1", "N1"), message("2", "S2", "N2"), message("3", "S3")])) == [["1", "2", "3"]]


def test_a_message_comes_a_round_after_every_earlier_message_it_shares_a_subscription_or_device_with() -> None:
    grouped = rounds([message("1", "S1", "N1"), message("2", "S2", "N2"), message("3", "S1"),
                      message("4", "S4", "N2"), message("5", "S5", "N1", "N2"), message("6", "S6")])
    assert ids(grouped) == [["1", "2", "6"], ["3", "4"], ["5"]]


def answered(**columns: list[Any]) -> pl.DataFrame:
    size = len(next(iter(columns.values())))
    base = {"head_end_system": ["ECOCLOUD"] * size, "nic_id": [f"N{n}" for n in range(size)],
            "wanted": [True] * size, "current": ["NOT_REGISTERED"] * size, "action": [None] * size,
            "ok": [None] * size, "registered": [None] * size, "reply": [None] * size}
    schema = {"head_end_system": pl.String, "nic_id": pl.String, "wanted": pl.Boolean, "current": pl.String,
              "action": pl.String, "ok": pl.Boolean, "registered": pl.Boolean, "reply": pl.String}
    return pl.DataFrame({**base, **columns}, schema=schema)


def test_a_head_end_answer_becomes_the_device_registration_and_its_message() -> None:
    result = outcome(answered(
        action=["register", "register", "deregister", "deregister", None],
        ok=[True, False, True, False, None],
        registered=[True, False, False, True, None],
        reply=[None, "refused: quota", None, "busy", None],
        current=["NOT_REGISTERED", "NOT_REGISTERED", "REGISTERED", "REGISTERED", "DEREGISTERED"]))
    assert result.select("status", "message").rows() == [
        ("REGISTERED", None), ("NOT_REGISTERED", "refused: quota"), ("DEREGISTERED", None),
        ("REGISTERED", "deregistration failed: busy"), ("DEREGISTERED", None)]


ROW = {"syncRequestId": "S1", "subscriptionId": "SUB1", "cisPersonId": "P1", "contactId": "C1",
       "cisAccountId": "A1", "subscriptionType": "DR", "status": "ACTIVE", "programId": "PRG1",
       "programCode": "SMARTSTAT", "startDateTime": "2025-01-01T00:00:00Z", "endDateTime": "", "division": "N",
       "servicePointId": "X1", "cisPremiseId": "PR1", "cisServicePointId": "SP1", "deviceId": "D1",
       "nicId": "N1", "headEndSystem": "ECOCLOUD", "specification": "", "deviceType": "",
       "installDateTime": "2024-06-01T00:00:00", "isActive": "yes"}


def csv_file(tmp_path: Path, rows: list[dict[str, Any]]) -> Path:
    path = tmp_path / "sync.csv"
    pl.DataFrame(rows).write_csv(path)
    return path


def test_a_good_csv_file_counts_its_rows(tmp_path: Path) -> None:
    rows = [{**ROW, "deviceId": f"D{n}", "nicId": f"N{n}"} for n in range(3)]
    assert bulk_sync.check_file(csv_file(tmp_path, rows), "csv") == 3


def test_an_error_names_its_first_rows_and_counts_the_rest(tmp_path: Path) -> None:
    rows = [{**ROW, "deviceId": f"D{n}", "nicId": f"N{n}", "isActive": "perhaps"} for n in range(ROWS_NAMED + 5)]
    with pytest.raises(FileRefused) as refused:
        bulk_sync.check_file(csv_file(tmp_path, rows), "csv")
    [error] = refused.value.errors
    assert (error["field"], error["type"], error["count"]) == ("isActive", "not_a_boolean", ROWS_NAMED + 5)
    assert error["rows"] == list(range(1, ROWS_NAMED + 1))
    assert error["message"] == f"is not true or false ({ROWS_NAMED + 5} rows)"


def test_a_row_without_a_required_value_is_named(tmp_path: Path) -> None:
    rows = [ROW, {**ROW, "subscriptionId": "SUB2", "deviceId": "D2", "nicId": "N2", "programCode": " "}]
    with pytest.raises(FileRefused) as refused:
        bulk_sync.check_file(csv_file(tmp_path, rows), "csv")
    assert [(e["field"], e["type"], e["rows"]) for e in refused.value.errors] == [("programCode", "missing", [2])]


def test_a_file_that_is_neither_parquet_nor_csv_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "junk"
    path.write_bytes(b"PAR1 but not really")
    with pytest.raises(FileRefused) as refused:
        bulk_sync.check_file(path, sniffed_format(path))
    assert refused.value.errors[0]["type"] == "unreadable_file"
