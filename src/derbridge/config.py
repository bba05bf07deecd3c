"""Effective configuration: defaults, then an optional TOML file, then DERBRIDGE_* environment variables.

Every system reads the same Settings; each uses only its own part. Nothing here does I/O at import.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

SYSTEMS = ("hub", "dacs", "derms")
DEFAULT_PORTS = {"hub": 8470, "dacs": 8471, "derms": 8472}


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names it."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path(".derbridge")
    host: str = "127.0.0.1"
    hub_port: int = DEFAULT_PORTS["hub"]
    dacs_port: int = DEFAULT_PORTS["dacs"]
    derms_port: int = DEFAULT_PORTS["derms"]
    # Where each system is reached; empty means "the local one on its port".
    hub_url: str = ""
    dacs_url: str = ""
    derms_url: str = ""
    # Storage: empty means a SQLite file in data_dir.
    hub_database_url: str = ""
    dacs_database_url: str = ""
    derms_database_url: str = ""
    engine_database_url: str = ""
    # Outbound credentials override what the embedded credentials file holds ("user:password" or "Bearer t").
    hub_auth: str = ""
    dacs_auth: str = ""
    derms_auth: str = ""
    # Who each system accepts besides the embedded secrets: "role=user:password" or "role=Bearer token" entries
    # (a TOML list, or comma-separated), the role being what the endpoints check (the hub's: dacs, derms,
    # operator). A role given here no longer accepts its embedded secret.
    hub_callers: tuple[str, ...] = ()
    dacs_callers: tuple[str, ...] = ()
    derms_callers: tuple[str, ...] = ()
    # Durable engine.
    executor_id: str = "local"
    engine_polling_interval_s: float = 0.02
    # Retries of outbound deliveries: exponential backoff, then dead letter.
    retry_initial_s: float = 1.0
    retry_max_interval_s: float = 300.0
    retry_max_attempts: int = 50
    http_timeout_s: float = 300.0
    # Most messages one request carries where the receiver takes batches (`<path>/batch`): the hub towards a peer
    # whose `*_batch` switch is on, the reference systems towards the hub (which always takes them).
    batch_size: int = 200
    # What the peers have said they support beyond the vendor's documented payloads (docs/wire.md, "Deviations
    # from the vendor payloads"). All off: the hub speaks to a peer exactly as documented until told otherwise.
    # The reference systems support them all; `derbridge up`, `derbridge demo` and local stacks turn them on.
    dacs_batch: bool = False  # the program system takes several messages per request at `<path>/batch`
    derms_batch: bool = False  # DERMS does
    derms_enroll_callback: bool = False  # DERMS takes F4 results at /enroll-to-dacs/results (off: the answer has them)
    dacs_status_detail: bool = False  # the program system takes an F6 result's `message` and `lastSeenDateTime`
    store_and_forward: bool = False  # F6 legs answered RECEIVED once recorded (off: with the far side's result)
    enroll_concurrently: bool = False  # an F4 request's records sent several at once (off: one by one, in order)
    dacs_device_release: bool = False  # the program system takes F9's `releasedDeviceList` (devices DERMS dropped)
    # The longest the hub waits for the far side before answering with what it knows (F4, F6 when not stored and
    # forwarded); the delivery goes on after it.
    reply_wait_s: float = 120.0
    sender_poll_s: float = 0.5
    # How long a device status check (F6) may wait for DERMS's result: the program system then puts the
    # enrollment's device setup in SETUP-ERROR, and the hub marks the check EXPIRED.
    status_check_timeout_s: float = 300.0
    max_body_bytes: int = 10 * 1024 * 1024
    max_upload_bytes: int = 4 * 1024 * 1024 * 1024
    # DERMS's head-end gateway: the head-end systems it talks to, comma-separated. Each is a name, then either
    # `url=http://…` for a cloud running as its own process (`derbridge headend serve`), or, for a simulated cloud
    # inside DERMS's process, any of `lag=S status_failure_rate=R registration_failure_rate=R seed=N`
    # (derms/headend/setup.py), e.g. "ECOCLOUD lag=2, NESTLIKE url=http://127.0.0.1:8481, HOMEGRID".
    headends: str = "ECOCLOUD, NESTLIKE, HOMEGRID"
    # A dataset directory (`derbridge dataset generate`) whose devices table fills the in-process clouds;
    # empty: they start without devices (add some through DERMS's operator API).
    headend_dataset: str = ""
    # How long DERMS waits for a cloud of its own process to answer before calling it unavailable.
    headend_timeout_s: float = 10.0
    # The credential DERMS presents to clouds of their own process; empty: the embedded secret.
    headend_auth: str = ""
    # Which DERMS sends F4 enrollment requests: their `drmsInstanceId` (at most 30 characters).
    derms_instance_id: str = "DERMS-1"
    # Device scores (F7): the program system scores every device once a day after this hour (UTC, 0-23; -1: no
    # daily run, on demand only), and drops each score file, with its .sha256 sidecar, into score_file_dir when
    # it is set (for a pickup).
    score_run_hour: int = 2
    score_file_dir: str = ""
    # The hub's scheduled pickup of score files, for a program system that only drops them (hub/pickup/): the
    # source, a directory path or file:///path, or sftp://user[:password]@host[:port]/directory (empty: no
    # pickup); how often it looks, and which names it takes. Each file needs its .sha256 sidecar; taken files
    # are renamed Sent-…, refused ones Error-….
    score_pickup_source: str = ""
    score_pickup_every_s: float = 300.0
    score_pickup_pattern: str = "SDCSE_*.csv"
    # SFTP: an OpenSSH known_hosts file the server's host key must be in (empty: the hub's user's own
    # ~/.ssh/known_hosts; "none": not checked), and a private key to log in with (empty: the URL's password).
    score_pickup_known_hosts: str = ""
    score_pickup_key_file: str = ""
    # S3 (s3://bucket/prefix): an S3-compatible store's URL (empty: AWS), its region, and the access key and
    # secret (empty: boto3's own chain: environment, profile, instance role).
    score_pickup_s3_endpoint: str = ""
    score_pickup_s3_region: str = "us-east-1"
    score_pickup_s3_access_key: str = ""
    score_pickup_s3_secret_key: str = ""
    # DERMS's reservation engine: a TOML file with its expected-kW and network-load models
    # (derms/reservations/models.py); empty: the reference figures.
    reservation_models: str = ""
    # Business time: empty is the machine's clock; a file path is a clock shared by every system pointed at it,
    # the machine's time plus the offset the file holds (clock.py), so scenarios and tests can move time.
    clock_file: str = ""
    # The program system's divisions: each needs a DERMS connection id in the hub's lookups (`derbridge doctor`).
    divisions: str = "ELEC-N, ELEC-S"
    # Notifications (hub/notify/). Recipients are e-mail addresses and http(s) webhook URLs, comma-separated
    # (a TOML list is fine; in TOML the notify_ settings may also sit in a [notify] table without the prefix).
    notify_technical: str = ""
    """Who hears of faults: dead letters, mapping failures, refusals at intake, no file found."""
    notify_business: str = ""
    """Who hears of refusals by the target and of completed files and batches."""
    # Per trigger, the flows that notify: codes F1…F14, comma-separated, or * for every flow.
    notify_on_error: str = "*"
    notify_on_completion: str = ""
    notify_on_no_file: str = "*"
    # Events of one flow and kind within this many seconds of the first go out as one digest.
    notify_window_s: float = 60.0
    notify_digest_keys: int = 20
    """Business keys a digest lists; the rest are counted."""
    notify_smtp_url: str = ""
    """smtp://[user:password@]host[:port] (port 25), smtp+starttls://… (587) or smtps://… (465)."""
    notify_from: str = "derbridge@localhost"
    notify_webhook_secret: str = ""
    """Signs every webhook body: X-Derbridge-Signature: sha256=<HMAC-SHA256 of the body, hex>."""
    log_level: str = "info"
    log_json: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def port(self, system: str) -> int:
        return int(getattr(self, f"{system}_port"))

    def url(self, system: str) -> str:
        given = str(getattr(self, f"{system}_url"))
        return given.rstrip("/") if given else f"http://{self.host}:{self.port(system)}"

    def database_url(self, system: str) -> str:
        given = str(getattr(self, f"{system}_database_url"))
        if given:
            return given
        return f"sqlite:///{(self.data_dir / f'{system}.sqlite').resolve()}"

    def engine_url(self) -> str:
        if self.engine_database_url:
            return self.engine_database_url
        return f"sqlite:///{(self.data_dir / 'engine.sqlite').resolve()}"

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)


