"""``read_pool``: any pool file -> one typed polars table with Roman-native columns.

Missing values (text formats): a field is missing when it is empty or exactly
``NULL`` after stripping the padding. Every other text is a value: ``F``, ``N``,
``N/A``, ``NONE`` and ``null`` stay what they are. A column becomes boolean only
when every one of its non-missing values is ``T`` or ``F``; in any other column
``T`` and ``F`` are strings like the rest.
"""

from __future__ import annotations

import math
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from roman_asn.errors import PoolError, first_line, shown
from roman_asn.pool.candidates import CANDIDATE_ID, CandidateSyntaxError, parse_candidates
from roman_asn.pool.columns import (
    CANDIDATE_DTYPE,
    CANONICAL_ORDER,
    COLUMN_TYPES,
    REQUIRED_COLUMNS,
    ROW_COLUMN,
    UPPER_CASE_COLUMNS,
    VISIT_ID_FIELDS,
    canonical_name,
)
from roman_asn.pool.ecsv import read_ecsv
from roman_asn.pool.text_table import read_text_table

if TYPE_CHECKING:
    from astropy.table import Table

MISSING_TEXT = ("", "NULL")


@dataclass
class Pool:
    """A pool: one row per exposure (or detector) file, Roman-native columns.

    ``table`` holds the data plus ``pool_row``, each row's 0-based position in the
    source; ``lines`` maps that position to the 1-based line in a text source (0
    where there is none), so errors can name the line.
    """

    table: pl.DataFrame
    path: str | None = None
    format: str = "memory"
    lines: np.ndarray | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        """The pool's file name, as associations record it in ``asn_pool``."""
        return Path(self.path).name if self.path else "none"

    def __len__(self) -> int:
        return self.table.height

    @property
    def columns(self) -> list[str]:
        return [c for c in self.table.columns if c != ROW_COLUMN]

    def where(self, row: int) -> dict[str, int | str | None]:
        """Keyword arguments for an error about the 0-based source ``row``."""
        line = int(self.lines[row]) if self.lines is not None and self.lines[row] else None
        return {"path": self.path, "line": line, "row": None if line else row + 1}

    def to_astropy(self) -> Table:
        """An astropy Table (candidates as their text form), for astronomers' tools."""
        from roman_asn.pool.writer import to_astropy

        return to_astropy(self)

    def write(self, path: str | os.PathLike[str], fmt: str | None = None) -> Path:
        from roman_asn.pool.writer import write_pool

        return write_pool(self, path, fmt)

    @classmethod
    def from_frame(cls, frame: pl.DataFrame, path: str | None = None) -> Pool:
        """Normalize an in-memory table (any column spelling, text or typed values)."""
        return normalize(frame, path=path, fmt="memory", lines=None)


BOM = b"\xef\xbb\xbf"
HEAD_BYTES = 1 << 16  # enough for any header line and the ECSV marker


@dataclass
class PoolSource:
    """A pool file opened once: its name for messages, its first bytes (to identify
    the format) and, on demand, all of it. Regular files can be reopened by path;
    standard input (``-``) and pipes are read once into memory."""

    label: str
    path: Path | None
    head: bytes
    _raw: bytes | None = field(default=None, repr=False)

    @property
    def suffix(self) -> str:
        return Path(self.label).suffix.lower()

    @property
    def raw(self) -> bytes:
        """The whole file as bytes."""
        if self._raw is None:
            assert self.path is not None
            try:
                self._raw = self.path.read_bytes()
            except OSError as error:
                raise PoolError(
                    f"cannot read: {error.strerror or error}", path=self.label
                ) from None
        return self._raw

    @property
    def text(self) -> bytes:
        """The bytes of a text pool: without a UTF-8 byte-order mark, and with old Mac
        line endings (CR only) read as line ends."""
        raw = self.raw
        if raw.startswith(BOM):
            raw = raw[len(BOM) :]
        if b"\r" in raw and b"\n" not in raw:
            raw = raw.replace(b"\r", b"\n")
        return raw

    def binary(self):
        """A file object (or path) for readers of binary formats."""
        import io

        return self.path if self.path is not None else io.BytesIO(self.raw)


