"""The hub's mapping of F8 (stages, status changes), F9 (a device list: its file checked, its chunks) and F10
(the cancellation) to the program system's documented calls."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from derbridge.derms.events.wire import EVENT_TYPES
from derbridge.errors import FileRefused
from derbridge.hub import lookup_catalog as catalog
from derbridge.hub.flows import f8_events, f9_reservations, f10_cancellation
from derbridge.hub.lookups import LookupMissing, Lookups

LOOKUPS = Lookups.of(catalog.SEEDS)
VENDOR_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def stage(**changes: Any) -> f8_events.DermsStage:
    return f8_events.DermsStage.model_validate({
        "drmsInstanceId": "DERMS-1", "eventId": "EV1", "stageId": "EV1-1", "stageName": "RAMP_UP",
        "programCode": "SMARTSTAT", "eventType": "ECONOMIC", "startDateTime": "2026-07-15T13:00:00-05:00",
        "endDateTime": "2026-07-15T18:15:00Z", **changes})


def test_a_stage_becomes_a_program_event_with_every_documented_field() -> None:
    assert f8_events.stage_to_dacs(stage(), LOOKUPS) == {
        "eventExternalIdentifier": "EV1", "externalIdentifier": "EV1-1", "programExternalIdentifier": "SMARTSTAT",
        "programEventCategory": "X1EC", "startDateTime": "2026-07-15T18:00:00.000Z",
        "endDateTime": "2026-07-15T18:15:00.000Z"}


@pytest.mark.parametrize(("event_type", "category"), [("ECONOMIC", "X1EC"), ("EMERGENCY", "X1EM"),
                                                      ("RELIABILITY", "X1RE"), ("DEVICE-TEST", "X1DT")])
def test_each_derms_event_type_maps_to_its_category(event_type: str, category: str) -> None:
    assert f8_events.stage_to_dacs(stage(eventType=event_type), LOOKUPS)["programEventCategory"] == category


def test_the_seeded_event_type_lookup_knows_exactly_derms_event_types() -> None:
    rows = LOOKUPS.get(catalog.EVENT_TYPE).records()
    assert sorted(row[catalog.DERMS] for row in rows) == sorted(EVENT_TYPES)


def test_an_unknown_event_type_or_an_instance_routed_elsewhere_cannot_be_mapped() -> None:
    with pytest.raises(LookupMissing):
        f8_events.stage_to_dacs(stage(eventType="LOAD-SHED"), LOOKUPS)
    with pytest.raises(LookupMissing):
        f8_events.stage_to_dacs(stage(drmsInstanceId="DERMS-9"), LOOKUPS)


@pytest.mark.parametrize(("status", "action"), [("SCHEDULED", "X1SD"), ("IN_PROGRESS", "X1IP"),
                                                ("COMPLETED", "F1CO"), ("CANCELLED", "F1CN")])
def test_each_status_is_its_lifecycle_action_and_only_a_cancellation_carries_a_reason(status: str,
                                                                                      action: str) -> None:
    change = f8_events.DermsEventStatus.model_validate({"eventId": "EV1", "status": status,
                                                        "cancelReason": "cooler"})
    assert f8_events.status_to_dacs(change, LOOKUPS) == {
        "eventExternalIdentifier": "EV1", "action": action,
        "cancelReason": "cooler" if status == "CANCELLED" else None}


def test_the_cancellation_message_is_the_pre_event_cancellation_cut_to_its_length() -> None:
    cancellation = f10_cancellation.DermsCancellation(eventId="EV1", cancellationMessageText="x" * 254)
    assert f10_cancellation.to_dacs(cancellation, LOOKUPS) == {"eventExternalIdentifier": "EV1",
                                                               "cancelMessage": "x" * 100}


# ---- F9 ----------------------------------------------------------------------------------------------------

HEADER = f9_reservations.ReservationHeader.model_validate({
    "drmsInstanceId": "DERMS-1", "messageId": "EV1-R1", "eventId": "EV1", "eventType": "EMERGENCY",
    "eventStartDateTime": "2026-07-15T18:00:00Z", "eventEndDateTime": "2026-07-15T20:00:00Z"})


def mapped_file(tmp_path: Path, rows: list[dict[str, Any]]) -> Path:
    path = tmp_path / "mapped.parquet"
    columns = ["recordId", "nicId", "headEndSystem", *f9_reservations.TIMES, "reservationStatus"]
    pl.DataFrame([{column: row.get(column) for column in columns} for row in rows],
                 schema=dict.fromkeys(columns, pl.String)).write_parquet(path)
    return path


def test_the_header_maps_the_event_type_and_writes_times_the_vendors_way() -> None:
    assert f9_reservations.header_to_dacs(HEADER, LOOKUPS) == {
        "eventExternalIdentifier": "EV1", "eventType": "X1EM", "eventStartDateTime": "2026-07-15T18:00:00.000Z",
        "eventEndDateTime": "2026-07-15T20:00:00.000Z"}


def test_an_empty_device_list_is_refused() -> None:
    with pytest.raises(FileRefused) as refused:
        f9_reservations.prepare(Path("unused"), 0)
    assert (refused.value.status, refused.value.errors[0]["type"]) == (422, "empty")


def test_a_device_list_with_bad_rows_is_refused_naming_each_column_and_row(tmp_path: Path) -> None:
    path = mapped_file(tmp_path, [
        {"recordId": "1", "nicId": "N1", "headEndSystem": "ECO"},
        {"recordId": "2", "nicId": None, "headEndSystem": "ECO", "reservationStartDateTime": "tomorrow"},
        {"recordId": "3", "nicId": "N3", "headEndSystem": "ECO", "reservationStatus": "MAYBE"}])
    with pytest.raises(FileRefused) as refused:
        f9_reservations.prepare(path, 3)
    assert [(e["field"], e["type"], e["rows"]) for e in refused.value.errors] == [
        ("nicId", "missing", [2]), ("reservationStartDateTime", "not_a_date_time", [2]),
        ("reservationStatus", "not_allowed", [3])]


def test_a_device_list_is_rewritten_reserved_first_with_vendor_times_and_chunked_from_the_file(
        tmp_path: Path) -> None:
    path = mapped_file(tmp_path, [
        {"recordId": "1", "nicId": "N1", "headEndSystem": "ECO", "reservationStatus": "RELEASED"},
        {"recordId": "2", "nicId": "N2", "headEndSystem": "ECO",
         "reservationStartDateTime": "2026-07-15T13:30:00-05:00", "reservationEndDateTime": "2026-07-15T19:30:00"},
        {"recordId": "3", "nicId": "N3", "headEndSystem": "ECO", "reservationStatus": "reserved"}])
    f9_reservations.prepare(path, 3)
    header = f9_reservations.header_to_dacs(HEADER, LOOKUPS)
    whole = f9_reservations.chunk_body({"file": str(path), "offset": 0, "length": 3, "header": header})
    assert whole == {**header, "deviceList": [
        {"headEndSystem": "ECO", "nicId": "N2", "reservationStartDateTime": "2026-07-15T18:30:00.000Z",
         "reservationEndDateTime": "2026-07-15T19:30:00.000Z"},
        {"headEndSystem": "ECO", "nicId": "N3"}], "releasedDeviceList": [{"headEndSystem": "ECO", "nicId": "N1"}]}
    assert all(VENDOR_TIME.match(value) for value in (header["eventStartDateTime"], header["eventEndDateTime"]))
    second = f9_reservations.chunk_body({"file": str(path), "offset": 1, "length": 1, "header": header})
    assert second["deviceList"] == [{"headEndSystem": "ECO", "nicId": "N3"}] and "releasedDeviceList" not in second


def test_a_header_ending_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError, match="eventEndDateTime"):
        f9_reservations.ReservationHeader.model_validate({
            **HEADER.model_dump(), "eventEndDateTime": datetime(2026, 7, 15, 17, tzinfo=UTC)})
