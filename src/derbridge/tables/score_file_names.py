"""The score file's name (F7, layout v1, docs/wire.md): `SDCSE_V1_<computed at, YYYYMMDDTHHMMSSZ>.csv`.

The program system names its files so; the hub and DERMS read the computedAt back from the name (a file
picked up from a folder has nothing else), and check that a name and a computedAt given together agree.
"""

from __future__ import annotations

from datetime import datetime

NAME_PATTERN = r"^SDCSE_V1_[0-9]{8}T[0-9]{6}Z\.csv$"
COMPUTED_AT_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.000Z$"


def name_of(computed_at: str) -> str:
    """The file's name for its computedAt (ValueError for a time that does not exist)."""
    moment = datetime.strptime(f"{computed_at[:19]}+0000", "%Y-%m-%dT%H:%M:%S%z")
    return f"SDCSE_V1_{moment:%Y%m%dT%H%M%S}Z.csv"


def computed_at_of(file_name: str) -> str:
    """The computedAt a file's name gives (ValueError for a time that does not exist)."""
    stamp = file_name.removeprefix("SDCSE_V1_").removesuffix("Z.csv")
    return f"{datetime.strptime(f'{stamp}+0000', '%Y%m%dT%H%M%S%z'):%Y-%m-%dT%H:%M:%S}.000Z"