def open_source(path: str | os.PathLike[str]) -> PoolSource:
    """Open a pool path (``-`` is standard input) with one-line errors for what is not a file."""
    if str(path) == "-":
        import sys

        raw = _read_stream(sys.stdin.buffer, "<stdin>")
        return PoolSource("<stdin>", None, _strip_bom(raw[:HEAD_BYTES]), raw)
    path = Path(path)
    label = str(path)
    try:
        info = path.stat()
        if path.is_dir():
            raise PoolError("is a directory, not a pool file", path=label)
        if stat.S_ISREG(info.st_mode):
            with path.open("rb") as handle:
                return PoolSource(label, path, _strip_bom(handle.read(HEAD_BYTES)))
        if stat.S_ISFIFO(info.st_mode):
            raw = _read_named_pipe(path, label)
        else:
            with path.open("rb") as handle:  # a device: it can be read only once
                raw = _read_stream(handle, label)
    except FileNotFoundError:
        raise PoolError("no such file", path=label) from None
    except OSError as error:
        raise PoolError(f"cannot read: {error.strerror or error}", path=label) from None
    return PoolSource(label, None, _strip_bom(raw[:HEAD_BYTES]), raw)


# Seconds a named pipe may wait for a program to open it for writing (a pool made by
# `mkfifo p; make_pool > p &` races the reader); opening one nobody writes to waited
# forever. A pipe whose writer is there (<(command), `cmd | roman-asn generate -`) is
# waited for as long as it takes, as any reader would.
PIPE_WRITER_WAIT = 10.0


def _read_named_pipe(path: Path, label: str) -> bytes:
    """All of a FIFO: opened without blocking, then waited on only while a writer
    exists or for :data:`PIPE_WRITER_WAIT` seconds for one to come."""
    import select
    import time

    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb", buffering=0) as handle:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        deadline = time.monotonic() + PIPE_WRITER_WAIT
        start, came = b"", False
        while True:
            try:
                start = os.read(fd, HEAD_BYTES)
            except BlockingIOError:
                break  # a writer holds the pipe and has written nothing yet
            if start or came:  # data, or a writer came and went without writing
                break
            left = deadline - time.monotonic()  # b"": no writer (yet)
            if left <= 0:
                raise PoolError(
                    f"a named pipe no program opened for writing within {PIPE_WRITER_WAIT:g} s",
                    path=label,
                )
            came = bool(poller.poll(left * 1000))
        os.set_blocking(fd, True)
        return _read_stream(handle, label, start)


def _read_stream(handle, label: str, start: bytes = b"") -> bytes:
    """All of a pipe or device (after the ``start`` already read from it), unless its
    start already shows it is no pool: neither a text pool nor a Parquet file (after
    PAR1) starts with NUL bytes, and a stream such as /dev/zero never ends."""
    from roman_asn.pool.text_table import check_text

    head = start + _read_up_to(handle, HEAD_BYTES - len(start))
    if not head.startswith(b"PAR1") and b"\x00" in head:
        check_text(head, label)  # raises, naming the line and byte
    return head + _read_up_to(handle, -1)


def _read_up_to(handle, size: int) -> bytes:
    """``size`` bytes of ``handle`` (all when negative), fewer only at its end: an
    unbuffered pipe's ``read`` returns what one write put there."""
    chunks, got = [], 0
    while size < 0 or got < size:
        chunk = handle.read(1 << 20 if size < 0 else size - got)
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _strip_bom(head: bytes) -> bytes:
    return head[len(BOM) :] if head.startswith(BOM) else head


def read_pool(path: str | os.PathLike[str], fmt: str | None = None) -> Pool:
    """Read a pool: legacy pipe-delimited or plain CSV, ECSV or Parquet (see
    :mod:`roman_asn.pool.formats`); ``fmt`` names the format instead of detecting it."""
    from roman_asn.pool.formats import get_format, identify_format

    source = open_source(path)
    kind = get_format(fmt) if fmt else identify_format(source.head, source.suffix, source.label)
    return kind.read(source)


# A Parquet file stores a column of one repeated value in a few bytes: a 300 kB file of
# 20M rows took 4 GB and 14 s to read. A real pool has distinct file names and
# footprints, at least a byte a row; the cells of a file (rows x columns, from its
# footer) may be this many a byte of it, and this many in any file.
CELLS_PER_BYTE = 64
MIN_CELLS = 10_000_000


