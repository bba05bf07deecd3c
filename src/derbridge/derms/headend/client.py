"""A head end in a process of its own (`derbridge headend serve`), asked over HTTP by DERMS's gateway.

Any fault of a whole request (the cloud cannot be reached, times out, answers 5xx or anything but a proper
answer) is `HeadEndUnavailable`, so the gateway answers each device of that head end, and the others go on.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import httpx2

from derbridge.clock import iso_z
from derbridge.derms.headend.model import DeviceStatus, DispatchOrder, HeadEndUnavailable, Registration
from derbridge.derms.headend.service import (
    MAX_DEVICES_PER_REQUEST,
    registration_from_json,
    status_from_json,
)
from derbridge.web.client import make_client

if TYPE_CHECKING:
    import polars as pl

Answer = TypeVar("Answer", DeviceStatus, Registration)


class HttpHeadEnd:
    def __init__(self, name: str, base_url: str, credential: str, timeout_s: float = 10.0,
                 transport: httpx2.BaseTransport | None = None) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self._client = make_client(self.base_url, credential, timeout_s, transport)
        self._reporting_lag_s = 0.0

    @property
    def reporting_lag_s(self) -> float:
        """As the cloud said with its latest status answer (0 until it has answered once)."""
        return self._reporting_lag_s

    def latest_status(self, nic_ids: list[str]) -> list[DeviceStatus]:
        def read(body: dict[str, Any]) -> list[DeviceStatus]:
            self._reporting_lag_s = float(body.get("reportingLagS") or 0.0)
            return [status_from_json(item) for item in body["devices"]]

        return self._ask("/gateway/status", nic_ids, read)

    def register(self, nic_ids: list[str]) -> list[Registration]:
        return self._ask("/gateway/register", nic_ids,
                         lambda body: [registration_from_json(item) for item in body["devices"]])

    def deregister(self, nic_ids: list[str]) -> list[Registration]:
        return self._ask("/gateway/deregister", nic_ids,
                         lambda body: [registration_from_json(item) for item in body["devices"]])

    def dispatch(self, order: DispatchOrder, devices: pl.DataFrame) -> pl.DataFrame:
        """The cloud's answers, a chunk of devices at a time."""
        import polars as pl

        header = {"eventId": order.event_id, "stageId": order.stage_id, "startISO": iso_z(order.start),
                  "endISO": iso_z(order.end)}
        frames = []
        for first in range(0, devices.height, MAX_DEVICES_PER_REQUEST):
            chunk = devices.slice(first, MAX_DEVICES_PER_REQUEST)
            body = self._post("/gateway/dispatch", {**header, "devices": chunk.select(
                nicId="nic_id", kw="kw").to_dicts()})
            try:
                answers = pl.DataFrame(body["devices"], schema={"nicId": pl.String, "result": pl.String,
                                                                "message": pl.String}).select(
                    nic_id="nicId", result="result", message=pl.col("message").fill_null(""))
            except (KeyError, TypeError, ValueError, pl.exceptions.PolarsError) as exc:
                raise HeadEndUnavailable(f"an answer DERMS cannot read ({type(exc).__name__}: {exc})") from exc
            if not answers["nic_id"].equals(chunk["nic_id"]):
                raise HeadEndUnavailable(f"an answer for other devices than asked ({answers.height} for "
                                         f"{chunk.height})")
            frames.append(answers)
        return pl.concat(frames) if frames else pl.DataFrame(schema={"nic_id": pl.String, "result": pl.String,
                                                                     "message": pl.String})

    def end_dispatch(self, event_id: str, at: datetime) -> None:
        self._post("/gateway/end-dispatch", {"eventId": event_id, "atISO": iso_z(at)})

    def telemetry(self, nic_ids: list[str], start: datetime, end: datetime) -> pl.DataFrame:
        """The cloud's columns, a chunk of devices at a time."""
        import polars as pl

        frames = []
        for first in range(0, len(nic_ids), MAX_DEVICES_PER_REQUEST):
            chunk = nic_ids[first:first + MAX_DEVICES_PER_REQUEST]
            body = self._post("/gateway/telemetry", {"nicIds": chunk, "startISO": iso_z(start), "endISO": iso_z(end)})
            try:
                frames.append(pl.DataFrame({
                    "nic_id": body["nicId"], "interval_start": body["intervalStartISO"], "kw": body["kw"],
                    "state": body["state"]}, schema={"nic_id": pl.String, "interval_start": pl.String,
                                                     "kw": pl.Float64, "state": pl.String})
                    .with_columns(pl.col("interval_start").str.to_datetime(time_unit="us", time_zone="UTC")))
            except (KeyError, TypeError, ValueError, pl.exceptions.PolarsError) as exc:
                raise HeadEndUnavailable(f"telemetry DERMS cannot read ({type(exc).__name__}: {exc})") from exc
        return pl.concat(frames)

    def close(self) -> None:
        self._client.close()

    def _ask(self, path: str, nic_ids: list[str], read: Callable[[dict[str, Any]], list[Answer]],
             request: Callable[[list[str]], dict[str, Any]] = lambda chunk: {"nicIds": chunk}) -> list[Answer]:
        answers: list[Answer] = []
        for start in range(0, len(nic_ids), MAX_DEVICES_PER_REQUEST):
            chunk = nic_ids[start:start + MAX_DEVICES_PER_REQUEST]
            body = self._post(path, request(chunk))
            try:
                replies = read(body)
            except (KeyError, TypeError, ValueError) as exc:
                raise HeadEndUnavailable(f"an answer DERMS cannot read ({type(exc).__name__}: {exc})") from exc
            if [reply.nic_id for reply in replies] != chunk:
                raise HeadEndUnavailable(f"an answer for other devices than asked ({len(replies)} for {len(chunk)})")
            answers += replies
        return answers

    def _post(self, path: str, request: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self._client.post(path, json=request)
        except httpx2.TransportError as exc:
            raise HeadEndUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code != 200:
            raise HeadEndUnavailable(f"HTTP {response.status_code} from {self.base_url}{path}: {response.text[:200]}")
        try:
            body = response.json()
        except ValueError as exc:
            raise HeadEndUnavailable(f"an answer that is not JSON from {self.base_url}{path}") from exc
        if not isinstance(body, dict):
            raise HeadEndUnavailable(f"an answer that is not a JSON object from {self.base_url}{path}")
        return body