REFERENCE_PEERS: dict[str, Any] = {
    "dacs_batch": True, "derms_batch": True, "derms_enroll_callback": True, "dacs_status_detail": True,
    "store_and_forward": True, "enroll_concurrently": True, "dacs_device_release": True}
"""The switches for peers that are derbridge's own reference systems, which support every deviation."""

SECRET_FIELDS = {"hub_auth", "dacs_auth", "derms_auth", "headend_auth", "notify_webhook_secret",
                 "score_pickup_s3_secret_key"}
CALLER_FIELDS = {"hub_callers", "dacs_callers", "derms_callers"}


def parse_caller(entry: str) -> tuple[str, str]:
    """`role=user:password` or `role=Bearer token` → (role, credential); ValueError naming what is wrong."""
    role, equals, credential = entry.partition("=")
    role, credential = role.strip(), credential.strip()
    if not equals or not role or not credential:
        raise ValueError("an entry is role=user:password or role=Bearer token")
    if credential.lower().startswith("bearer "):
        if not credential[7:].strip():
            raise ValueError(f"the {role} entry has an empty bearer token")
    else:
        user, colon, secret = credential.partition(":")
        if not colon or not user or not secret:
            raise ValueError(f"the {role} entry needs user:password or Bearer token")
    return role, credential