def refuse_parquet_bomb(source: PoolSource) -> None:
    import pyarrow.parquet as pq

    try:
        meta = pq.read_metadata(source.binary())
    except Exception:  # pyarrow raises many kinds; the reader below says what is wrong
        return
    size = source.path.stat().st_size if source.path is not None else len(source.raw)
    cells = meta.num_rows * meta.num_columns
    if cells > max(MIN_CELLS, CELLS_PER_BYTE * size):
        raise PoolError(
            f"{meta.num_rows:,} rows x {meta.num_columns:,} columns in {size:,} bytes: more "
            f"than {CELLS_PER_BYTE} values a byte, which no pool of distinct files has "
            "(a file that would fill memory when read, not a pool)",
            path=source.label,
        )
    _refuse_dictionary_text_bomb(source, meta, size)


# A dictionary-encoded text column stores a value once and its rows as small indices:
# one 1 MB string in 2,000 rows is a 5 kB file that takes 2 GB to read. The footer does
# not say how long the values are, so the dictionaries are read as they are (a row
# group at a time, 0.3 s for a 1M-row pool) and the text they stand for is added up.
TEXT_BYTES_PER_BYTE = 64
MIN_TEXT_BYTES = 256 * 1024 * 1024


def _refuse_dictionary_text_bomb(source: PoolSource, meta, size: int) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    encoded = sorted(
        {
            chunk.path_in_schema
            for group in range(meta.num_row_groups)
            for column in range(meta.num_columns)
            if (chunk := meta.row_group(group).column(column)).physical_type == "BYTE_ARRAY"
            and chunk.has_dictionary_page
        }
    )
    if not encoded:
        return
    limit = max(MIN_TEXT_BYTES, TEXT_BYTES_PER_BYTE * size)

    def text_bytes(values) -> int:
        if isinstance(values, pa.ChunkedArray):
            return sum(text_bytes(chunk) for chunk in values.chunks)
        kind = values.type
        if pa.types.is_dictionary(kind):
            lengths = pc.binary_length(values.dictionary).fill_null(0)
            return int(pc.sum(pc.take(lengths, values.indices)).as_py() or 0)
        if pa.types.is_list(kind) or pa.types.is_large_list(kind):
            return text_bytes(values.flatten())
        if pa.types.is_struct(kind):
            return sum(text_bytes(values.field(i)) for i in range(kind.num_fields))
        return 0  # plain columns are as long in the file as in memory: bounded above

    try:
        # the footer read for the cell count above serves again
        parquet = pq.ParquetFile(source.binary(), metadata=meta, read_dictionary=encoded)
        columns = sorted({path.split(".")[0] for path in encoded})
        total: dict[str, int] = dict.fromkeys(columns, 0)
        text = 0
        for group in range(meta.num_row_groups):
            table = parquet.read_row_group(group, columns=columns)
            for name in columns:
                found = text_bytes(table.column(name))
                total[name] += found
                text += found
                if text > limit:
                    raise PoolError(
                        f"column '{name}' stands for {total[name]:,} bytes of text or more "
                        f"(a dictionary of repeated values) in a file of {size:,} bytes: more "
                        f"than {TEXT_BYTES_PER_BYTE} bytes of text a byte of file, which no "
                        "pool of distinct files has (a file that would fill memory when "
                        "read, not a pool)",
                        path=source.label,
                    )
    except PoolError:
        raise
    except Exception:  # noqa: BLE001  pyarrow raises many kinds; the reader says what is wrong
        return


def read_parquet_source(source: PoolSource) -> Pool:
    if not source.head.startswith(b"PAR1"):
        raise PoolError("not a Parquet file (no PAR1 magic bytes)", path=source.label)
    refuse_parquet_bomb(source)
    try:
        frame = pl.read_parquet(source.binary())
    except Exception as error:  # pyarrow/polars raise many kinds
        raise PoolError(
            f"unreadable Parquet file: {first_line(error)}", path=source.label
        ) from None
    return normalize(frame, path=source.label, fmt="parquet", lines=None)


def read_ecsv_source(source: PoolSource) -> Pool:
    frame, lines = read_ecsv(source.label, source.text)
    if frame is None:  # multidimensional or object columns: astropy knows them
        frame = _read_ecsv_astropy(source)
    return normalize(frame, path=source.label, fmt="ecsv", lines=lines)


