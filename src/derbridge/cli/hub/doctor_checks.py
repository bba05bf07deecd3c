"""The checks of `derbridge doctor` (cli/hub/doctor.py), loaded when it runs; each gives a Check.

Peers: the hub (with the operator credential), the program system and DERMS (with the credentials the hub
presents, `outbound_credential` as the hub computes it): reachable, credentials accepted, TLS when https. A
derbridge system answers an authenticated `GET /health`; a vendor system has none, so it is asked `POST` of an
empty JSON object to an endpoint the hub calls (the program system's F4 enroll, DERMS's F5 `/enroll`):
401/403 means the credential is refused, a 400 or 422 refusal of the empty body means it was accepted, and
nothing is applied. Lookups, read from the running hub: DERBRIDGE_DERMS_INSTANCE_ID has a route, each division
of DERBRIDGE_DIVISIONS a connection id, and, when DERMS is a derbridge reference DERMS (it lists its registry's
models at `/api/devices/models`), each specification and device type of its registry has a row.
Notifications: a test message to each recipient, through the hub's channels (SMTP accepted, webhook 2xx).
Score pickup, when DERBRIDGE_SCORE_PICKUP_SOURCE names one: its place listed as the hub lists it (an SFTP
server's host key checked as the hub checks it), and how many files wait there.
"""

from __future__ import annotations

import getpass
import socket
import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx2

from derbridge.config import ConfigError, Settings, mask_url
from derbridge.hub.flows.f4_enrollment_request import ENROLL_PATH
from derbridge.hub.lookup_catalog import ASSET_SPEC, ASSET_TYPE, CONNECTION_ID, DACS, DACS_TARGET, DERMS, ROUTING
from derbridge.hub.notify.channels import send
from derbridge.hub.notify.config import EMAIL, NotifyConfig, Recipient, notify_config
from derbridge.hub.notify.digest import test_message
from derbridge.hub.notify.events import TECHNICAL
from derbridge.web.auth import outbound_credential
from derbridge.web.client import Outcome, make_client

TIMEOUT_S = 15.0
VENDOR_PROBES = {"dacs": ENROLL_PATH, "derms": "/enroll"}
"""What a vendor peer, which has no /health, is asked: an endpoint the hub calls (F4's enroll, F5's sync)."""
MIN_CERTIFICATE_DAYS = 14
SHOWN = 10
"""Missing values named on a line; the rest are counted."""


@dataclass(frozen=True)
class Check:
    ok: bool | None
    """None: not checked (it depends on something else that is not there)."""
    what: str
    why: str


@dataclass
class Probed:
    checks: list[Check] = field(default_factory=list)
    system: str | None = None
    """The derbridge system that answered /health, if one did."""


def run_checks(settings: Settings) -> list[Check]:
    hub = probe(settings, "hub", outbound_credential(settings, "operator", "hub"))
    peers = {name: probe(settings, name, outbound_credential(settings, "hub", name)) for name in ("dacs", "derms")}
    checks = [*hub.checks, *peers["dacs"].checks, *peers["derms"].checks]
    if hub.system != "hub":
        return [*checks, Check(False, "lookups", "not read: the hub did not answer its operator"),
                *notification_checks(settings), *pickup_checks(settings)]
    try:
        lookups = read_lookups(settings)
        checks += [routing_check(lookups, settings.derms_instance_id), divisions_check(lookups, settings.divisions)]
        checks += models_checks(settings, lookups)
    except httpx2.HTTPError as exc:
        checks.append(Check(False, "lookups", f"{type(exc).__name__}: {exc}"))
    return checks + notification_checks(settings) + pickup_checks(settings)


# ---- peers ------------------------------------------------------------------------------------------------


def probe(settings: Settings, name: str, credential: str) -> Probed:
    url = settings.url(name)
    probed = Probed([tls_check(name, url)] if url.startswith("https://") else [])
    with make_client(url, credential, TIMEOUT_S) as client:
        try:
            health = client.get("/health")
        except httpx2.TransportError as exc:
            probed.checks.append(Check(False, f"{name} reachable", f"{url}: {type(exc).__name__}: {exc}"))
            return probed
        probed.checks.append(Check(True, f"{name} reachable", f"{url} answered"))
        system = _system_of(health)
        if health.status_code in (401, 403):
            probed.checks.append(Check(False, f"{name} credentials", f"refused: GET /health answered "
                                                                     f"{health.status_code}"))
        elif system == name:
            probed.system = system
            probed.checks.append(Check(True, f"{name} credentials", f"accepted: GET /health answered 200 "
                                                                    f"(derbridge {name})"))
        elif name in VENDOR_PROBES:
            probed.checks.append(vendor_credentials(client, name, url, health.status_code))
        else:
            probed.checks.append(Check(False, f"{name} credentials", f"GET /health answered {health.status_code}"
                                                                     f"{f' as {system}' if system else ''}"))
    return probed