def load_settings(env: dict[str, str] | None = None, config_file: Path | None = None,
                  defaults: dict[str, Any] | None = None) -> Settings:
    """Build settings from defaults (the dataclass's, then `defaults`), the TOML file (DERBRIDGE_CONFIG or
    ./derbridge.toml), then the env."""
    env = dict(os.environ if env is None else env)
    values: dict[str, Any] = dict(defaults or {})
    path = config_file or (Path(env["DERBRIDGE_CONFIG"]) if "DERBRIDGE_CONFIG" in env else Path("derbridge.toml"))
    if path.exists():
        values.update(_read_toml(path))
    elif config_file is not None or "DERBRIDGE_CONFIG" in env:
        raise ConfigError(f"config file {path} does not exist")
    known = {f.name: f for f in fields(Settings)}
    for name in known:
        key = f"DERBRIDGE_{name.upper()}"
        if key in env:
            values[name] = env[key]
    return Settings(**{name: _coerce(name, known[name].type, value) for name, value in values.items()})


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    section = _flattened(data.get("derbridge", data))
    unknown = set(section) - {f.name for f in fields(Settings)}
    if unknown:
        raise ConfigError(f"{path}: unknown settings {sorted(unknown)}")
    return dict(section)


def _flattened(section: dict[str, Any]) -> dict[str, Any]:
    """A table names settings by their prefix: `[notify]` with `technical = …` is `notify_technical`."""
    tables = {f.name for f in fields(Settings) if str(f.type).startswith("dict")}
    flat: dict[str, Any] = {}
    for key, value in section.items():
        if isinstance(value, dict) and key not in tables:
            flat.update({f"{key}_{inner}": each for inner, each in value.items()})
        else:
            flat[key] = value
    return flat


def _coerce(name: str, annotation: Any, value: Any) -> Any:
    kind = str(annotation)
    if kind.startswith("tuple"):
        return _entries(name, value)
    try:
        if kind == "Path":
            return Path(value)
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        if kind == "bool":
            return value if isinstance(value, bool) else str(value).lower() in {"1", "true", "yes", "on"}
        if kind.startswith("dict"):
            return dict(value)
        if isinstance(value, list):  # a TOML list for a comma-separated setting
            return ", ".join(str(each) for each in value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting {name}: cannot read {value!r} as {kind}") from exc
    return str(value)


def _entries(name: str, value: Any) -> tuple[str, ...]:
    """A TOML list, or a comma-separated string (environment variables); caller entries checked, and named in an
    error by their role only (they hold secrets)."""
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    entries = tuple(str(item).strip() for item in items if str(item).strip())
    if name in CALLER_FIELDS:
        for entry in entries:
            try:
                parse_caller(entry)
            except ValueError as exc:
                raise ConfigError(f"setting {name}: {exc}") from None
    return entries


def effective_config(settings: Settings) -> dict[str, Any]:
    """The settings as a plain dict, with derived URLs filled in and secrets masked."""
    shown = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(settings).items()}
    for name in SECRET_FIELDS:
        if shown.get(name):
            shown[name] = "****"
    for name in CALLER_FIELDS:
        shown[name] = [mask_caller(entry) for entry in shown[name]]
    for system in SYSTEMS:
        shown[f"{system}_url"] = settings.url(system)
        shown[f"{system}_database_url"] = mask_url(settings.database_url(system))
    shown["engine_database_url"] = mask_url(settings.engine_url())
    shown["notify_smtp_url"] = mask_url(settings.notify_smtp_url)
    shown["score_pickup_source"] = mask_url(settings.score_pickup_source)
    return shown


def mask_caller(entry: str) -> str:
    """`dacs=cpmcs:secret` → `dacs=cpmcs:****`; `derms=Bearer t` → `derms=Bearer ****`: who, never the secret."""
    role, credential = parse_caller(entry)
    if credential.lower().startswith("bearer "):
        return f"{role}=Bearer ****"
    return f"{role}={credential.partition(':')[0]}:****"


def mask_url(url: str) -> str:
    """Hide a password inside a database URL."""
    if "://" not in url or "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:****@{host}" if ":" in creds else url
