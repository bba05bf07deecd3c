"""DERMS's head-end gateway: one call per head-end system for a whole list of devices.

DERMS names devices by (head-end system, NIC id); the gateway groups them by head end, asks each head end
once, and answers per device. An unknown head-end system, or one that cannot be reached, is an answer for
each of its devices (not registered, no status), never an exception: one bad cloud must not stop the rest.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from derbridge.derms.headend.model import (
    ERROR,
    DeviceStatus,
    DispatchOrder,
    HeadEnd,
    HeadEndUnavailable,
    Registration,
)

if TYPE_CHECKING:
    import polars as pl

DeviceKey = tuple[str, str]  # (head-end system, NIC id)
Answer = TypeVar("Answer", DeviceStatus, Registration)


class Gateway:
    def __init__(self, head_ends: Iterable[HeadEnd]) -> None:
        self.head_ends = {head_end.name: head_end for head_end in head_ends}

    def reporting_lag_s(self, head_end_system: str) -> float:
        head_end = self.head_ends.get(head_end_system)
        return head_end.reporting_lag_s if head_end is not None else 0.0

    def latest_status(self, devices: Iterable[DeviceKey]) -> dict[DeviceKey, DeviceStatus]:
        return self._ask(devices, lambda head_end, nics: head_end.latest_status(nics),
                         lambda nic, why: DeviceStatus(nic, False, False, None, why))

    def register(self, devices: Iterable[DeviceKey]) -> dict[DeviceKey, Registration]:
        return self._ask(devices, lambda head_end, nics: head_end.register(nics),
                         lambda nic, why: Registration(nic, False, False, why))

    def deregister(self, devices: Iterable[DeviceKey]) -> dict[DeviceKey, Registration]:
        return self._ask(devices, lambda head_end, nics: head_end.deregister(nics),
                         lambda nic, why: Registration(nic, False, False, why))

    def dispatch(self, order: DispatchOrder, devices: pl.DataFrame) -> pl.DataFrame:
        """One order per head end for its devices (`head_end_system`, `nic_id`, `kw`); each device's answer
        (`head_end_system` and model.DISPATCH_COLUMNS), ERROR for each device of a head end that cannot be asked."""
        import polars as pl

        answers = []
        for (name,), part in devices.partition_by("head_end_system", as_dict=True, maintain_order=True).items():
            head_end = self.head_ends.get(str(name))
            why = f"unknown head-end system {name!r}" if head_end is None else ""
            if head_end is not None:
                try:
                    answer = head_end.dispatch(order, part.select("nic_id", "kw"))
                except HeadEndUnavailable as exc:
                    why = f"{name} unavailable: {exc}"
                else:
                    answers.append(answer.select(pl.lit(name, pl.String).alias("head_end_system"), "nic_id",
                                                 "result", "message"))
                    continue
            answers.append(part.select("head_end_system", "nic_id", result=pl.lit(ERROR), message=pl.lit(why)))
        schema = pl.Schema({"head_end_system": pl.String(), "nic_id": pl.String(), "result": pl.String(),
                            "message": pl.String()})
        return pl.concat(answers) if answers else pl.DataFrame(schema=schema)

    def end_dispatch(self, event_id: str, head_end_systems: Iterable[str], at: datetime) -> dict[str, str]:
        """Tell each head end to end the event's orders at `at`; the head ends that could not be told, each with
        why (an unknown head-end system holds no order to end)."""
        failed = {}
        for name in head_end_systems:
            head_end = self.head_ends.get(name)
            if head_end is None:
                continue
            try:
                head_end.end_dispatch(event_id, at)
            except HeadEndUnavailable as exc:
                failed[name] = f"{name} unavailable: {exc}"
        return failed

    def telemetry(self, devices: Iterable[DeviceKey], start: datetime, end: datetime
                  ) -> tuple[pl.DataFrame, dict[str, str]]:
        """The devices' quarter hours from every head end (model.TELEMETRY_COLUMNS with `head_end_system` first),
        and the head ends that could not be asked, each with why."""
        import polars as pl

        by_head_end: dict[str, list[str]] = defaultdict(list)
        for head_end_system, nic_id in devices:
            by_head_end[head_end_system].append(nic_id)
        frames, failed = [], {}
        for name, nic_ids in by_head_end.items():
            head_end = self.head_ends.get(name)
            if head_end is None:
                failed[name] = f"unknown head-end system {name!r}"
                continue
            try:
                frame = head_end.telemetry(nic_ids, start, end)
            except HeadEndUnavailable as exc:
                failed[name] = f"{name} unavailable: {exc}"
                continue
            frames.append(frame.select(pl.lit(name).alias("head_end_system"), "nic_id",
                                       pl.col("interval_start").dt.cast_time_unit("us"), "kw", "state"))
        schema = pl.Schema({"head_end_system": pl.String(), "nic_id": pl.String(),
                            "interval_start": pl.Datetime("us", "UTC"), "kw": pl.Float64(), "state": pl.String()})
        return (pl.concat(frames) if frames else pl.DataFrame(schema=schema)), failed

    def _ask(self, devices: Iterable[DeviceKey], call: Callable[[HeadEnd, list[str]], list[Answer]],
             failed: Callable[[str, str], Answer]) -> dict[DeviceKey, Answer]:
        by_head_end: dict[str, list[str]] = defaultdict(list)
        for head_end_system, nic_id in devices:
            by_head_end[head_end_system].append(nic_id)
        answers: dict[DeviceKey, Answer] = {}
        for name, nic_ids in by_head_end.items():
            head_end = self.head_ends.get(name)
            if head_end is None:
                why = f"unknown head-end system {name!r}"
                answers.update({(name, nic): failed(nic, why) for nic in nic_ids})
                continue
            try:
                replies = call(head_end, nic_ids)
            except HeadEndUnavailable as exc:
                answers.update({(name, nic): failed(nic, f"{name} unavailable: {exc}") for nic in nic_ids})
                continue
            answers.update({(name, reply.nic_id): reply for reply in replies})
        return answers
