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
    # Durable engine.
    executor_id: str = "local"
    engine_polling_interval_s: float = 0.02
    # Retries of outbound deliveries: exponential backoff, then dead letter.
    retry_initial_s: float = 1.0
    retry_max_interval_s: float = 300.0
    retry_max_attempts: int = 50
    http_timeout_s: float = 300.0
    # Most messages one request carries where the receiver takes batches (`<path>/batch`); 1 sends each
    # message on its own, as the vendor systems' documented endpoints expect.
    batch_size: int = 200
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
    # Business time: empty is the machine's clock; a file path is a clock shared by every system pointed at it,
    # the machine's time plus the offset the file holds (clock.py), so scenarios and tests can move time.
    clock_file: str = ""
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


SECRET_FIELDS = {"hub_auth", "dacs_auth", "derms_auth", "headend_auth"}


def load_settings(env: dict[str, str] | None = None, config_file: Path | None = None) -> Settings:
    """Build settings from defaults, the TOML file (DERBRIDGE_CONFIG or ./derbridge.toml), then the env."""
    env = dict(os.environ if env is None else env)
    values: dict[str, Any] = {}
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
    section = data.get("derbridge", data)
    unknown = set(section) - {f.name for f in fields(Settings)}
    if unknown:
        raise ConfigError(f"{path}: unknown settings {sorted(unknown)}")
    return dict(section)


def _coerce(name: str, annotation: Any, value: Any) -> Any:
    kind = str(annotation)
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
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting {name}: cannot read {value!r} as {kind}") from exc
    return str(value)


def effective_config(settings: Settings) -> dict[str, Any]:
    """The settings as a plain dict, with derived URLs filled in and secrets masked."""
    shown = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(settings).items()}
    for name in SECRET_FIELDS:
        if shown.get(name):
            shown[name] = "****"
    for system in SYSTEMS:
        shown[f"{system}_url"] = settings.url(system)
        shown[f"{system}_database_url"] = mask_url(settings.database_url(system))
    shown["engine_database_url"] = mask_url(settings.engine_url())
    return shown


def mask_url(url: str) -> str:
    """Hide a password inside a database URL."""
    if "://" not in url or "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:****@{host}" if ":" in creds else url