def read_text_source(source: PoolSource) -> Pool:
    frame, lines, fmt = read_text_table(source.label, source.text)
    return normalize(frame, path=source.label, fmt=fmt, lines=lines)


def _read_ecsv_astropy(source: PoolSource) -> pl.DataFrame:
    from astropy.table import Table

    try:
        table = Table.read(source.text.decode("utf-8"), format="ascii.ecsv")
    except Exception as error:
        raise PoolError(f"unreadable ECSV file: {first_line(error)}", path=source.label) from None
    columns = {}
    for name in table.colnames:
        column = table[name]
        values = np.asarray(getattr(column, "data", column)).tolist()
        if column.dtype.kind in "USO":
            values = [None if v is None else str(v) for v in values]
        mask = getattr(column, "mask", None)
        if mask is not None and np.any(mask):
            values = [None if m else v for v, m in zip(values, np.asarray(mask), strict=True)]
        columns[name] = values
    return pl.DataFrame(columns, strict=False)


def normalize(frame: pl.DataFrame, *, path: str | None, fmt: str, lines: np.ndarray | None) -> Pool:
    """Rename to Roman-native names, apply the missing-value rule and the column types."""
    label = path or "<pool>"
    renamed: dict[str, str] = {}
    meant_by: dict[str, str] = {}  # target -> source: pools may have 10k+ columns
    for name in frame.columns:
        if name == ROW_COLUMN:
            continue
        target = canonical_name(name)
        if target in meant_by:
            other = meant_by[target]
            raise PoolError(
                f"columns {shown(other)} and {shown(name)} both mean {shown(target)}", path=label
            )
        renamed[name] = meant_by[target] = target
    frame = frame.drop(ROW_COLUMN, strict=False).rename(renamed)
    for required in REQUIRED_COLUMNS:
        if required not in frame.columns:
            raise PoolError(
                f"missing required column (found: {_some_names(frame.columns)})",
                path=label,
                column=required,
            )
    frame = frame.with_row_index(ROW_COLUMN)
    pool = Pool(frame, path=path, format=fmt, lines=lines)
    cleaned = [
        column
        for name, dtype in frame.schema.items()
        if dtype == pl.Utf8
        and (column := _missing_to_null(frame[name], padded=fmt == "legacy")) is not None
    ]
    if cleaned:  # one rewrite of the frame, not one a column (10k+ columns happen)
        frame = frame.with_columns(cleaned)
    frame = _apply_types(frame, pool, label)
    frame = _fill_from_visit_id(frame)
    check_values(frame, pool)
    check_duplicate_files(frame, pool)
    ordered = [c for c in CANONICAL_ORDER if c in frame.columns]
    rest = [c for c in frame.columns if c not in ordered and c != ROW_COLUMN]
    pool.table = frame.select([*ordered, *rest, ROW_COLUMN])
    return pool


def _some_names(names: list[str], most: int = 20) -> str:
    """The first ``most`` of ``names`` for a message, each cut as :func:`shown` cuts it:
    a header of 200k columns (or one of 5 MB) stays one readable line."""
    listed = ", ".join(name if len(name) <= 80 else shown(name) for name in names[:most])
    more = f" and {len(names) - most:,} more" if len(names) > most else ""
    return (listed + more) or "none"


def _missing_to_null(column: pl.Series, padded: bool) -> pl.Series | None:
    """``column`` with the legacy format's padding stripped and empty/NULL made missing
    values, or None when it needs neither (a clean multi-million-row pool is not copied
    column by column)."""
    original = column
    if padded and column.str.contains(r"^\s|\s$").any():
        column = column.str.strip_chars()
    missing = column.is_in(MISSING_TEXT)
    if missing.any():
        column = column.set(missing, None)
    return None if column is original else column


