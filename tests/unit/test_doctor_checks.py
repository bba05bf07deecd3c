"""The checks of `derbridge doctor` that the reference systems cannot show: a vendor peer without /health
(asked with an empty body at an endpoint the hub calls), a certificate the hub would refuse, and lookups that
route to nowhere or miss a division."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from derbridge.bootstrap import free_port
from derbridge.cli.hub.doctor_checks import divisions_check, probe, routing_check, tls_check
from derbridge.config import Settings


@contextmanager
def vendor_peer(health: int, post: int) -> Iterator[str]:
    """A peer with no derbridge /health: GET answers `health`, POST answers `post` (401 without credentials)."""

    class Handler(BaseHTTPRequestHandler):
        def answer(self, status: int) -> None:
            self.send_response(status if self.headers.get("authorization") else 401)
            self.send_header("content-length", "0")
            self.end_headers()

        def do_GET(self) -> None:  # noqa: N802
            self.answer(health)

        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("content-length", 0)))
            self.answer(post)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(("post", "ok", "said"), [
    (422, True, "accepted: POST /rest/apis/cross/digitalAssets/programEnrollments/enroll with an empty body "
                "answered 422"),
    (403, False, "refused: POST /rest/apis/cross/digitalAssets/programEnrollments/enroll answered 403"),
    (404, False, "cannot tell: GET /health answered 404"),
])
def test_a_vendor_peer_is_asked_with_an_empty_body_at_an_endpoint_the_hub_calls(
        tmp_path: Path, post: int, ok: bool, said: str) -> None:
    with vendor_peer(404, post) as url:
        probed = probe(Settings(data_dir=tmp_path, dacs_url=url, dacs_auth="hub:secret"), "dacs", "hub:secret")
    reachable, credentials = probed.checks
    assert reachable.ok and probed.system is None
    assert credentials.ok is ok and credentials.why.startswith(said)


@pytest.fixture
def self_signed(tmp_path: Path) -> Iterator[int]:
    """A TLS server on loopback whose certificate nobody vouches for; its port."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: no certificate to make")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj",
                    "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            try:
                with context.wrap_socket(connection, server_side=True):
                    pass
            except (ssl.SSLError, OSError):
                pass

    threading.Thread(target=serve, daemon=True).start()
    yield listener.getsockname()[1]
    listener.close()


def test_a_certificate_the_hubs_client_would_refuse_fails_the_tls_check(self_signed: int) -> None:
    check = tls_check("derms", f"https://127.0.0.1:{self_signed}")
    assert check.ok is False and check.what == "derms TLS"
    assert "certificate refused for 127.0.0.1" in check.why and "self-signed" in check.why


def test_no_tls_where_it_is_expected_fails_the_tls_check() -> None:
    check = tls_check("dacs", f"https://127.0.0.1:{free_port()}")
    assert check.ok is False and "no TLS handshake" in check.why


def test_routes_to_an_unknown_target_and_missing_divisions_are_named() -> None:
    lookups = {"OUTL-BRT-DACS_DRMS_Routing": [{"DERMS": "DERMS-1", "DACS": "dacs"},
                                              {"DERMS": "DERMS-2", "DACS": "dacs-west"}],
               "OUTL-BRT-DRMSID-TO-DACSID": [{"DERMS": "LEC-ELEC-N", "DACS": "ELEC-N"}]}
    assert routing_check(lookups, "DERMS-9").why.startswith("DERMS instance DERMS-9 has no route")
    routed = routing_check(lookups, "DERMS-1")
    assert routed.ok is False and "DERMS-2 routes to a target the hub does not know" in routed.why
    missing = divisions_check(lookups, "ELEC-N, ELEC-S, ELEC-E")
    assert missing.ok is False and missing.why.startswith("ELEC-S, ELEC-E have no connection id")
    assert divisions_check(lookups, "ELEC-N").ok is True
