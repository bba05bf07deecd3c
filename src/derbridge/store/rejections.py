"""Rejected requests kept raw, with the reasons: what a reference system refused stays inspectable."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import Engine

from derbridge.store.db import utcnow
from derbridge.web.problems import RejectionKeeper


def rejected_requests_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "rejected_requests",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("path", sa.String(300), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("errors", sa.Text, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )


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
