"""Rows of one program of a pool, without reading the whole pool when it is Parquet.

``explain`` needs one row and the rows of its program, and only the columns the
rules read. A Parquet pool is scanned lazily: the predicate on the program column
and the column projection go down to the reader, and only those rows are
normalized as :func:`roman_asn.pool.read_pool` normalizes a whole pool (types,
missing values, fields filled from ``visit_id``), keeping their ``pool_row``.
Other formats are read whole (their rows cannot be located without parsing).

Checks that span rows (a file listed twice with different facts) see only the rows
read, so a pool that ``read_pool`` refuses may still be explained here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

import polars as pl

from roman_asn.errors import PoolError, RomanAsnError, first_line, shown
from roman_asn.pool.columns import ROW_COLUMN, canonical_name
from roman_asn.pool.reader import (
    MISSING_TEXT,
    Pool,
    normalize,
    open_source,
    read_pool,
    refuse_parquet_bomb,
)

_INDEX = "__subset_row"
# a row filter made from a column getter (canonical name -> expression or None)
Predicate = Callable[[Callable[[str], pl.Expr | None]], pl.Expr]


@dataclass
class PoolRows:
    """A pool opened for reading single rows and single programs."""

    path: str | None
    height: int
    _pool: Pool | None = None  # a pool read whole
    _columns: dict[str, str] = field(default_factory=dict)  # canonical -> Parquet name
    _schema: dict[str, pl.DataType] = field(default_factory=dict)

    @classmethod
    def of_pool(cls, pool: Pool) -> PoolRows:
        return cls(pool.path, pool.table.height, _pool=pool)

    @classmethod
    def open(cls, path: str | os.PathLike[str], fmt: str | None = None) -> PoolRows:
        """A Parquet file is scanned lazily; any other pool is read whole."""
        from roman_asn.pool.formats import get_format, identify_format

        source = open_source(path)
        kind = get_format(fmt) if fmt else identify_format(source.head, source.suffix, source.label)
        if kind.name != "parquet" or source.path is None or not source.head.startswith(b"PAR1"):
            return cls.of_pool(kind.read(source))
        label = source.label
        refuse_parquet_bomb(source)  # the rows of one program could be all 20M of them
        try:
            schema = dict(pl.read_parquet_schema(source.path))
            height = pl.scan_parquet(source.path).select(pl.len()).collect().item()
        except Exception as error:  # pyarrow/polars raise many kinds
            raise PoolError(f"unreadable Parquet file: {first_line(error)}", path=label) from None
        columns = {canonical_name(n): n for n in schema if n != ROW_COLUMN}
        if "filename" not in columns:
            # read_pool words this error; let it
            read_pool(path, fmt)
        return cls(label, height, _columns=columns, _schema=schema)

    def where(self, row: int) -> dict[str, int | str | None]:
        if self._pool is not None:
            return self._pool.where(row)
        return {"path": self.path, "line": None, "row": row + 1}

    def find(self, spec: str) -> list[int]:
        """``#N``: the row with pool_row N (0-based, as in the orphans file); else a file name."""
        text = spec.strip()
        if text.startswith("#"):
            digits = text[1:]
            # ASCII digits only: int() also reads '٣' and ' 3', '+3', '3_0' as numbers
            if not (digits.isascii() and digits.isdigit()):
                raise RomanAsnError(f"row {shown(spec)}: expected #N with N a row number")
            # int() refuses more than 4300 digits, leading zeros too (it was a traceback)
            significant = digits.lstrip("0") or "0"
            number = int(significant) if len(significant) <= 1000 else None
            if self.height == 0:
                raise RomanAsnError(f"row {shown(spec)}: the pool has no rows", path=self.path)
            if number is None or not 0 <= number < self.height:
                raise RomanAsnError(
                    f"row {f'#{number}' if number is not None else shown(spec)} is not in "
                    f"the pool (rows #0..#{self.height - 1})",
                    path=self.path,
                )
            return [number]
        if self._pool is not None:
            table = self._pool.table
            rows = table.filter(pl.col("filename") == text)[ROW_COLUMN].to_list()
        elif text in MISSING_TEXT:
            rows = []
        else:
            scan = self._scan().filter(pl.col(self._columns["filename"]).cast(pl.Utf8) == text)
            rows = scan.select(_INDEX).collect()[_INDEX].to_list()
        if not rows:
            raise RomanAsnError(f"no row has file name {shown(text)}", path=self.path)
        return rows

    def rows(self, rows: Collection[int], columns: Collection[str]) -> pl.DataFrame:
        """The given pool rows, normalized, with the pool columns among ``columns``."""
        wanted = pl.col(ROW_COLUMN).is_in(list(rows))
        if self._pool is not None:
            return self._pool.table.filter(wanted)
        rows = sorted(set(rows))
        if len(rows) == 1:  # a slice is read from its row group alone
            return self._read(self._scan().slice(rows[0], 1), columns)
        index = pl.Series(_INDEX, rows, dtype=pl.UInt32)
        return self._read(self._scan().filter(pl.col(_INDEX).is_in(index.implode())), columns)

    def program_rows(
        self, program: object, columns: Collection[str], where: Predicate | None = None
    ) -> pl.DataFrame:
        """The rows of ``program`` (null: rows without one), normalized, with the pool
        columns among ``columns`` (canonical names) and ``pool_row``. ``where`` makes
        a filter from a column getter (canonical name -> expression, None if absent)
        that every row the caller wants passes, before or after normalizing."""
        wanted = pl.col("program").is_null() if program is None else pl.col("program") == program
        if self._pool is not None:
            table = self._pool.table
            if where is not None:
                table = table.filter(where(lambda c: pl.col(c) if c in table.columns else None))
            if "program" not in table.columns:
                return table if program is None else table.head(0)
            return table.filter(wanted)
        scan = self._scan()
        raw = self._columns.get("program")
        if raw is not None and self._schema[raw].is_integer():
            # a null program may be filled from visit_id: keep those rows too
            near = pl.col(raw).is_null() if program is None else pl.col(raw) == program
            if "visit_id" in self._columns:
                near = near | pl.col(raw).is_null()
            scan = scan.filter(near)
        if where is not None:
            raws = self._columns
            scan = scan.filter(where(lambda c: pl.col(raws[c]) if c in raws else None))
        frame = self._read(scan, columns)
        if "program" not in frame.columns:
            return frame if program is None else frame.head(0)
        return frame.filter(wanted)

    def all_rows(self, columns: Collection[str]) -> pl.DataFrame:
        """Every row, normalized, with the pool columns among ``columns`` and pool_row."""
        if self._pool is not None:
            return self._pool.table
        return self._read(self._scan(), columns)

    def _scan(self) -> pl.LazyFrame:
        assert self.path is not None
        return pl.scan_parquet(self.path).with_row_index(_INDEX)

    def _read(self, scan: pl.LazyFrame, columns: Collection[str]) -> pl.DataFrame:
        """Normalize the scanned rows (projected on ``columns``), keeping their pool_row."""
        wanted = {c.lower() for c in columns} | {"filename", "program", "visit_id"}
        names = [raw for name, raw in self._columns.items() if name in wanted]
        try:
            frame = scan.select(_INDEX, *names).collect()
        except Exception as error:  # a damaged row group, duplicate names: polars' errors
            raise PoolError(
                f"unreadable Parquet file: {first_line(error)}", path=self.path
            ) from None
        index = frame[_INDEX]
        try:
            pool = normalize(frame.drop(_INDEX), path=self.path, fmt="parquet", lines=None)
        except PoolError as error:
            if error.row is not None and 0 < error.row <= len(index):
                error.row = int(index[error.row - 1]) + 1
            raise
        return pool.table.with_columns(index.cast(pl.UInt32).alias(ROW_COLUMN))
