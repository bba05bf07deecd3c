"""Table files between the systems (network exports and imports, files the hub relays): what a file must hold,
the media types that carry it, and how a refusal names columns and rows (the CIS import's FileRefused, so a
refusal reads the same whichever checked the file).

Standard library only, so a system can declare its files at start-up and the command line can name them
without loading polars, SQLAlchemy or the web stack; reading and checking them is tables/check.py's.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from derbridge.errors import FileRefused

FileFormat = Literal["parquet", "csv"]

ColumnKind = Literal["text", "date", "number"]

PARQUET_TYPE = "application/vnd.apache.parquet"
CSV_TYPE = "text/csv"
CONTENT_TYPES: dict[str, FileFormat] = {PARQUET_TYPE: "parquet", "application/x-parquet": "parquet",
                                        CSV_TYPE: "csv"}
"""What a table file may be sent as; PARQUET_TYPE and CSV_TYPE are the ones to use."""


@dataclass(frozen=True)
class FileColumn:
    """A column a file must hold: its name, what its values are, and, for text, how long they may be.

    Dates are `YYYY-MM-DD` in CSV and Parquet dates (or such text) in Parquet.
    """

    name: str
    kind: ColumnKind = "text"
    max_length: int | None = None
    optional: bool = False
    """The column may be missing or hold no value in a row."""


def media_type(content_type: str) -> str:
    return content_type.split(";")[0].strip().lower()


def file_format(content_type: str) -> FileFormat:
    """The format a Content-Type names; 415 naming the header otherwise."""
    given = media_type(content_type)
    if given not in CONTENT_TYPES:
        accepted = ", ".join(CONTENT_TYPES)
        raise FileRefused(415, "Unsupported media type", f"send the file as one of {accepted}",
                          [{"field": "header.content-type", "type": "unsupported_media_type",
                            "message": f"{given or 'none given'} is not one of {accepted}"}])
    return CONTENT_TYPES[given]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
