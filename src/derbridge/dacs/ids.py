"""Identifiers shaped like the vendor's: random numeric strings of a fixed width."""

from __future__ import annotations

import secrets


def new_id(digits: int) -> str:
    return str(secrets.randbelow(9 * 10 ** (digits - 1)) + 10 ** (digits - 1))
