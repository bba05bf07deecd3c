"""The score file (F7), layout version 1, as docs/wire.md specifies it for DERMS and the hub.

CSV in UTF-8, comma-separated, `\\n` line ends, a header row, then one row per scored device and subscription,
sorted by deviceId. Its name is `SDCSE_V1_<computed at, YYYYMMDDTHHMMSSZ>.csv`; its checksum, the SHA-256 of
the file in hex, goes in a sidecar named after it plus `.sha256`, in the sha256sum format. Numbers are
decimals with at most 6 fraction digits and no exponent, kept within ±10^12; a negative score is written 0.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Collection
from datetime import datetime
from pathlib import Path

import polars as pl

from derbridge.clock import iso_z
from derbridge.dacs.scores.formula import Kind, RuleSet
from derbridge.dacs.scores.syntax import Name, Node, children
from derbridge.tables.spec import sha256_of

PREFIX = "SDCSE_V1_"
COLUMNS = ("deviceId", "nicId", "headEndSystem", "programCode", "subscriptionId", "score", "eligible", "reason",
           "computedAt", "components")
CONTENT_TYPE = "text/csv"
LARGEST = 1e12
"""Numbers are written within ±LARGEST: six fraction digits of anything larger would not fit 64-bit integers."""
_MICROS = 1_000_000


def file_name(computed_at: datetime) -> str:
    return f"{PREFIX}{computed_at.strftime('%Y%m%dT%H%M%SZ')}.csv"


def sidecar_name(name: str) -> str:
    return f"{name}.sha256"


def decimal_text(number: pl.Expr) -> pl.Expr:
    """A number as the file writes it: rounded to 6 fraction digits (halves to even), without trailing zeros
    or an exponent (72.5, 1, 0.333333, 0.000005, -2); null stays null. Polars writes a rounded number in the
    fewest digits that read back the same, which are these but for '.0' after whole numbers and an exponent
    below 0.00001, where the one digit left is written out."""
    rounded = number.clip(-LARGEST, LARGEST).round(6)
    text = rounded.cast(pl.String).str.strip_suffix(".0")
    tiny = pl.concat_str([pl.when(rounded < 0).then(pl.lit("-")).otherwise(pl.lit("")), pl.lit("0.00000"),
                          (rounded.abs() * _MICROS).round(0).cast(pl.Int64).cast(pl.String)])
    return (pl.when(text.str.contains("e", literal=True)).then(tiny)
            .when(text == "-0").then(pl.lit("0")).otherwise(text))


def file_score(score: pl.Expr) -> pl.Expr:
    """A score as the file gives it: never below 0, rounded to 6 fraction digits."""
    return score.clip(0.0, LARGEST).round(6)


def whole_text(number: pl.Expr) -> pl.Expr:
    """A number known to be whole, written as decimal_text writes it, for less work."""
    return number.cast(pl.Int64).cast(pl.String)


def component_names(rule_set: RuleSet) -> list[tuple[str, Kind]]:
    """What the components column lists: the inputs in the order the rules first use them, then every rule
    in order, each with its kind."""
    defined = {step.name for step in rule_set.steps}
    seen: dict[str, None] = {}
    for tree in [*(step.formula for step in rule_set.steps), *(check.formula for check in rule_set.checks)]:
        for name in sorted(_names_in(tree), key=lambda node: node.at):
            if name.name not in defined:
                seen.setdefault(name.name)
    return [*((name, Kind.NUMBER) for name in seen), *((step.name, step.kind) for step in rule_set.steps)]


def components(rule_set: RuleSet, whole: Collection[str] = ()) -> pl.Expr:
    """`NAME=value` pairs separated by ';' from a scored frame's columns (score_frame's); an unknown value is
    written empty, a condition true or false. `whole` names inputs that are always whole numbers."""
    parts: list[pl.Expr] = []
    for index, (name, kind) in enumerate(component_names(rule_set)):
        if kind is Kind.CONDITION:
            value = pl.col(name).cast(pl.String)
        elif name in whole and name not in {step.name for step in rule_set.steps}:
            value = whole_text(pl.col(name))
        else:
            value = decimal_text(pl.col(name))
        parts += [pl.lit(f"{';' if index else ''}{name}="), value.fill_null("")]
    return pl.concat_str(parts)


def file_rows(scored: pl.DataFrame, computed_at: datetime) -> pl.DataFrame:
    """The file's columns from scored devices (identity columns, score, eligible, reason, components)."""
    return scored.select(
        pl.col("device_id").alias("deviceId"), pl.col("nic_id").alias("nicId"),
        pl.col("head_end_system").alias("headEndSystem"), pl.col("program_code").alias("programCode"),
        pl.col("subscription_id").alias("subscriptionId"), decimal_text(file_score(pl.col("score"))).alias("score"),
        pl.col("eligible"), pl.col("reason"), pl.lit(iso_z(computed_at)).alias("computedAt"),
        pl.col("components")).sort("deviceId")


def write(rows: pl.DataFrame, path: Path) -> str:
    """Write the file whole under a temporary name, then give it its name; its SHA-256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    rows.write_csv(partial, line_terminator="\n", quote_style="necessary")
    partial.replace(path)
    return sha256_of(path)


def drop(path: Path, sha256: str, directory: Path) -> Path:
    """Put a copy of the file and its checksum sidecar into `directory`, for a pickup: each appears whole under
    its name (copied under a hidden name, then renamed), the sidecar last, so a file is complete once its
    sidecar is there."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / path.name
    hidden = directory / f".{path.name}.partial"
    shutil.copyfile(path, hidden)
    os.replace(hidden, target)
    sidecar = directory / sidecar_name(path.name)
    hidden.write_text(f"{sha256}  {path.name}\n", encoding="utf-8")
    os.replace(hidden, sidecar)
    return target


def _names_in(root: Node) -> list[Name]:
    found, stack = [], [root]
    while stack:
        node = stack.pop()
        if isinstance(node, Name):
            found.append(node)
        stack.extend(children(node))
    return found
