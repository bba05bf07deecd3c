"""A real SFTP server on loopback for tests (asyncssh), serving a local directory as its root, with a password
login and a host key written to a known_hosts file."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import asyncssh

USER, PASSWORD = "scores", "drop-secret"


class _Logins(asyncssh.SSHServer):
    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return (username, password) == (USER, PASSWORD)


class SftpServer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.known_hosts = root.parent / f"{root.name}-known_hosts"
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: Any = None

    def __enter__(self) -> SftpServer:
        self._thread.start()
        key = asyncssh.generate_private_key("ssh-ed25519")

        async def listen() -> Any:
            return await asyncssh.listen(
                "127.0.0.1", 0, server_factory=_Logins, server_host_keys=[key],
                sftp_factory=lambda channel: asyncssh.SFTPServer(channel, chroot=str(self.root)))
        self._server = asyncio.run_coroutine_threadsafe(listen(), self._loop).result(10)
        self.port = self._server.sockets[0].getsockname()[1]
        self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {key.export_public_key().decode().strip()}\n")
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.close()
        asyncio.run_coroutine_threadsafe(self._server.wait_closed(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def url(self, directory: str) -> str:
        return f"sftp://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{directory}"
