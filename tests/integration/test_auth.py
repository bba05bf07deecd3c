"""Every endpoint of every system demands credentials; a caller may use only the endpoints meant for it."""

from __future__ import annotations

import re

import pytest

from derbridge.bootstrap import BackgroundSystems
from derbridge.config import SYSTEMS, Settings
from derbridge.web.client import make_client
from derbridge.web.operator import checked, operator_client


def endpoints(settings: Settings, system: str) -> list[tuple[str, str]]:
    """Every operation in the system's OpenAPI document, plus the documentation endpoints themselves."""
    with operator_client(settings, system) as client:
        document = checked(client.get("/openapi.json"))
    found = [("GET", "/openapi.json"), ("GET", "/docs")]
    for path, operations in document["paths"].items():
        found.extend((method.upper(), re.sub(r"\{[^}]+\}", "123", path)) for method in operations)
    return found


@pytest.mark.parametrize("credential", ["", "operator:wrong", "Bearer not-a-token"])
def test_every_endpoint_refuses_missing_or_wrong_credentials(running_stack: BackgroundSystems,
                                                             credential: str) -> None:
    checked = 0
    for system in SYSTEMS:
        base = running_stack.settings.url(system)
        with make_client(base, credential, 10) as client:
            for method, path in endpoints(running_stack.settings, system):
                response = client.request(method, path, content=b"{}",
                                          headers={"Content-Type": "application/json"})
                assert response.status_code == 401, f"{method} {base}{path} answered {response.status_code}"
                assert response.headers["content-type"].startswith("application/problem+json")
                checked += 1
    assert checked >= 20


def test_a_program_system_credential_cannot_post_derms_messages_to_the_hub(running_stack: BackgroundSystems) -> None:
    from derbridge.web.auth import outbound_credential

    settings = running_stack.settings
    with make_client(settings.url("hub"), outbound_credential(settings, "dacs", "hub"), 10) as client:
        response = client.post("/hub/from-derms/aggregatorAck", json={"dacsMessageId": "1", "ackType": "SUCCESS"})
    assert response.status_code == 403
    assert "may not call" in response.json()["detail"]
