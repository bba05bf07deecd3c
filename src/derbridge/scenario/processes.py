"""Systems as separate OS processes on loopback (end-to-end tests, benchmarks, crash drills)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, fields
from pathlib import Path

import httpx2

from derbridge.config import Settings
from derbridge.web.auth import load_or_create_credentials, outbound_credential
from derbridge.web.client import make_client


def settings_env(settings: Settings) -> dict[str, str]:
    """The DERBRIDGE_* variables that reproduce `settings` in another process."""
    env = {}
    values = asdict(settings)
    for item in fields(Settings):
        value = values[item.name]
        if item.name == "extra" or value in ("", None, ()):
            continue
        env[f"DERBRIDGE_{item.name.upper()}"] = ",".join(value) if isinstance(value, tuple) else str(value)
    return env


class SystemProcess:
    """One system (`derbridge hub|dacs|derms`) in its own process; its output goes to a log file.

    `command` runs another subcommand (e.g. `up`, or `headend` with `args`), still judged healthy by `system`'s
    /health, at `url` when the system is not one of the settings' (a head end: see `head_end_process`). With a
    `config_file`, the process reads its settings from that file alone (`settings` are what the file says), as
    an installation configured by hand would.
    """

    def __init__(self, system: str, settings: Settings, log_dir: Path | None = None, command: str = "",
                 args: tuple[str, ...] = (), url: str = "", log_name: str = "",
                 config_file: Path | None = None) -> None:
        self.system = system
        self.command = command or system
        self.args = args
        self.url = url or settings.url(system)
        self.settings = settings
        self.config_file = config_file
        self.log_path = (log_dir or settings.data_dir) / f"{log_name or self.command}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def environment(self) -> dict[str, str]:
        """This process's environment with the settings; with a config file, that file and no DERBRIDGE_*
        variable of this process, so the file is all the system reads."""
        if self.config_file is None:
            return {**os.environ, **settings_env(self.settings)}
        inherited = {name: value for name, value in os.environ.items() if not name.startswith("DERBRIDGE_")}
        return {**inherited, "DERBRIDGE_CONFIG": str(self.config_file)}

    def start(self, timeout_s: float = 60.0) -> SystemProcess:
        load_or_create_credentials(self.settings)
        env = self.environment()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "derbridge.cli", self.command, *self.args], env=env,
                                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.wait_healthy(timeout_s)
        return self

    def wait_healthy(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        credential = outbound_credential(self.settings, "operator", self.system)
        with make_client(self.url, credential, 2.0) as client:
            while True:
                if self.process is not None and self.process.poll() is not None:
                    raise RuntimeError(f"{self.system} exited with {self.process.returncode}; see {self.log_path}:\n"
                                       f"{self.log_path.read_text()[-3000:]}")
                try:
                    if client.get("/health").status_code == 200:
                        return
                except httpx2.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{self.system} not healthy after {timeout_s} s; see {self.log_path}")
                time.sleep(0.05)

    def kill(self) -> None:
        """kill -9: no shutdown code runs."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid


def head_end_process(settings: Settings, name: str, port: int, *options: str) -> SystemProcess:
    """A simulated aggregator cloud in its own process (`derbridge headend serve NAME --port PORT OPTIONS…`)."""
    return SystemProcess("headend", settings, command="headend", args=("serve", name, "--port", str(port), *options),
                         url=f"http://{settings.host}:{port}", log_name=f"headend-{name}")


@contextmanager
def running(settings: Settings, systems: Iterable[str]) -> Iterator[list[SystemProcess]]:
    """The systems, each its own process, started in order and stopped on the way out — also those already
    started when a later one fails to start."""
    started: list[SystemProcess] = []
    try:
        for system in systems:
            started.append(SystemProcess(system, settings).start())
        yield started
    finally:
        for process in started:
            process.stop()
