"""Counter-based random draws: SplitMix64 of the row number, keyed by the seed and the purpose of the column,
computed as polars expressions. The same (rows, seed) gives the same values, and adding a column never shifts
the values of another. Dates count back from the extract's "now", AS_OF, never from the clock."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import accumulate

import polars as pl

AS_OF = datetime(2026, 1, 1, tzinfo=UTC)
"""The extract's "now": dates end and last-seen times count back from here, never from the clock."""


# --- random draws as expressions -------------------------------------------------------------------------

ROW = pl.int_range(pl.len(), dtype=pl.UInt64)
"""The position of each row in the frame being built: the counter that draws are keyed on by default."""
GOLDEN_GAMMA = 0x9E3779B97F4A7C15


def u64(value: int) -> pl.Expr:
    return pl.lit(value, dtype=pl.UInt64)


def splitmix64(x: pl.Expr) -> pl.Expr:
    """SplitMix64's finaliser, well-mixed bits from a counter (x >> k is x // 2**k; UInt64 products wrap)."""
    x = (x ^ (x // u64(2**30))) * u64(0xBF58476D1CE4E5B9)
    x = (x ^ (x // u64(2**27))) * u64(0x94D049BB133111EB)
    return x ^ (x // u64(2**31))


@dataclass(frozen=True)
class Dice:
    """Independent random streams, one per purpose, depending only on the seed and the row drawn for."""

    seed: int

    def bits(self, purpose: str, row: pl.Expr = ROW) -> pl.Expr:
        key = int.from_bytes(hashlib.sha256(f"{self.seed}/{purpose}".encode()).digest()[:8], "big")
        return splitmix64(row.cast(pl.UInt64) * u64(GOLDEN_GAMMA) + u64(key))

    def uniform(self, purpose: str, row: pl.Expr = ROW) -> pl.Expr:
        """A float in [0, 1) from the top 53 bits."""
        return (self.bits(purpose, row) // u64(2**11)).cast(pl.Float64) / float(2**53)

    def below(self, purpose: str, bound: int | pl.Expr, row: pl.Expr = ROW) -> pl.Expr:
        """An integer in [0, bound); bound may vary per row."""
        bound_expr = u64(bound) if isinstance(bound, int) else bound.cast(pl.UInt64)
        return self.bits(purpose, row) % bound_expr

    def between(self, purpose: str, low: int, high: int, row: pl.Expr = ROW) -> pl.Expr:
        """An integer in [low, high], both included."""
        return self.below(purpose, high - low + 1, row) + low

    def chance(self, purpose: str, probability: float, row: pl.Expr = ROW) -> pl.Expr:
        return self.uniform(purpose, row) < probability

    def pick(self, purpose: str, values: Sequence[str] | Sequence[float], row: pl.Expr = ROW) -> pl.Expr:
        return gather(values, self.below(purpose, len(values), row))

    def pick_weighted(self, purpose: str, weights: Sequence[float], row: pl.Expr = ROW) -> pl.Expr:
        """The index of the chosen weight."""
        bounds = list(accumulate(weights))
        draw = self.uniform(purpose, row) * bounds[-1]
        return pl.sum_horizontal([draw >= bound for bound in bounds[:-1]]).cast(pl.UInt32)


def gather(values: Sequence[str] | Sequence[float] | pl.Series, index: pl.Expr) -> pl.Expr:
    """values[index] for every row: how a draw or a parent's position becomes a value."""
    series = values if isinstance(values, pl.Series) else pl.Series(values)
    return pl.lit(series).gather(index)


def spread_ids(dice: Dice, purpose: str, space: int, count: int | pl.Expr, slot: pl.Expr = ROW) -> pl.Expr:
    """Unique numbers in [0, space): slot i of count draws inside its own interval of width space // count.

    They come out ascending with irregular gaps, like keys handed out over decades, and never collide.
    """
    width = u64(space) // (u64(count) if isinstance(count, int) else count.cast(pl.UInt64))
    return slot.cast(pl.UInt64) * width + dice.below(purpose, width)


def cis_ids(dice: Dice, purpose: str, count: int) -> pl.Expr:
    """Ten-digit CIS keys (the vendor's are ten digits; FLOWS.md allows up to 30)."""
    return (spread_ids(dice, purpose, 9 * 10**9, count) + 10**9).cast(pl.String)


def digits(value: pl.Expr, width: int) -> pl.Expr:
    """value in decimal, zero-padded to width digits."""
    return value.cast(pl.String).str.zfill(width)


HEX_BYTES = pl.Series([f"{byte:02X}" for byte in range(256)])


def hex_string(value: pl.Expr, byte_count: int, separator: str) -> pl.Expr:
    """The low byte_count bytes of value in upper-case hex, most significant first."""
    return pl.concat_str([gather(HEX_BYTES, (value // u64(256**position)) % u64(256))
                          for position in reversed(range(byte_count))], separator=separator)


def days_after(dice: Dice, purpose: str, start: pl.Expr, max_years: int) -> pl.Expr:
    """A date up to max_years after start, never after AS_OF (start itself must not be after AS_OF)."""
    room = pl.min_horizontal((pl.lit(AS_OF.date()) - start).dt.total_days(), max_years * 365)
    return start + pl.duration(days=dice.below(purpose, room + 1))


def days_before_as_of(day_offset: pl.Expr) -> pl.Expr:
    return pl.lit(AS_OF.date()) - pl.duration(days=day_offset)


def runs(dice: Dice, purpose: str, items: int, sizes: tuple[int, int]) -> pl.Series:
    """Cut items 0..items-1 into consecutive runs of sizes[0]..sizes[1] items: each item's run number.

    Neighbouring service points share a transformer, neighbouring transformers a feeder.
    """
    most_runs = items // sizes[0] + 1
    ends = pl.select(dice.between(purpose, *sizes, row=pl.int_range(most_runs, dtype=pl.UInt64)).cum_sum())
    return ends.to_series().search_sorted(pl.Series(range(items)), side="right").alias(purpose)
