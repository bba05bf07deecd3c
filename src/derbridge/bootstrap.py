"""The composition root: builds each system's app from settings and serves one or several of them."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path

import structlog
import uvicorn
from fastapi import FastAPI

from derbridge.config import REFERENCE_PEERS, SYSTEMS, Settings
from derbridge.web.auth import load_or_create_credentials


def configure_logging(settings: Settings) -> None:
    level = getattr(logging, settings.log_level.upper(), logging.INFO)
    logging.basicConfig(level=level, stream=sys.stderr, format="%(message)s")
    renderer = structlog.processors.JSONRenderer() if settings.log_json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[structlog.processors.add_log_level, structlog.processors.TimeStamper(fmt="iso", utc=True),
                    structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )


def build_app(system: str, settings: Settings) -> FastAPI:
    if system == "hub":
        from derbridge.hub.api import create_app as create_hub

        return create_hub(settings)
    if system == "dacs":
        from derbridge.dacs.api import create_app as create_dacs

        return create_dacs(settings)
    if system == "derms":
        from derbridge.derms.api import create_app as create_derms

        return create_derms(settings)
    raise ValueError(f"unknown system {system!r}; expected one of {SYSTEMS}")


def servers(systems: Iterable[str], settings: Settings) -> list[uvicorn.Server]:
    load_or_create_credentials(settings)  # first start: generate every secret before any system reads them
    found = []
    for system in systems:
        config = uvicorn.Config(build_app(system, settings), host=settings.host, port=settings.port(system),
                                log_level="warning", access_log=False, lifespan="on")
        found.append(uvicorn.Server(config))
    return found


def run_forever(systems: Iterable[str], settings: Settings) -> None:
    """Serve until a signal, on uvloop when it is installed (it is, with derbridge's dependencies)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - plain asyncio is fine, only slower
        asyncio.run(serve(systems, settings))
        return
    uvloop.run(serve(systems, settings))


async def serve(systems: Iterable[str], settings: Settings) -> None:
    """Run the given systems in this process until SIGINT/SIGTERM; DERMS and DACS first, the hub last."""
    running = servers(sorted(systems, key=lambda s: s == "hub"), settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.create_task(server.serve()) for server in running]
    waiter = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
    for server in running:
        server.should_exit = True
    await asyncio.gather(*tasks, return_exceptions=True)
    failed = [task for task in tasks if task in done and task.exception() is not None]
    if failed:
        raise failed[0].exception()  # type: ignore[misc]


class BackgroundSystems:
    """Systems served from a background thread of this process (the demo, benchmarks, tests)."""

    def __init__(self, systems: Iterable[str], settings: Settings) -> None:
        self.settings = settings
        self.running = servers(sorted(systems, key=lambda s: s == "hub"), settings)
        self._thread = threading.Thread(target=self._run, name="derbridge-systems", daemon=True)
        self._error: BaseException | None = None

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported by start()
            self._error = exc

    async def _serve(self) -> None:
        await asyncio.gather(*(server.serve() for server in self.running))

    def start(self, timeout_s: float = 60.0) -> BackgroundSystems:
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not all(server.started for server in self.running):
            if self._error is not None or not self._thread.is_alive():
                raise RuntimeError(f"a system failed to start: {self._error!r}")
            if time.monotonic() > deadline:
                raise TimeoutError("systems did not start in time")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        for server in self.running:
            server.should_exit = True
        self._thread.join(timeout=30)

    def __enter__(self) -> BackgroundSystems:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


PORT_RANGE_VARIABLE = "DERBRIDGE_PORT_RANGE"
"""`LOW-HIGH`: where `free_port` draws from, e.g. to give stacks started side by side bands of their own."""


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on, drawn below the kernel's ephemeral range: between the moment it is chosen and
    the moment a server binds it, no outgoing connection of this machine can take it as its local port."""
    low, high = port_range()
    for _ in range(200):
        port = random.randrange(low, high)
        with socket.socket() as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {low}-{high} on {host}")


def port_range() -> tuple[int, int]:
    """The ports (low included, high not) `free_port` draws from: DERBRIDGE_PORT_RANGE, else the 12,000 below the
    kernel's ephemeral range."""
    given = os.environ.get(PORT_RANGE_VARIABLE, "")
    if given:
        first, _, last = given.partition("-")
        if not (first.isdigit() and last.isdigit() and 1024 <= int(first) < int(last) <= 65536):
            raise ValueError(f"{PORT_RANGE_VARIABLE} is LOW-HIGH within 1024-65536, e.g. 20000-26000; got {given!r}")
        return int(first), int(last)
    ephemeral = _ephemeral_low()
    return max(1024, ephemeral - 12_000), ephemeral


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default; other systems start higher


def local_settings(data_dir: Path, **overrides: object) -> Settings:
    """Settings for a private stack of derbridge's own systems on free loopback ports under `data_dir`: the hub
    uses every capability of its peers (REFERENCE_PEERS), unless `overrides` say otherwise."""
    ports = {f"{system}_port": free_port() for system in SYSTEMS}
    return Settings(data_dir=data_dir, **ports, **REFERENCE_PEERS).with_overrides(**overrides)  # type: ignore[arg-type]