def _apply_types(frame: pl.DataFrame, pool: Pool, label: str) -> pl.DataFrame:
    casts = []
    if "candidates" in frame.columns:
        frame = frame.with_columns(_candidates_column(frame, pool, label))
    for name, current in frame.schema.items():  # the schema once: 10k+ columns happen
        if name in (ROW_COLUMN, "candidates"):
            continue
        wanted = COLUMN_TYPES.get(name)
        if wanted is None:
            if current == pl.Utf8:
                values = frame[name].drop_nulls()
                if len(values) and values.is_in(["T", "F"]).all():
                    casts.append((pl.col(name) == "T").alias(name))
            continue
        if current == wanted:
            expr = pl.col(name)
        elif current == pl.Utf8 and wanted in (pl.Int64, pl.Float64):
            expr = _checked_numeric(frame, name, wanted, pool, label)
        else:
            numeric_ok = current.is_numeric() or current == pl.Null
            if current.is_nested() or (wanted.is_numeric() and not numeric_ok):
                raise PoolError(
                    f"values of type {current} cannot be read as {wanted}", path=label, column=name
                )
            if wanted == pl.Int64 and current.is_float():
                _check_integral(frame, name, pool)
            try:
                frame.select(pl.col(name).cast(wanted, strict=True))
            except pl.exceptions.PolarsError:
                raise PoolError(
                    f"values of type {current} cannot be read as {wanted}", path=label, column=name
                ) from None
            expr = pl.col(name).cast(wanted)
        if name in UPPER_CASE_COLUMNS:
            expr = expr.str.to_uppercase()
        casts.append(expr.alias(name))
    return frame.with_columns(casts) if casts else frame


def _check_integral(frame: pl.DataFrame, name: str, pool: Pool) -> None:
    """Floats in an integer column must be whole numbers (1.5 is not program 1)."""
    column = frame[name]
    bad = column.is_not_null() & (~column.is_finite() | (column != column.round(0)))
    if bad.any():
        index = int(bad.arg_true()[0])
        raise PoolError(
            f"{shown(column[index])} is not an integer "
            f"({int(bad.sum())} bad value(s) in this column)",
            column=name,
            **pool.where(int(frame[ROW_COLUMN][index])),
        )


def _checked_numeric(
    frame: pl.DataFrame, name: str, wanted: pl.DataType, pool: Pool, label: str
) -> pl.Expr:
    parsed = frame[name].cast(wanted, strict=False)
    bad = frame[name].is_not_null() & parsed.is_null()
    if bad.any():
        index = int(bad.arg_true()[0])
        value = frame[name][index]
        kind = "an integer" if wanted == pl.Int64 else "a number"
        raise PoolError(
            f"{shown(value)} is not {kind} ({int(bad.sum())} bad value(s) in this column)",
            column=name,
            **pool.where(int(frame[ROW_COLUMN][index])),
        )
    return pl.col(name).cast(wanted, strict=False)


def _candidates_column(frame: pl.DataFrame, pool: Pool, label: str) -> pl.Series:
    column = frame["candidates"]
    if column.dtype == CANDIDATE_DTYPE:
        return _checked_candidate_structs(frame, pool)
    if column.dtype != pl.Utf8:
        raise PoolError(
            f"candidates must be text or a list of (id, type) structs, not {column.dtype}",
            path=label,
            column="candidates",
        )
    # parse each distinct cell once: pools repeat the same few candidate lists
    distinct = column.unique().drop_nulls().to_list()
    parsed: dict[str, list[dict[str, str]]] = {}
    for cell in distinct:
        try:
            parsed[cell] = [{"id": i, "type": t} for i, t in parse_candidates(cell)]
        except CandidateSyntaxError as error:
            index = int((column == cell).arg_true()[0])
            raise PoolError(
                str(error), column="candidates", **pool.where(int(frame[ROW_COLUMN][index]))
            ) from None
    keys = pl.DataFrame(
        {"candidates": list(parsed), "__parsed": list(parsed.values())},
        schema={"candidates": pl.Utf8, "__parsed": CANDIDATE_DTYPE},
    )
    joined = frame.select("candidates").join(
        keys, on="candidates", how="left", maintain_order="left"
    )
    return joined["__parsed"].fill_null(pl.lit([], dtype=CANDIDATE_DTYPE)).alias("candidates")


