"""F9 — device reservation: DERMS → program system, a device list for an upcoming event, acknowledged to DERMS.

DERMS PUTs the list as a CSV file (`recordId`, `nicId`, `headEndSystemId`, optional `reservationStartDateTime`
and `reservationEndDateTime`, the event window when empty) to `/hub/files/from-derms/reserveDevice`, the JSON
header's fields (`drmsInstanceId`, `messageId`, `eventId`, `eventType`, `eventStartDateTime`,
`eventEndDateTime`) as its query string. The hub refuses a list without devices, or with a device it cannot
name or a date-time it cannot read (422 naming the rows), checks the route of the DERMS instance, maps the
event type through `OUTL-BRT-DACS_DRMS_EventType`, and records the list as one message made of parts: one part
per chunk of `CHUNK_DEVICES` devices, each a claim check on the file (never the rows in the log). Each chunk is
one call to the program system's reserve device (never one call per device), made after its health check
answers, with the chunk's business key (`messageId:n`) as Idempotency-Key; the program system creates one
participation per device, so a chunk delivered twice, or the same list sent again, reserves nothing twice. Once
every chunk is settled the hub acknowledges DERMS (`POST /reserveDeviceAck`): a MsgAck with one response per
chunk.

An update of a reservation is a new list (a new messageId) of the devices added; a device DERMS dropped is a
row with `reservationStatus` RELEASED (derbridge's own column), sent to a program system that takes
`releasedDeviceList` (`dacs_device_release`), and otherwise reported in the ack as not sent: the vendor
documents no way to release a device.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx2
from pydantic import BaseModel, ConfigDict, Field, model_validator

from derbridge.clock import iso_z
from derbridge.errors import FileRefused
from derbridge.hub import messagelog
from derbridge.hub.context import current
from derbridge.hub.flows.files import FileRelay, StoredFile
from derbridge.hub.flows.relay import Leg, status_after, unmappable
from derbridge.hub.flows.wire import check_route, iso_now
from derbridge.hub.lookup_catalog import DACS, DERMS, EVENT_TYPE
from derbridge.hub.lookups import LookupMissing, Lookups
from derbridge.tables.spec import FileColumn
from derbridge.web.client import Outcome, post_json
from derbridge.web.wire import UtcDateTime

if TYPE_CHECKING:
    import polars as pl

FLOW = "F9"
LIST_KIND, CHUNK_KIND = "reservation", "reservation-chunk"
RESERVE_PATH = "/rest/apis/cross/service/programEventParticipation/reserveDevice"
ACK_PATH = "/reserveDeviceAck"
HEALTH_PATH = "/health"
CHUNK_DEVICES = 5_000
"""Devices per reserve device call: 100,000 devices are 20 calls of about half a megabyte each."""
HEALTHY_FOR_S = 10.0
RESERVED, RELEASED = "RESERVED", "RELEASED"
BUSINESS_REFUSALS = (409, 422)


class ReservationHeader(BaseModel):
    """The JSON header of a device list, as the file's query string."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    drmsInstanceId: str = Field(min_length=1, max_length=30)
    messageId: str = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9._:-]+$")
    eventId: str = Field(min_length=1, max_length=60)
    eventType: str = Field(min_length=1, max_length=20)
    eventStartDateTime: UtcDateTime
    eventEndDateTime: UtcDateTime

    @model_validator(mode="after")
    def ends_after_it_starts(self) -> ReservationHeader:
        if self.eventEndDateTime <= self.eventStartDateTime:
            raise ValueError("eventEndDateTime must be after eventStartDateTime")
        return self


COLUMNS = (FileColumn("recordId", max_length=30), FileColumn("nicId", max_length=100),
           FileColumn("headEndSystemId", max_length=50),
           FileColumn("reservationStartDateTime", max_length=40, optional=True),
           FileColumn("reservationEndDateTime", max_length=40, optional=True),
           FileColumn("reservationStatus", max_length=10, optional=True))