def _system_of(response: httpx2.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return str(body.get("system")) if response.status_code == 200 and isinstance(body, dict) else None


def vendor_credentials(client: httpx2.Client, name: str, url: str, health_status: int) -> Check:
    path = VENDOR_PROBES[name]
    try:
        status = client.post(path, json={}).status_code
    except httpx2.TransportError as exc:
        return Check(False, f"{name} credentials", f"POST {path}: {type(exc).__name__}: {exc}")
    if status in (401, 403):
        return Check(False, f"{name} credentials", f"refused: POST {path} answered {status}")
    if status in (400, 422) or 200 <= status < 300:
        return Check(True, f"{name} credentials", f"accepted: POST {path} with an empty body answered {status}")
    return Check(False, f"{name} credentials", f"cannot tell: GET /health answered {health_status}, POST {path} "
                                               f"{status}; is {url} the {name}?")


def tls_check(name: str, url: str) -> Check:
    """The certificate, as the hub's client would judge it (httpx2's trust store), and how long it has left."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 443
    try:
        with socket.create_connection((host, port), timeout=TIMEOUT_S) as raw, \
                httpx2.create_ssl_context().wrap_socket(raw, server_hostname=host) as tls:
            certificate: Any = tls.getpeercert()
    except ssl.SSLCertVerificationError as exc:
        return Check(False, f"{name} TLS", f"certificate refused for {host}: {exc.verify_message}")
    except (OSError, ssl.SSLError) as exc:
        return Check(False, f"{name} TLS", f"no TLS handshake with {host}:{port}: {exc}")
    expires = datetime.fromtimestamp(ssl.cert_time_to_seconds(certificate["notAfter"]), UTC)
    days = (expires - datetime.now(UTC)).days
    said = f"certificate for {host} valid until {expires:%Y-%m-%d} ({days} days)"
    return Check(days >= MIN_CERTIFICATE_DAYS, f"{name} TLS", said if days >= MIN_CERTIFICATE_DAYS
                 else f"{said}: renew it before go-live")


# ---- lookups ----------------------------------------------------------------------------------------------


def read_lookups(settings: Settings) -> dict[str, list[dict[str, str]]]:
    with make_client(settings.url("hub"), outbound_credential(settings, "operator", "hub"), TIMEOUT_S) as hub:
        document = hub.get("/hub/api/lookup-export").raise_for_status().json()
    return {lookup["name"]: lookup["rows"] for lookup in document["lookups"]}


def column(rows: list[dict[str, str]], name: str) -> set[str]:
    return {row[name] for row in rows if row.get(name)}


def routing_check(lookups: dict[str, list[dict[str, str]]], instance: str) -> Check:
    routes = {row[DERMS]: row[DACS] for row in lookups.get(ROUTING, [])}
    nowhere = sorted(i for i, target in routes.items() if target != DACS_TARGET)
    if instance not in routes:
        return Check(False, "lookup routing", f"DERMS instance {instance} has no route in {ROUTING}: its "
                                              "enrollment requests would be dead-lettered")
    if nowhere:
        verb = "routes" if len(nowhere) == 1 else "route"
        return Check(False, "lookup routing", f"{', '.join(nowhere)} {verb} to a target the hub does not know "
                                              f"(only {DACS_TARGET!r}) in {ROUTING}")
    return Check(True, "lookup routing", f"DERMS instance {instance} routes to {DACS_TARGET} ({ROUTING})")


def divisions_check(lookups: dict[str, list[dict[str, str]]], divisions: str) -> Check:
    expected = [item.strip() for item in divisions.split(",") if item.strip()]
    connections = {row[DACS]: row[DERMS] for row in lookups.get(CONNECTION_ID, [])}
    missing = [division for division in expected if division not in connections]
    if not expected:
        return Check(None, "lookup divisions", "no division to check (DERBRIDGE_DIVISIONS is empty)")
    if missing:
        return Check(False, "lookup divisions", f"{', '.join(missing)} ha{'s' if len(missing) == 1 else 've'} "
                                                f"no connection id in {CONNECTION_ID}")
    mapped = ", ".join(f"{division} → {connections[division]}" for division in expected)
    return Check(True, "lookup divisions", f"{mapped} ({CONNECTION_ID})")


def models_checks(settings: Settings, lookups: dict[str, list[dict[str, str]]]) -> list[Check]:
    """DERMS's registry holds what enrollment syncs carried: a `MAKE!MODEL` the lookup translates, or the
    program system's value it translates to; either is covered, anything else has no mapping."""
    url = settings.url("derms")
    with make_client(url, outbound_credential(settings, "operator", "derms"), TIMEOUT_S) as derms:
        try:
            reference = _system_of(derms.get("/health")) == "derms"
        except httpx2.TransportError:
            reference = False
        if not reference:
            return [Check(None, "lookup device models", f"not checked: {url} is not a derbridge reference DERMS "
                                                        "answering its operator (only that one lists its models)")]
        models = derms.get("/api/devices/models").raise_for_status().json()
    if not models:
        return [Check(True, "lookup device models", "DERMS's registry holds no device yet: nothing to map")]
    return [covered(models, "specification", "specification", ASSET_SPEC, lookups),
            covered(models, "deviceType", "device type", ASSET_TYPE, lookups)]


def covered(models: list[dict[str, Any]], key: str, noun: str, lookup: str,
            lookups: dict[str, list[dict[str, str]]]) -> Check:
    rows = lookups.get(lookup, [])
    known = column(rows, DERMS) | column(rows, DACS)
    devices: dict[str, int] = {}
    for model in models:
        if model[key]:
            devices[model[key]] = devices.get(model[key], 0) + int(model["devices"])
    missing = sorted(value for value in devices if value not in known)
    what = f"lookup {noun}s"
    if missing:
        named = ", ".join(f"{value} ({devices[value]} devices)" for value in missing[:SHOWN])
        more = f" and {len(missing) - SHOWN} more" if len(missing) > SHOWN else ""
        return Check(False, what, f"no row in {lookup} for {named}{more}")
    counted = f"{len(devices)} {noun}{'s' if len(devices) != 1 else ''}"
    return Check(True, what, f"{counted} of DERMS's registry ({sum(devices.values())} devices), each with a row "
                             f"in {lookup}")


# ---- notifications ----------------------------------------------------------------------------------------


def notification_checks(settings: Settings) -> list[Check]:
    """A test message to each recipient, through the hub's channels: SMTP accepted, webhook 2xx."""
    try:
        config = notify_config(settings)
    except ConfigError as exc:
        return [Check(False, "notifications", str(exc))]
    checks = [] if config.recipients[TECHNICAL] else [Check(
        False, "notifications", "no technical recipient: nobody would hear of dead letters (notify_technical)")]
    with make_client("", "", TIMEOUT_S) as client:
        for audiences, recipient in config.everyone():
            outcome = send(config, client, recipient, test_message(audiences), 0)
            checks.append(Check(outcome.delivered, f"notify {recipient.address}",
                                f"{recipient.channel} ({audiences}): {test_result(config, recipient, outcome)}"))
    return checks


def test_result(config: NotifyConfig, recipient: Recipient, outcome: Outcome) -> str:
    if not outcome.delivered:
        return outcome.error
    if recipient.channel == EMAIL and config.smtp is not None:
        return f"a test accepted by SMTP {config.smtp.describe()}"
    return f"a test answered {outcome.status}"


# ---- score pickup -----------------------------------------------------------------------------------------

def pickup_checks(settings: Settings) -> list[Check]:
    """The score pickup's place listed, when one is set: reachable, its host key known, its login accepted."""
    if not settings.score_pickup_source:
        return []
    from derbridge.hub.pickup.pickup import due
    from derbridge.hub.pickup.sources import source_of

    try:
        source = source_of(settings)
        names = source.names()
    except Exception as exc:  # noqa: BLE001 — whatever stops the listing stops the pickup: say what it was
        return [Check(False, "score pickup", f"{mask_url(settings.score_pickup_source)}: {type(exc).__name__}: "
                                             f"{exc}")]
    waiting = len(due(names, settings.score_pickup_pattern))
    said = f"{source.describe()} listed: {waiting} file(s) matching {settings.score_pickup_pattern} waiting"
    if source.describe().startswith("sftp://") and not settings.score_pickup_known_hosts.strip():
        said += (f"; host key found in {getpass.getuser()}'s ~/.ssh/known_hosts, which the hub reads only if it "
                 f"runs as that user (DERBRIDGE_SCORE_PICKUP_KNOWN_HOSTS names a file for certain)")
    return [Check(True, "score pickup", said)]
