"""Reading a table file (Parquet or CSV) with polars: its columns and types from the file alone, and its rows a
chunk at a time, so memory stays bounded by the chunk, whatever the file's size.

CSV is read as text throughout (types are checked by tables/check.py, not guessed); an empty CSV field is no
value. Each chunk carries every row's number in the file (ROW), counted from 1 without the header, so an error
can name the rows a person finds in the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import polars as pl

from derbridge.tables.refusals import unreadable
from derbridge.tables.spec import FileFormat

ROW = "_row"
CHUNK_ROWS = 200_000
"""Rows of a Parquet chunk."""
CSV_BLOCK_BYTES = 16 << 20
"""CSV is cut by size: about 200,000 records of a CIS extract."""


def file_schema(path: Path, fmt: FileFormat) -> pl.Schema:
    """The file's columns and types, from its header or metadata alone; 400 when it cannot be read."""
    try:
        if fmt == "parquet":
            return pl.Schema(pl.read_parquet_schema(path))
        with path.open("rb") as file:
            return pl.read_csv(_csv_header(file), infer_schema=False).schema
    except pl.exceptions.PolarsError as exc:
        raise unreadable(fmt, exc) from exc


def file_chunks(path: Path, fmt: FileFormat, rows: int | None = None) -> Iterator[pl.DataFrame]:
    """The file's rows in order, a chunk at a time (`rows` or CHUNK_ROWS of Parquet, about CSV_BLOCK_BYTES of
    CSV), each row with its number in the file (ROW, from 1).

    Chunk by chunk, not through polars' streaming batches: those read ahead of the consumer, so the whole
    file ends up in memory while the database is still taking the first chunk.
    """
    number = 1
    try:
        for chunk in _parquet_slices(path, rows or CHUNK_ROWS) if fmt == "parquet" else _csv_blocks(path):
            yield chunk.with_row_index(ROW, offset=number)
            number += chunk.height
    except pl.exceptions.PolarsError as exc:
        raise unreadable(fmt, exc) from exc


def scan(path: Path, fmt: FileFormat) -> tuple[pl.LazyFrame, pl.Schema]:
    """The file as a lazy frame, for a streaming copy, and its schema; 400 when it cannot be read."""
    try:
        frame = pl.scan_parquet(path) if fmt == "parquet" else pl.scan_csv(path, infer_schema=False)
        return frame, frame.collect_schema()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise unreadable(fmt, exc) from exc


def _parquet_slices(path: Path, rows: int) -> Iterator[pl.DataFrame]:
    total = pl.scan_parquet(path).select(pl.len()).collect().item()
    for offset in range(0, total, rows):
        yield pl.scan_parquet(path).slice(offset, rows).collect()


def _csv_blocks(path: Path) -> Iterator[pl.DataFrame]:
    """Whole records, about CSV_BLOCK_BYTES at a time, each block parsed under the file's header.

    A record ends at a newline outside quotes. In RFC 4180 CSV every quote character toggles quoting (an
    escaped quote is two of them), so a newline ends a record when the quotes before it are even in number.
    """
    with path.open("rb") as file:
        header = _csv_header(file)
        pending = b""
        for block in iter(lambda: file.read(CSV_BLOCK_BYTES), b""):
            pending += block
            cut = _last_record_end(pending)
            if cut:
                yield _parse_csv(header + pending[:cut])
                pending = pending[cut:]
        if pending.strip():
            yield _parse_csv(header + pending)


def _csv_header(file: BinaryIO) -> bytes:
    """The first record, without a UTF-8 byte-order mark."""
    header = b""
    while not header.endswith(b"\n") or header.count(b'"') % 2:
        line = file.readline()
        if not line:
            break
        header += line
    return header.removeprefix(b"\xef\xbb\xbf")


def _last_record_end(data: bytes) -> int:
    """The position just after the last newline that ends a record, or 0."""
    cut = data.rfind(b"\n")
    while cut != -1 and data.count(b'"', 0, cut) % 2:
        cut = data.rfind(b"\n", 0, cut)
    return cut + 1


def _parse_csv(data: bytes) -> pl.DataFrame:
    return pl.read_csv(data, infer_schema=False)