def _checked_candidate_structs(frame: pl.DataFrame, pool: Pool) -> pl.Series:
    """Candidates stored as (id, type) structs (Parquet) pass the same checks as the
    text cells: ids of letters, digits, '_' and '-', ids and types lower case."""
    flat = frame.select(ROW_COLUMN, "candidates").explode("candidates").drop_nulls("candidates")
    flat = flat.select(ROW_COLUMN, pl.col("candidates").struct.unnest())
    bad = flat.filter(
        pl.col("id").is_null()
        | ~pl.col("id").str.contains(CANDIDATE_ID)
        | pl.col("type").is_null()
        | ~pl.col("type").str.to_lowercase().str.contains(CANDIDATE_ID)
    )
    if bad.height:
        row = bad.row(0, named=True)
        raise PoolError(
            f"bad candidate ({shown(row['id'])}, {shown(row['type'])}): ids and types are letters, "
            "digits, '_' and '-'",
            column="candidates",
            **pool.where(int(row[ROW_COLUMN])),
        )
    upper = flat.select(
        (pl.col("id").str.contains("[A-Z]") | pl.col("type").str.contains("[A-Z]")).any()
    ).item()
    if not upper:  # the usual case: nothing to rewrite
        return frame["candidates"]
    lowered = pl.element().struct.with_fields(
        pl.field("id").str.to_lowercase(), pl.field("type").str.to_lowercase()
    )
    return frame.select(pl.col("candidates").list.eval(lowered))["candidates"]


# (columns, lowest, highest) of the numbers a pool row may hold
_VISIT_LIMITS = tuple((name, 0, 10**width - 1) for name, width in VISIT_ID_FIELDS)
_RA = ("pointing_ra", *(f"ra_corn{i}" for i in range(1, 5)))
_DEC = ("pointing_dec", *(f"dec_corn{i}" for i in range(1, 5)))
_ANGLE_LIMITS = (
    *((name, -360.0, 360.0) for name in _RA),
    *((name, -90.0, 90.0) for name in _DEC),
    ("pointing_pa", -360.0, 360.0),
)
MAX_FOOTPRINT_DEGREES = 90.0  # a WFI footprint is under a degree across
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


def check_values(frame: pl.DataFrame, pool: Pool) -> None:
    """Refuse numbers no exposure can have, naming the first row: visit-id fields
    beyond their digits (a 6-digit or negative program), angles out of range or not
    finite, footprints wider than a hemisphere's edge, S_REGION declinations
    beyond the poles. They would make wrong file names or crash the matching."""
    checks: list[tuple[pl.Expr, str, str]] = []
    for name, low, high in (*_VISIT_LIMITS, *_ANGLE_LIMITS):
        if name not in frame.columns:
            continue
        value = pl.col(name)
        outside = value.is_not_null() & ~(value.is_between(low, high) & value.is_finite())
        what = "a number" if frame.schema[name] == pl.Float64 else "an integer"
        checks.append((outside, name, f"must be {what} from {low:g} to {high:g}"))
    corners = [(f"ra_corn{i}", f"dec_corn{i}") for i in range(1, 5)]
    if all(c in frame.columns for pair in corners for c in pair):
        checks.append(
            (
                _footprint_too_wide(corners),
                "ra_corn1",
                f"the footprint corners are more than {MAX_FOOTPRINT_DEGREES:g} degrees apart",
            )
        )
    if "s_region" in frame.columns and frame.schema["s_region"] == pl.Utf8:
        # the footprint comes from the corners where a row has them all, else from
        # S_REGION: parse only the rows that need it (none, in most pools)
        has_corners = [c for pair in corners for c in pair if c in frame.columns]
        used = (
            pl.any_horizontal(pl.col(c).is_null() for c in has_corners)
            if len(has_corners) == 8
            else pl.lit(True)
        )
        text = pl.when(used).then(pl.col("s_region"))
        decs = text.str.extract_all(_NUMBER).cast(pl.List(pl.Float64)).list.gather_every(2, 1)
        beyond = (decs.list.max() > 90) | (decs.list.min() < -90)
        checks.append((beyond, "s_region", "has a declination beyond +-90 degrees"))
    if "filename" in frame.columns and frame.schema["filename"] == pl.Utf8:
        # it becomes an association's expname, which no file system or schema takes
        control = pl.col("filename").str.contains(r"[\x00-\x1f\x7f]")
        checks.append((control, "filename", "holds a control character (a tab, line break...)"))
    if not checks:
        return
    flags = frame.select(
        [expr.fill_null(False).alias(f"__bad{i}") for i, (expr, _, _) in enumerate(checks)]
    )
    for i, (_, name, message) in enumerate(checks):
        bad = flags[f"__bad{i}"]
        if bad.any():
            index = int(bad.arg_true()[0])
            value = frame[name][index]
            raise PoolError(
                f"{shown(value)} {message} ({int(bad.sum())} such row(s))",
                column=name,
                **pool.where(int(frame[ROW_COLUMN][index])),
            )


