"""Checks on polars frames handed to bulk functions: the right columns, and no nulls in them."""

from __future__ import annotations

import polars as pl


def require_columns(frame: pl.DataFrame, columns: tuple[str, ...], name: str) -> None:
    """Fail early, naming the frame and the columns, instead of deep inside a join."""
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(f"{name} frame lacks columns {missing}")
    nulls = frame.select(pl.col(columns).null_count()).row(0, named=True)
    with_nulls = [column for column, count in nulls.items() if count]
    if with_nulls:
        raise ValueError(f"{name} frame has nulls in {with_nulls}")
