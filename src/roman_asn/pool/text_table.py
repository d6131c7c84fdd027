"""Delimited text pools: the legacy pipe format and plain CSV.

The legacy format is scanned with numpy first (comment and blank lines, field
counts per line) so that a malformed line is reported by its number before
polars parses the clean rows at full speed.
"""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

import numpy as np
import polars as pl

from roman_asn.errors import PoolError, first_line

NEWLINE = ord("\n")
_SPACE_BYTES = np.frombuffer(b" \t\r\n\f\v", dtype=np.uint8)


def check_text(raw: bytes, path: str) -> None:
    """Reject empty and binary files with the line of the first bad byte."""
    if not raw.strip():
        raise PoolError("the file is empty", path=path)
    bad = raw.find(b"\x00")
    if bad < 0:
        bad = _first_invalid_utf8(raw)
        if bad < 0:
            return
    line = raw.count(b"\n", 0, bad) + 1
    raise PoolError(f"not a text pool (binary data at byte {bad})", path=path, line=line)


def _first_invalid_utf8(raw: bytes, chunk: int = 1 << 24) -> int:
    """Offset of the first byte that is not UTF-8, or -1; decodes in chunks to bound memory."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    for offset in range(0, len(raw), chunk):
        try:
            decoder.decode(raw[offset : offset + chunk], final=offset + chunk >= len(raw))
        except UnicodeDecodeError as error:
            return offset + error.start
    return -1


def _line_spans(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ends = np.flatnonzero(data == NEWLINE)
    if len(data) and data[-1] != NEWLINE:
        ends = np.append(ends, len(data))
    starts = np.concatenate(([0], ends[:-1] + 1)) if len(ends) else np.array([], dtype=np.int64)
    return starts.astype(np.int64), ends.astype(np.int64)


def first_content_line(raw: bytes) -> str:
    for line in io.BytesIO(raw):
        text = line.decode("utf-8", "replace").strip()
        if text and not text.startswith("#"):
            return text
    return ""


def _content_lines(raw: bytes, data: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Line starts and ends (byte offsets), and the 0-based numbers of the lines that
    are neither blank nor comments (the header, then the data rows)."""
    starts, ends = _line_spans(data)
    first = data[np.minimum(starts, len(data) - 1)]
    empty = ends == starts
    comment = (first == ord("#")) & ~empty
    # lines that start with white space may be blank or indented comments: decide in Python
    for i in np.flatnonzero(np.isin(first, _SPACE_BYTES) & ~empty):
        text = raw[int(starts[i]) : int(ends[i])].strip()
        empty[i] = not text
        comment[i] = text.startswith(b"#")
    return starts, ends, np.flatnonzero(~empty & ~comment)


def read_pipe_table(raw: bytes, path: str) -> tuple[pl.DataFrame, np.ndarray]:
    """Parse a legacy pipe-delimited pool into all-string columns.

    Returns the table and, per data row, its 1-based line number in the file.
    Field counts come from the positions of newlines and pipes, so the scan is
    a few vectorized passes whatever the file size.
    """
    data = np.frombuffer(raw, dtype=np.uint8)
    starts, ends, kept = _content_lines(raw, data)
    if len(kept) == 0:
        raise PoolError("no header line: the file has only comments or blank lines", path=path)
    pipe_positions = np.flatnonzero(data == ord("|"))
    pipes = np.searchsorted(pipe_positions, ends) - np.searchsorted(pipe_positions, starts)
    del pipe_positions
    field_counts = pipes[kept] + 1
    expected = int(field_counts[0])
    wrong = np.flatnonzero(field_counts != expected)
    if len(wrong):
        raise PoolError(
            f"expected {expected} '|'-separated fields as in the header, found "
            f"{int(field_counts[wrong[0]])} ({len(wrong)} such line(s) in all)",
            path=path,
            line=int(kept[wrong[0]]) + 1,
        )
    header_line = int(kept[0]) + 1
    header_text = raw[int(starts[kept[0]]) : int(ends[kept[0]])].decode("utf-8")
    header = [name.strip() for name in header_text.split("|")]
    _check_header(header, path, header_line)
    body_lines = kept[1:]
    if len(body_lines) == 0:
        return pl.DataFrame({name: pl.Series([], dtype=pl.Utf8) for name in header}), body_lines
    options = dict(
        separator="|", has_header=False, new_columns=header, infer_schema=False, quote_char=None
    )
    if len(body_lines) == len(starts) - int(body_lines[0]):
        # nothing to drop after the header: parse the buffer in place, no copy
        table = pl.read_csv(raw, skip_lines=int(body_lines[0]), **options)
    else:
        mark = np.zeros(len(data) + 1, dtype=np.int8)
        line_end = np.minimum(ends[body_lines] + 1, len(data))
        np.add.at(mark, starts[body_lines], 1)
        np.add.at(mark, line_end, -1)
        body = data[np.cumsum(mark[:-1], dtype=np.int8) > 0].tobytes()
        table = pl.read_csv(body, **options)
    return table, (body_lines + 1).astype(np.int64)


