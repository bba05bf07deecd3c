"""A cloud as its own process (`derbridge headend serve`) answering DERMS's gateway over HTTP; once it is killed,
DERMS answers status checks saying the head end is unavailable, and keeps running."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import polars as pl
import pytest

from derbridge.bootstrap import free_port
from derbridge.config import Settings
from derbridge.dataset.generate import generate
from derbridge.scenario.processes import SystemProcess, head_end_process
from derbridge.web.auth import outbound_credential
from derbridge.web.client import make_client
from derbridge.web.operator import checked, operator_client, wait_for

pytestmark = pytest.mark.e2e
TIMEOUT_S = 30


def status_check(message_id: str, nic: str) -> dict[str, Any]:
    return {"dacsMessageId": message_id, "DeviceInfo": {"headEndSystem": "ECOCLOUD", "nicid": nic}}


def answered(derms: httpx2.Client, message_id: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        found = checked(derms.get(f"/api/status-checks/{message_id}"))
        return found if found["status"] == "ANSWERED" else None

    return wait_for(done, TIMEOUT_S, f"status check {message_id} answered")


def test_derms_asks_a_cloud_of_its_own_and_says_when_it_is_gone(stack_settings: Settings, tmp_path: Path) -> None:
    generate(tmp_path / "dataset", 300, seed=2)
    devices = pl.read_parquet(tmp_path / "dataset" / "devices.parquet").filter(pl.col("headEndSystem") == "ECOCLOUD")
    online = devices.filter(pl.col("online"))["nicId"][0]
    offline = devices.filter(~pl.col("online"))["nicId"][0]
    port = free_port()
    settings = stack_settings.with_overrides(headends=f"ECOCLOUD url=http://127.0.0.1:{port}, NESTLIKE, HOMEGRID")
    cloud = head_end_process(settings, "ECOCLOUD", port, "--dataset", str(tmp_path / "dataset"), "--lag", "0.5")
    derms_process = SystemProcess("derms", settings)
    try:
        cloud.start()
        derms_process.start()
        with operator_client(settings, "derms") as derms:
            [ecocloud] = [h for h in checked(derms.get("/api/headends")) if h["name"] == "ECOCLOUD"]
            assert ecocloud["where"] == f"http://127.0.0.1:{port}"
            checked(derms.post("/status_check", json=status_check("E2E-1", online)))
            checked(derms.post("/status_check", json=status_check("E2E-2", offline)))
            first, second = answered(derms, "E2E-1"), answered(derms, "E2E-2")
            assert first["responseCode"] == "SUCCESS"
            assert second["responseCode"] == "FAILURE" and second["message"].startswith("offline since")
            lag = datetime.fromisoformat(first["dueAt"]) - datetime.fromisoformat(first["askedAt"])
            assert lag == timedelta(seconds=0.5), "the lag the cloud reports is honoured"

            operator = outbound_credential(settings, "operator", "headend")
            with make_client(f"http://127.0.0.1:{port}", operator, 10) as cloud_api:
                checked(cloud_api.put(f"/fleet/devices/{online}/online", json={"online": False}))
            checked(derms.post("/status_check", json=status_check("E2E-3", online)))
            assert answered(derms, "E2E-3")["message"].startswith("offline since")

            cloud.kill()
            checked(derms.post("/status_check", json=status_check("E2E-4", online)))
            gone = answered(derms, "E2E-4")
            assert gone["responseCode"] == "FAILURE"
            assert gone["message"].startswith("ECOCLOUD unavailable: ")
            assert derms.get("/health").status_code == 200
    finally:
        derms_process.stop()
        cloud.stop()
