"""Credentials: basic or bearer, per calling system; anything else is refused."""

import base64

import pytest

from derbridge.web.auth import Authenticator, AuthError


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


AUTH = Authenticator({"dacs": "s3cret", "operator": "0p"})


def test_basic_credentials_name_the_caller() -> None:
    assert AUTH.principal(basic("dacs", "s3cret")) == "dacs"


def test_a_bearer_token_names_the_caller() -> None:
    assert AUTH.principal("Bearer 0p") == "operator"


@pytest.mark.parametrize("header", [
    None, "", basic("dacs", "wrong"), basic("derms", "s3cret"), "Bearer nope", "Basic !!notbase64", "Digest x",
])
def test_missing_or_wrong_credentials_are_401(header: str | None) -> None:
    with pytest.raises(AuthError) as refused:
        AUTH.principal(header)
    assert refused.value.status == 401
