"""Credentials: basic or bearer, per calling system; integration users of their own name mapped to a role;
anything else is refused."""

import base64
from pathlib import Path

import pytest

from derbridge.config import ConfigError, Settings
from derbridge.web.auth import Authenticator, AuthError, Caller, callers_of, outbound_credential


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


AUTH = Authenticator([Caller("dacs", "dacs", "s3cret"), Caller("operator", "operator", "0p"),
                      Caller.configured("derms=edge_int:pa:ss"), Caller.configured("derms=Bearer t0ken")])


def test_basic_credentials_name_the_caller_and_its_role() -> None:
    assert AUTH.authenticate(basic("dacs", "s3cret")) == Caller("dacs", "dacs", "s3cret")


def test_an_integration_user_of_its_own_name_has_the_role_it_was_given() -> None:
    caller = AUTH.authenticate(basic("edge_int", "pa:ss"))
    assert (caller.role, caller.user) == ("derms", "edge_int")


def test_a_bearer_token_names_the_caller() -> None:
    assert AUTH.authenticate("Bearer 0p").role == "operator"
    assert AUTH.authenticate("Bearer t0ken").role == "derms"


@pytest.mark.parametrize("header", [
    None, "", basic("dacs", "wrong"), basic("derms", "s3cret"), "Bearer nope", "Basic !!notbase64", "Digest x",
    basic("derms", "t0ken"), "Bearer pa:ss",
], ids=["none", "empty", "wrong password", "another's password", "unknown token", "not base64", "digest",
        "a bearer token is no password", "a password is no bearer token"])
def test_missing_or_wrong_credentials_are_401(header: str | None) -> None:
    with pytest.raises(AuthError) as refused:
        AUTH.authenticate(header)
    assert refused.value.status == 401


def test_a_configured_role_replaces_its_embedded_secret_and_the_others_stay(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, hub_callers=("dacs=cpmcs_int:one", "operator=Bearer two"))
    callers = {(c.role, c.user) for c in callers_of(settings, "hub")}
    assert callers == {("dacs", "cpmcs_int"), ("operator", "operator"), ("derms", "derms")}
    assert outbound_credential(settings, "dacs", "hub") == "cpmcs_int:one"
    assert outbound_credential(settings, "operator", "hub") == "Bearer two"
    assert outbound_credential(settings, "derms", "hub").startswith("derms:")


def test_a_role_the_system_does_not_have_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no role aggregator in hub"):
        callers_of(Settings(data_dir=tmp_path, hub_callers=("aggregator=a:b",)), "hub")
