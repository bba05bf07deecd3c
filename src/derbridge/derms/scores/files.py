"""The score file as DERMS takes it (F7, layout v1, docs/wire.md): checked whole before anything is kept.

Whatever carried it (the hub delivers it as Parquet, a vendor middleware as the CSV itself), every row is
checked against the layout by the table-file toolkit: columns, lengths, a decimal score ≥ 0 with at most six
fraction digits, `eligible` true or false, a reason code exactly where the device is not eligible, every row's
`computedAt` the file's, a device and subscription given once, and as many rows as the sender said. A refusal
names each column, its rows and count (tables/refusals.py); nothing is applied.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl

from derbridge.errors import InvalidInput
from derbridge.tables import check
from derbridge.tables.read import file_chunks, file_schema
from derbridge.tables.refusals import invalid
from derbridge.tables.score_file_names import computed_at_of, name_of
from derbridge.tables.spec import FileColumn, FileFormat, FileSpec
from derbridge.tables.values import holds_text, typed

LOAD_CHUNK_ROWS = 200_000
SCORE_FILE = FileSpec("score file", (
    FileColumn("deviceId", max_length=12, required=True),
    FileColumn("nicId", max_length=100, required=True),
    FileColumn("headEndSystem", max_length=50, required=True),
    FileColumn("programCode", max_length=30, required=True),
    FileColumn("subscriptionId", max_length=14, required=True),
    FileColumn("score", "number", required=True, min_value=0),
    FileColumn("eligible", "boolean", required=True),
    FileColumn("reason", max_length=30),
    FileColumn("computedAt", required=True),
    FileColumn("components"),
), keys=(("headEndSystem", "nicId", "subscriptionId"),))
"""One row per device and subscription."""
DECIMAL = r"^[0-9]+(\.[0-9]{1,6})?$"
CODE = r"^[A-Z0-9_]+$"


def name_and_time(file_name: str | None, computed_at: str | None) -> tuple[str, str]:
    """The file's name and computedAt from either (patterns checked by the caller); InvalidInput when neither
    is given or they disagree."""
    if file_name is None and computed_at is None:
        raise InvalidInput({"query.fileName": "give fileName or computedAt"})
    try:
        name = file_name or name_of(str(computed_at))
        at = computed_at or computed_at_of(name)
    except ValueError as exc:
        raise InvalidInput({"query.computedAt": f"not a time: {exc}"}) from exc
    if name_of(at) != name:
        raise InvalidInput({"query.fileName": f"{name} is not the file of computedAt {at}"})
    return name, at


def layout_checks(computed_at: str) -> check.ExtraChecks:
    """What layout v1 asks beyond each column's own kind: the score written as a decimal, the reason a code given
    exactly where the device is not eligible, and the file's one computedAt on every row."""
    def checks(schema: pl.Schema) -> list[check.RowCheck]:
        eligible = typed(SCORE_FILE.column("eligible"), schema.get("eligible"))
        reason = pl.col("reason").cast(pl.String).str.strip_chars()
        has_reason = reason.is_not_null() & (reason != "")
        found = [
            check.RowCheck("reason", "not_a_code", "is not a reason code (A-Z, 0-9, _)",
                           has_reason & ~reason.str.contains(CODE)),
            check.RowCheck("reason", "missing", "has no value where eligible is false", (eligible == False)  # noqa: E712
                           & ~has_reason),
            check.RowCheck("reason", "unexpected", "is given where eligible is true", (eligible == True)  # noqa: E712
                           & has_reason),
            check.RowCheck("computedAt", "mismatch", f"is not the file's computedAt {computed_at}",
                           pl.col("computedAt").cast(pl.String) != computed_at),
        ]
        if holds_text(schema["score"]) if "score" in schema else False:
            score = pl.col("score").str.strip_chars()
            found.append(check.RowCheck("score", "not_a_decimal",
                                        "is not a decimal with at most 6 fraction digits and no exponent",
                                        score.is_not_null() & (score != "") & ~score.str.contains(DECIMAL)))
        return found
    return checks


def check_file(path: Path, fmt: FileFormat, computed_at: str, rows: int | None) -> int:
    """Every problem of the file against the layout; its row count, or FileRefused naming each problem."""
    counted = check.check_file(SCORE_FILE, path, fmt, layout_checks(computed_at))
    if rows is not None and counted != rows:
        raise invalid(SCORE_FILE.name, [{
            "field": "body", "type": "row_count", "count": counted, "rows": [],
            "message": f"the file has {counted} rows, its sender said {rows} (a truncated file?)"}])
    return counted


def typed_chunks(path: Path, fmt: FileFormat) -> Iterator[pl.DataFrame]:
    """The file's rows, LOAD_CHUNK_ROWS at a time, as the set's rows (score_set_rows' columns but set_id)."""
    schema = file_schema(path, fmt)
    for chunk in file_chunks(path, fmt, LOAD_CHUNK_ROWS):
        rows = check.typed_chunk(SCORE_FILE, schema, chunk)
        yield rows.select(
            head_end_system="headEndSystem", nic_id="nicId", device_id="deviceId", subscription_id="subscriptionId",
            program_code="programCode", score=pl.col("score").cast(pl.Float64), eligible="eligible",
            reason=pl.when(pl.col("reason").str.strip_chars() != "").then("reason"), components="components")

