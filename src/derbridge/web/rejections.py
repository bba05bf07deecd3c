"""Keeping refused requests: each one raw, with the reasons, in the system's rejected-requests table."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import Engine

from derbridge.clock import utcnow
from derbridge.web.problems import RejectionKeeper


def rejection_keeper(table: sa.Table, engine_of: Any) -> RejectionKeeper:
    """A keeper for problems.install_problem_handlers; `engine_of()` gives the live engine."""

    def keep(path: str, raw: bytes, errors: list[dict[str, Any]]) -> None:
        engine: Engine = engine_of()
        with engine.begin() as connection:
            connection.execute(sa.insert(table).values(path=path, body=raw.decode("utf-8", "replace"),
                                                       errors=json.dumps(errors), received_at=utcnow()))

    async def keeper(request: Request, raw: bytes, errors: list[dict[str, Any]]) -> None:
        await run_in_threadpool(keep, request.url.path, raw, errors)

    return keeper
