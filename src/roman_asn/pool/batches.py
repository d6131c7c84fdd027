"""Reading a pool in batches of rows, for pools too large to hold at once.

Parquet is read by row groups through pyarrow; text pools in blocks of whole lines
with the file's comments and header in front of each; ECSV whole. Each batch is
normalized as :func:`roman_asn.pool.read_pool` would, with ``pool_row`` counted
over the whole file and, for text, ``__line`` the row's line in the file.

Limits: a plain CSV with newlines inside quoted fields must not be split inside
such a field (blocks end at line ends); an unknown column is typed per batch
(``T``/``F`` becomes boolean only if every value of that batch is ``T``/``F``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import polars as pl

from roman_asn.errors import PoolError, first_line
from roman_asn.pool.columns import ROW_COLUMN
from roman_asn.pool.reader import (
    BOM,
    PoolSource,
    normalize,
    open_source,
    refuse_parquet_bomb,
)
from roman_asn.pool.text_table import first_content_line, read_text_table

BATCH_ROWS = 1_000_000  # Parquet rows normalized at a time
BATCH_BYTES = 256 << 20  # text pool bytes parsed at a time
LINE_COLUMN = "__line"


def read_batches(
    path: str | os.PathLike[str],
    batch_rows: int = BATCH_ROWS,
    batch_bytes: int = BATCH_BYTES,
    fmt: str | None = None,
) -> Iterator[pl.DataFrame]:
    """Normalized tables of consecutive rows of the pool at ``path`` (see the module)."""
    from roman_asn.pool.formats import get_format, identify_format

    source = open_source(path)
    kind = get_format(fmt) if fmt else identify_format(source.head, source.suffix, source.label)
    yield from kind.batches(source, batch_rows, batch_bytes)


def parquet_batches(
    source: PoolSource, batch_rows: int, batch_bytes: int
) -> Iterator[pl.DataFrame]:
    import pyarrow.parquet as pq

    if not source.head.startswith(b"PAR1"):
        raise PoolError("not a Parquet file (no PAR1 magic bytes)", path=source.label)
    refuse_parquet_bomb(source)  # batches bound memory a batch, not the time of 20M rows
    try:
        parquet = pq.ParquetFile(source.binary())
    except Exception as error:  # pyarrow raises many kinds
        raise PoolError(
            f"unreadable Parquet file: {first_line(error)}", path=source.label
        ) from None
    offset = 0
    batches = parquet.iter_batches(batch_size=batch_rows)
    while True:
        try:
            batch = next(batches, None)
            if batch is None:
                return
            frame = pl.from_arrow(batch)
        except Exception as error:  # a damaged row group, duplicate column names, ...
            raise PoolError(
                f"unreadable Parquet file: {first_line(error)}", path=source.label
            ) from None
        try:
            table = normalize(frame, path=source.label, fmt="parquet", lines=None).table
        except PoolError as error:
            if error.row is not None:
                error.row += offset
            raise
        yield table.with_columns(pl.col(ROW_COLUMN) + offset)
        offset += frame.height


def whole_batches(source: PoolSource, batch_rows: int, batch_bytes: int) -> Iterator[pl.DataFrame]:
    """The whole pool as one batch (formats that cannot be split, e.g. ECSV)."""
    from roman_asn.pool.formats import identify_format

    pool = identify_format(source.head, source.suffix, source.label).read(source)
    table = pool.table
    if pool.lines is not None:
        table = table.with_columns(pl.Series(LINE_COLUMN, pool.lines[table[ROW_COLUMN].to_numpy()]))
    yield table


def text_batches(source: PoolSource, batch_rows: int, batch_bytes: int) -> Iterator[pl.DataFrame]:
    """Blocks of whole lines, each parsed with the file's comments and header in front."""
    if source.path is None or b"\n" not in source.head:  # a pipe, or CR-only line ends
        yield from whole_batches(source, batch_rows, batch_bytes)
        return
    label = source.label
    with source.path.open("rb") as handle:
        header = b""
        while True:  # comments, blank lines and the header line
            line = handle.readline()
            if not line:
                break
            header += line
            if line.strip() and not line.lstrip().startswith(b"#"):
                break
        header = header.removeprefix(BOM)
        if not first_content_line(header):
            raise PoolError("no header line: the file has only comments or blank lines", path=label)
        header_lines = header.count(b"\n")
        first_line = header_lines + 1  # file line of the block's first line
        offset = 0
        rest = b""
        while True:
            block = handle.read(batch_bytes)
            data = rest + block
            if not block:
                body, rest = data, b""
            else:
                cut = data.rfind(b"\n") + 1
                body, rest = data[:cut], data[cut:]
            if body.strip():
                shift = first_line - header_lines - 1
                try:
                    frame, lines, fmt = read_text_table(label, header + body)
                    table = normalize(frame, path=label, fmt=fmt, lines=lines).table
                except PoolError as error:
                    if error.line is not None and error.line > header_lines:
                        error.line += shift
                    raise
                file_lines = lines + shift
                yield table.with_columns(
                    pl.col(ROW_COLUMN) + offset,
                    pl.Series(LINE_COLUMN, file_lines[table[ROW_COLUMN].to_numpy()]),
                )
                offset += table.height
            first_line += body.count(b"\n")
            if not block:
                return
