"""A pickup source in S3-compatible object storage: `s3://bucket/prefix`.

The prefix acts as the directory: the objects directly under it are its files. A rename is a copy and a
delete (object stores have no rename). `score_pickup_s3_endpoint` points at an S3-compatible store (MinIO,
Ceph…; empty: AWS); the credentials are `score_pickup_s3_access_key` and `score_pickup_s3_secret_key`, or, when
those are empty, boto3's own chain (environment, profile, instance role).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3

from derbridge.config import ConfigError, Settings
from derbridge.tables.spec import sha256_of


class S3Prefix:
    def __init__(self, client: Any, bucket: str, prefix: str) -> None:
        self.client, self.bucket = client, bucket
        self.prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Prefix:
        parts = urlsplit(settings.score_pickup_source)
        if not parts.hostname:
            raise ConfigError("setting score_pickup_source: an s3:// URL needs a bucket (s3://bucket/prefix)")
        client = boto3.client(
            "s3", endpoint_url=settings.score_pickup_s3_endpoint or None,
            region_name=settings.score_pickup_s3_region or None,
            aws_access_key_id=settings.score_pickup_s3_access_key or None,
            aws_secret_access_key=settings.score_pickup_s3_secret_key or None)
        return cls(client, parts.netloc, parts.path)

    def names(self) -> list[str]:
        found: list[str] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix):
            for item in page.get("Contents", []):
                name = str(item["Key"])[len(self.prefix):]
                if name and "/" not in name:
                    found.append(name)
        return sorted(found)

    def fetch(self, name: str, to: Path) -> tuple[int, str]:
        to.parent.mkdir(parents=True, exist_ok=True)
        self.client.download_file(self.bucket, self._key(name), str(to))
        return to.stat().st_size, sha256_of(to)

    def read_text(self, name: str) -> str:
        body = self.client.get_object(Bucket=self.bucket, Key=self._key(name))["Body"]
        return bytes(body.read()).decode("utf-8")

    def rename(self, name: str, new_name: str) -> None:
        self.client.copy_object(Bucket=self.bucket, Key=self._key(new_name),
                                CopySource={"Bucket": self.bucket, "Key": self._key(name)})
        self.client.delete_object(Bucket=self.bucket, Key=self._key(name))

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def _key(self, name: str) -> str:
        return f"{self.prefix}{name}"