def _check_header(header: list[str], path: str, line: int) -> None:
    if any(not name for name in header):
        position = header.index("") + 1
        raise PoolError(f"header field {position} has no column name", path=path, line=line)
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise PoolError(f"column {name!r} appears twice in the header", path=path, line=line)
        seen.add(name)


def check_field_counts(
    raw: bytes, path: str, separator: str = ",", first_line: int = 1
) -> np.ndarray:
    """Refuse a line with more or fewer fields than the header line (a missing field
    would shift the others left); return the 1-based file lines of the data rows.

    Without quote characters the fields are counted from separator positions, in a
    few vectorized passes; with quotes, by Python's csv reader (quoted separators
    and line breaks are not field ends)."""
    offset = first_line - 1
    if b'"' not in raw:
        data = np.frombuffer(raw, dtype=np.uint8)
        starts, ends, kept = _content_lines(raw, data)
        if len(kept) == 0:
            raise PoolError("no header line: the file has only comments or blank lines", path=path)
        positions = np.flatnonzero(data == ord(separator))
        counts = (np.searchsorted(positions, ends) - np.searchsorted(positions, starts))[kept] + 1
        lines = kept + 1 + offset
    else:
        counts_list, line_list = [], []
        text = raw.decode("utf-8")
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator, quotechar='"')
        start = 1
        # the csv module's 128 KiB field limit is not ours: a field is at most the file
        limit = csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
        try:
            for record in reader:
                blank = not record or (len(record) == 1 and not record[0].strip())
                if not blank and not record[0].lstrip().startswith("#"):
                    counts_list.append(len(record))
                    line_list.append(start)
                start = reader.line_num + 1
        except csv.Error as error:
            raise PoolError(f"unreadable CSV: {error}", path=path, line=start + offset) from None
        finally:
            csv.field_size_limit(limit)
        if not counts_list:
            raise PoolError("no header line: the file has only comments or blank lines", path=path)
        counts = np.array(counts_list)
        lines = np.array(line_list, dtype=np.int64) + offset
    wrong = np.flatnonzero(counts != counts[0])
    if len(wrong):
        name = "space" if separator == " " else repr(separator)
        raise PoolError(
            f"expected {int(counts[0])} {name}-separated fields as in the header, found "
            f"{int(counts[wrong[0]])} ({len(wrong)} such line(s) in all)",
            path=path,
            line=int(lines[wrong[0]]),
        )
    return lines[1:].astype(np.int64)


def read_comma_table(raw: bytes, path: str) -> tuple[pl.DataFrame, np.ndarray]:
    """Parse a plain CSV pool (comma separated, double-quoted fields)."""
    lines = check_field_counts(raw, path, ",")
    try:
        table = pl.read_csv(
            io.BytesIO(raw),
            infer_schema=False,
            comment_prefix="#",
            quote_char='"',
        )
    except pl.exceptions.PolarsError as error:
        raise PoolError(f"not a readable CSV table: {first_line(error)}", path=path) from None
    _check_header(list(table.columns), path, 1)
    # blank lines come back as all-null rows: drop them, as the pipe reader does
    if table.width:
        table = table.filter(~pl.all_horizontal(pl.all().is_null()))
    if len(lines) != table.height:  # the csv module and polars disagree: do not guess
        lines = np.zeros(table.height, dtype=np.int64)
    return table, lines


def read_text_table(path: str | Path, raw: bytes) -> tuple[pl.DataFrame, np.ndarray, str]:
    """Sniff the delimiter of a text pool and parse it; returns (table, lines, format)."""
    label = str(path)
    check_text(raw, label)
    header = first_content_line(raw)
    if not header:
        raise PoolError("no header line: the file has only comments or blank lines", path=label)
    if "|" in header:
        table, lines = read_pipe_table(raw, label)
        return table, lines, "legacy"
    table, lines = read_comma_table(raw, label)
    return table, lines, "csv"