TO_TARGET = {"recordId": "recordId", "nicId": "nicId", "headEndSystemId": "headEndSystem",
             "reservationStartDateTime": "reservationStartDateTime",
             "reservationEndDateTime": "reservationEndDateTime", "reservationStatus": "reservationStatus"}
TIMES = ("reservationStartDateTime", "reservationEndDateTime")


# ---- the file: checked, each date-time in the vendor's form, reserved devices first ------------------------------


def prepare(mapped: Path, rows: int) -> None:
    """Refuse an empty list, a device without its ids, an unreadable date-time or status; rewrite the file with
    times as `…000Z` and the reserved devices before the released ones."""
    import polars as pl  # loaded when the first device list arrives, as by every file relay

    if rows == 0:
        raise FileRefused(422, "Empty device list", "the device list holds no devices",
                          [{"field": "body", "type": "empty", "message": "a reservation lists at least one device"}])
    frame = pl.read_parquet(mapped).with_row_index("row", offset=1)
    read = frame.with_columns(*(read_time(pl.col(name)).alias(f"{name}.read") for name in TIMES),
                              status=pl.col("reservationStatus").fill_null(RESERVED).str.to_uppercase())
    problems = [
        *(_rows(read, pl.col(name).is_null(), name, "missing", "has no value")
          for name in ("nicId", "headEndSystem")),
        *(_rows(read, pl.col(name).is_not_null() & pl.col(f"{name}.read").is_null(), name, "not_a_date_time",
                "is not an ISO 8601 date-time") for name in TIMES),
        _rows(read, ~pl.col("status").is_in([RESERVED, RELEASED]), "reservationStatus", "not_allowed",
              f"is {RESERVED}, {RELEASED} or empty"),
    ]
    errors = [problem for problem in problems if problem]
    if errors:
        raise FileRefused(422, "Invalid file", "bad values in " + ", ".join(e["field"] for e in errors), errors)
    (read.sort(pl.col("status") == RELEASED, maintain_order=True)
     .select("nicId", "headEndSystem",
             *(pl.col(f"{name}.read").dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").alias(name) for name in TIMES),
             reservationStatus="status")
     .write_parquet(mapped))


def read_time(text: pl.Expr) -> pl.Expr:
    """ISO 8601 date-times with seconds, `Z`, an offset or none (UTC, the one rule); anything else is null."""
    import polars as pl

    utc = "UTC"
    return pl.coalesce(
        text.str.to_datetime("%Y-%m-%dT%H:%M:%S%.fZ", strict=False).dt.replace_time_zone(utc),
        text.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%:z", strict=False, time_zone=utc),
        text.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%z", strict=False, time_zone=utc),
        text.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f", strict=False).dt.replace_time_zone(utc))


def _rows(frame: pl.DataFrame, bad: pl.Expr, field: str, kind: str, message: str) -> dict[str, Any] | None:
    found = frame.filter(bad)["row"]
    if found.is_empty():
        return None
    return {"field": field, "type": kind, "message": f"{field} {message}", "count": found.len(),
            "rows": found.head(20).to_list()}


# ---- the message: one part per chunk ----------------------------------------------------------------------------


def header_to_dacs(header: ReservationHeader, lookups: Lookups) -> dict[str, Any]:
    """The reserve device call's event fields, the DERMS event type as the program event category."""
    check_route(header.drmsInstanceId, lookups)
    return {"eventExternalIdentifier": header.eventId,
            "eventType": lookups.value(EVENT_TYPE, DERMS, header.eventType, DACS),
            "eventStartDateTime": iso_z(header.eventStartDateTime), "eventEndDateTime": iso_z(header.eventEndDateTime)}


@dataclass(frozen=True)
class ReservationRelay(FileRelay):
    """The device list's file relay: taken like any file, delivered as chunks, acknowledged to DERMS."""

    def prepare(self, mapped: Path, rows: int) -> None:
        prepare(mapped, rows)

    @property
    def legs(self) -> list[Leg]:
        return [Leg(CHUNK_KIND, batchable=False, send=send_chunk, status_after=chunk_status, map_again=map_again),
                Leg(LIST_KIND, batchable=False, compose=compose_ack)]

    def new_message(self, parameters: BaseModel, sender_key: str, received: StoredFile,
                    mapped: StoredFile) -> messagelog.NewMessage:
        """The list, WAITING for its chunks; each chunk a claim check on the mapped file: offset and length."""
        import polars as pl

        assert isinstance(parameters, ReservationHeader)
        context = current()
        counted = pl.scan_parquet(mapped.path).group_by("reservationStatus").len().collect()
        counts = dict(counted.iter_rows())
        reserved, released = counts.get(RESERVED, 0), counts.get(RELEASED, 0)
        sent = reserved + (released if context.settings.dacs_device_release else 0)
        query = parameters.model_dump(mode="json")
        parent = super().new_message(parameters, sender_key, received, mapped)
        counts_held = {"reserved": reserved, "released": released, "releasedNotSent": reserved + released - sent}
        parts = tuple(self._chunk(parameters, query, sender_key, mapped, number, offset,
                                  min(CHUNK_DEVICES, sent - offset), context.lookups.snapshot())
                      for number, offset in enumerate(range(0, sent, CHUNK_DEVICES), start=1))
        return messagelog.NewMessage(
            flow=FLOW, kind=LIST_KIND, source="derms", target="derms", business_key=parameters.messageId,
            idempotency_key=parent.idempotency_key,
            inbound_payload=json.dumps({**json.loads(parent.inbound_payload), **counts_held}),
            outbound_path=ACK_PATH, outbound_payload=None, status=messagelog.WAITING, parts=parts,
            keys={**parent.keys, **{name: str(count) for name, count in counts_held.items()}})

    def _chunk(self, header: ReservationHeader, query: dict[str, Any], sender_key: str, mapped: StoredFile,
               number: int, offset: int, length: int, lookups: Lookups) -> messagelog.NewMessage:
        claim = {"file": str(mapped.path), "offset": offset, "length": length, "parameters": query}
        part = messagelog.NewMessage(
            flow=FLOW, kind=CHUNK_KIND, source="derms", target="dacs", business_key=f"{header.messageId}:{number}",
            idempotency_key=f"{FLOW}:{CHUNK_KIND}:{sender_key}:{number}", inbound_payload=json.dumps(claim),
            outbound_path=RESERVE_PATH, outbound_payload=None,
            keys={"messageId": header.messageId, "eventId": header.eventId, "chunk": str(number)})
        try:
            return replace(part, outbound_payload={**claim, "header": header_to_dacs(header, lookups)})
        except LookupMissing as error:
            return unmappable(part, error)


def map_again(row: Any, lookups: Lookups, _settings: Any) -> dict[str, Any]:
    """A chunk that could not be mapped when it arrived (a lookup lacked a row), mapped with today's lookups."""
    claim = json.loads(row.inbound_payload)
    return {**claim, "header": header_to_dacs(ReservationHeader.model_validate(claim["parameters"]), lookups)}


# ---- delivery -------------------------------------------------------------------------------------------------


def chunk_body(claim: dict[str, Any]) -> dict[str, Any]:
    """The reserve device call for one chunk, read from the file: the event's fields and its devices."""
    import polars as pl

    rows = pl.scan_parquet(claim["file"]).slice(claim["offset"], claim["length"]).collect()
    body: dict[str, Any] = {**claim["header"], "deviceList": [
        {key: value for key, value in device.items() if value is not None}
        for device in rows.filter(pl.col("reservationStatus") == RESERVED).select(
            "headEndSystem", "nicId", *TIMES).to_dicts()]}
    released = rows.filter(pl.col("reservationStatus") == RELEASED).select("headEndSystem", "nicId")
    if not released.is_empty():
        body["releasedDeviceList"] = released.to_dicts()
    return body


def send_chunk(row: Any) -> Outcome:
    """One chunk, once the program system's health check answers; a technical fault makes the next chunk check
    its health again."""
    client = current().clients[row.target]
    unhealthy = health_of(client)
    if unhealthy:
        return Outcome("transient", None, None, unhealthy)
    outcome = post_json(client, row.outbound_path, chunk_body(json.loads(row.outbound_payload)), row.business_key)
    if outcome.verdict == "transient":
        with _health_lock:
            _healthy_until.pop(str(client.base_url), None)
    return outcome


_healthy_until: dict[str, float] = {}
_health_lock = threading.Lock()


def health_of(client: httpx2.Client) -> str | None:
    """Why the program system is not fit to take a chunk now, or None. Healthy: it answers `GET /health` with
    anything but a server error (a system without that path answers 404, which is an answer); a healthy answer
    holds for HEALTHY_FOR_S, so the chunks of one list cost one check."""
    base = str(client.base_url)
    with _health_lock:
        if time.monotonic() < _healthy_until.get(base, 0.0):
            return None
    try:
        status = client.get(HEALTH_PATH).status_code
    except httpx2.TransportError as exc:
        return f"health check: the program system cannot be reached ({type(exc).__name__}: {exc})"
    if status >= 500 or status in (408, 429):
        return f"health check: the program system answered HTTP {status}"
    with _health_lock:
        _healthy_until[base] = time.monotonic() + HEALTHY_FOR_S
    return None


def chunk_status(outcome: Outcome) -> str:
    """A chunk the program system refuses for what it holds (409) or names (422) is DECLINED: not retried, and
    reported to DERMS; the other answers are read as usual."""
    if not outcome.delivered and outcome.status in BUSINESS_REFUSALS:
        return messagelog.DECLINED
    return status_after(outcome)


def compose_ack(parent: Any, parts: list[Any]) -> dict[str, Any]:
    """The ack to DERMS: SUCCESS when every chunk was taken, ERROR when some were refused or released devices
    could not be sent, FAILURE when a chunk failed for a technical reason."""
    described = json.loads(parent.inbound_payload)
    responses = [chunk_response(part) for part in parts]
    not_sent = int(described.get("releasedNotSent", 0))
    if not_sent:
        responses.append({"id": f"{parent.business_key}:released", "responseCode": "ERROR",
                          "value": f"{not_sent} released device(s) not sent: the program system takes no release",
                          "responseTimeISO": iso_now()})
    codes = {response["responseCode"] for response in responses}
    ack_type = "FAILURE" if "FAILURE" in codes else "ERROR" if "ERROR" in codes else "SUCCESS"
    return {"messageId": parent.business_key, "eventId": described["parameters"]["eventId"], "ackType": ack_type,
            "whenISO": iso_now(), "responses": {"response": responses}}


def chunk_response(part: Any) -> dict[str, Any]:
    """One chunk as it ended: taken (SUCCESS, how many devices), refused (ERROR, why) or failed (FAILURE)."""
    body = json.loads(part.response) if part.response else {}
    body = body if isinstance(body, dict) else {}
    base = {"id": part.business_key, "responseTimeISO": iso_now()}
    if part.status == messagelog.DELIVERED:
        devices = json.loads(part.outbound_payload)["length"]
        return {**base, "responseCode": "SUCCESS", "value": f"{devices} device(s) taken"}
    if part.status == messagelog.DECLINED or (part.status == messagelog.DEAD and not part.attempts):
        return {**base, "responseCode": "ERROR", "value": _refusal(body) or part.last_error or "refused"}
    return {**base, "responseCode": "FAILURE", "value": part.last_error or part.status}


def _refusal(body: dict[str, Any]) -> str:
    named = "; ".join(f"{error.get('field')}: {error.get('message')}" for error in body.get("errors", [])[:20])
    return str(named or body.get("detail") or "")[:2000]


FILE_RELAYS: list[FileRelay] = [
    ReservationRelay(
        flow=FLOW, kind=LIST_KIND, source="derms", target="derms", name="reserveDevice",
        target_path=ACK_PATH, columns=COLUMNS, to_target=TO_TARGET, parameters=ReservationHeader,
        business_key=lambda p: p.messageId,
        keys=lambda p: {"messageId": p.messageId, "eventId": p.eventId, "drmsInstanceId": p.drmsInstanceId},
        summary="A device list from DERMS: the devices reserved for an upcoming event (CSV), the header in the query",
    ),
]