def _footprint_too_wide(corners: list[tuple[str, str]]) -> pl.Expr:
    """Whether two corners of a row's footprint are more than MAX_FOOTPRINT_DEGREES
    apart: the dot product of their unit vectors is below its cosine."""
    vectors = []
    for ra, dec in corners:
        a, d = pl.col(ra).radians(), pl.col(dec).radians()
        vectors.append((d.cos() * a.cos(), d.cos() * a.sin(), d.sin()))
    limit = math.cos(math.radians(MAX_FOOTPRINT_DEGREES))
    wide = [
        (u[0] * v[0] + u[1] * v[1] + u[2] * v[2]) < limit - 1e-12
        for i, u in enumerate(vectors)
        for v in vectors[i + 1 :]
    ]
    return pl.any_horizontal(wide)


# What describes an exposure file itself: one file, one value. (Where the file sits in
# the plan -- program, observation, visit, candidates -- may differ between rows:
# romancal's own pools list one file under two observations.)
FILE_FACTS: tuple[str, ...] = (
    "exposerr",
    "target",
    "exp_type",
    "optical_element",
    "instrument",
    "detector",
    "start_time",
    "s_region",
    *(f"{axis}_corn{i}" for i in range(1, 5) for axis in ("ra", "dec")),
    "pointing_ra",
    "pointing_dec",
    "pointing_pa",
)


def check_duplicate_files(frame: pl.DataFrame, pool: Pool | Callable[[int], dict]) -> None:
    """A file listed on several rows must have the same :data:`FILE_FACTS` on each;
    otherwise which row's value ends up in an association (its target, a member's
    exposerr) would depend on row order, so the pool is refused naming both rows.
    ``pool``: the pool, or a function giving the error location of a ``pool_row``."""
    locate = pool.where if isinstance(pool, Pool) else pool
    facts = [c for c in FILE_FACTS if c in frame.columns]
    if "filename" not in frame.columns or not facts:
        return
    named = frame.filter(pl.col("filename").is_not_null())
    repeated = named.filter(pl.col("filename").is_duplicated())
    if not repeated.height:
        return
    values = ["filename", *facts]
    distinct = repeated.unique(subset=values, keep="first", maintain_order=True)
    conflicting = distinct.filter(pl.col("filename").is_duplicated())
    if not conflicting.height:
        return
    name = conflicting["filename"][0]
    rows = conflicting.filter(pl.col("filename") == name)
    first, second = rows.row(0, named=True), rows.row(1, named=True)
    differ = [c for c in values if first[c] != second[c]]
    where = locate(int(second[ROW_COLUMN]))
    other = locate(int(first[ROW_COLUMN]))
    earlier = f"line {other['line']}" if other["line"] else f"row {other['row']}"
    if other["path"] != where["path"]:  # an ingest of several pools: name the other one
        earlier = f"{other['path']}, {earlier}"
    raise PoolError(
        f"file {shown(name)} is listed twice with different {', '.join(differ)} (also at "
        f"{earlier}); which to use would depend on row order",
        column=differ[0] if differ else None,
        **where,
    )


def _fill_from_visit_id(frame: pl.DataFrame) -> pl.DataFrame:
    """Fill missing program..visit from the 19-digit visit_id (PPPPP CC AAA SSS OOO VVV)."""
    if "visit_id" not in frame.columns:
        return frame
    from roman_asn.visit_id import visit_id_field_exprs

    exprs = []
    for name, derived in visit_id_field_exprs(pl.col("visit_id")).items():
        if name not in frame.columns:
            exprs.append(derived.alias(name))
        elif frame[name].null_count():  # (a full column needs nothing: skip the parsing)
            exprs.append(pl.col(name).fill_null(derived).alias(name))
    return frame.with_columns(exprs) if exprs else frame
