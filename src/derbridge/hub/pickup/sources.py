"""Where a pickup finds files: a local directory, an SFTP server (sftp.py) or S3-compatible object storage
(s3.py), behind the same operations.

A source lists the names in its place, copies one file to a local path, reads a small text file (a checksum
sidecar) and renames a file in place (`Sent-…`, `Error-…`). Its address is a setting: a directory path or a
`file://` URL, `sftp://user[:password]@host[:port]/directory`, or `s3://bucket/prefix`.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from derbridge.config import ConfigError, Settings


class Source(Protocol):
    def names(self) -> list[str]: ...

    def fetch(self, name: str, to: Path) -> tuple[int, str]:
        """Copy `name` to `to`; its size and SHA-256."""
        ...

    def read_text(self, name: str) -> str: ...

    def rename(self, name: str, new_name: str) -> None: ...

    def describe(self) -> str: ...


class LocalDirectory:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def names(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(entry.name for entry in os.scandir(self.directory) if entry.is_file())

    def fetch(self, name: str, to: Path) -> tuple[int, str]:
        to.parent.mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        with (self.directory / name).open("rb") as source, to.open("wb") as target:
            for chunk in iter(lambda: source.read(1 << 20), b""):
                digest.update(chunk)
                size += len(chunk)
                target.write(chunk)
        return size, digest.hexdigest()

    def read_text(self, name: str) -> str:
        return (self.directory / name).read_text(encoding="utf-8")

    def rename(self, name: str, new_name: str) -> None:
        os.replace(self.directory / name, self.directory / new_name)

    def describe(self) -> str:
        return str(self.directory)


def source_of(settings: Settings) -> Source:
    """The source the settings name: a directory path or file:///path, or an sftp:// URL."""
    address = settings.score_pickup_source
    parts = urlsplit(address)
    if parts.scheme in ("", "file"):
        return LocalDirectory(Path(parts.path if parts.scheme else address))
    if parts.scheme == "sftp":
        from derbridge.hub.pickup.sftp import SftpDirectory  # the SSH library loads only where it is used

        return SftpDirectory.from_settings(settings)
    if parts.scheme == "s3":
        from derbridge.hub.pickup.s3 import S3Prefix

        return S3Prefix.from_settings(settings)
    raise ConfigError(f"setting score_pickup_source: {address!r} is not a directory, file://, sftp:// or s3:// URL")
