"""A pickup source on an SFTP server: `sftp://user[:password]@host[:port]/directory`.

Each operation opens its own SSH connection (a pickup runs every few minutes and takes a file or two, so a
connection held open would mostly idle). The server's host key is always checked: against
`score_pickup_known_hosts` (an OpenSSH known_hosts file), or the hub's user's own `~/.ssh/known_hosts` when that
is empty; a server whose key is not in the one used is refused. Only `score_pickup_known_hosts = "none"` turns the check
off (a test rig). A client key (`score_pickup_key_file`) or the URL's password authenticates.
"""

from __future__ import annotations

import asyncio
import posixpath
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import unquote, urlsplit

import asyncssh

from derbridge.config import ConfigError, Settings
from derbridge.tables.spec import sha256_of

T = TypeVar("T")
UNCHECKED = "none"
"""score_pickup_known_hosts set to this: the server's host key is not checked."""
HostKeys = str | None | tuple[()]


def host_keys(setting: str) -> HostKeys:
    """What the server's host key is checked against: the named known_hosts file; the user's own (asyncssh's
    default, `()`) when none is named; nothing when the setting says `none`."""
    named = setting.strip()
    if named.lower() == UNCHECKED:
        return None
    return named or ()


class SftpDirectory:
    def __init__(self, host: str, port: int, username: str, password: str | None, directory: str,
                 known_hosts: HostKeys, key_file: str | None) -> None:
        self.host, self.port, self.username, self.password = host, port, username, password
        self.directory, self.known_hosts, self.key_file = directory, known_hosts, key_file

    @classmethod
    def from_settings(cls, settings: Settings) -> SftpDirectory:
        parts = urlsplit(settings.score_pickup_source)
        if not parts.hostname or not parts.username:
            raise ConfigError("setting score_pickup_source: an sftp:// URL needs a user and a host "
                              "(sftp://user@host[:port]/directory)")
        return cls(parts.hostname, parts.port or 22, unquote(parts.username),
                   unquote(parts.password) if parts.password else None, unquote(parts.path) or ".",
                   host_keys(settings.score_pickup_known_hosts), settings.score_pickup_key_file or None)

    def names(self) -> list[str]:
        async def listing(sftp: asyncssh.SFTPClient) -> list[str]:
            entries = await sftp.readdir(self.directory)
            return sorted(str(entry.filename) for entry in entries
                          if entry.attrs.type == asyncssh.FILEXFER_TYPE_REGULAR)
        return self._run(listing)

    def fetch(self, name: str, to: Path) -> tuple[int, str]:
        to.parent.mkdir(parents=True, exist_ok=True)

        async def get(sftp: asyncssh.SFTPClient) -> None:
            await sftp.get(self._path(name), str(to))
        self._run(get)
        return to.stat().st_size, sha256_of(to)

    def read_text(self, name: str) -> str:
        async def read(sftp: asyncssh.SFTPClient) -> str:
            async with sftp.open(self._path(name), "rb") as file:
                data = await file.read()
            return data.decode("utf-8") if isinstance(data, bytes) else str(data)
        return self._run(read)

    def rename(self, name: str, new_name: str) -> None:
        async def move(sftp: asyncssh.SFTPClient) -> None:
            await sftp.rename(self._path(name), self._path(new_name))
        self._run(move)

    def describe(self) -> str:
        return f"sftp://{self.username}@{self.host}:{self.port}{self.directory}"

    def _path(self, name: str) -> str:
        return posixpath.join(self.directory, name)

    def _run(self, work: Callable[[asyncssh.SFTPClient], Awaitable[T]]) -> T:
        async def session() -> T:
            async with asyncssh.connect(
                    self.host, port=self.port, username=self.username, password=self.password,
                    known_hosts=self.known_hosts, client_keys=[self.key_file] if self.key_file else None,
            ) as connection, connection.start_sftp_client() as sftp:
                return await work(sftp)
        return asyncio.run(session())
