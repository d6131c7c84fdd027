"""Writing pools: legacy pipe format (.csv), plain CSV, ECSV and Parquet, atomically."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from roman_asn.atomic import atomic_open, atomic_path
from roman_asn.errors import PoolError
from roman_asn.pool.columns import LEGACY_NAMES, ROW_COLUMN
from roman_asn.pool.ecsv import write_ecsv

if TYPE_CHECKING:
    from astropy.table import Table

    from roman_asn.pool.reader import Pool

NAMES = ("canonical", "legacy")


def format_for(path: Path, fmt: str | None) -> str:
    """The name of the format ``path`` is written in (``fmt`` if given, else by suffix)."""
    from roman_asn.pool.formats import format_for_path

    return format_for_path(path, fmt).name


def _candidate_text(column: pl.Expr) -> pl.Expr:
    """A list of (id, type) structs as the JWST-style cell ``[('o001', 'observation')]``."""
    pair = pl.format(
        "('{}', '{}')", pl.element().struct.field("id"), pl.element().struct.field("type")
    )
    return pl.concat_str([pl.lit("["), column.list.eval(pair).list.join(", "), pl.lit("]")])


def _is_candidate_list(dtype: pl.DataType) -> bool:
    """A list of (id, type) structs, as the candidates column holds."""
    inner = dtype.inner if isinstance(dtype, pl.List) else None
    return isinstance(inner, pl.Struct) and {f.name for f in inner.fields} >= {"id", "type"}


def _nested_text(column: pl.Expr) -> pl.Expr:
    """Any other nested value (a list, a struct) as its JSON text."""
    return pl.struct(column.alias("v")).struct.json_encode().str.slice(5).str.strip_suffix("}")


def _as_text(column: pl.Expr, dtype: pl.DataType) -> pl.Expr | None:
    """A nested column as text: candidate lists in the pool format's cell style, other
    nested values as JSON; None for a column that is not nested."""
    if _is_candidate_list(dtype):
        return _candidate_text(column)
    if dtype.is_nested():
        return _nested_text(column)
    return None


def _with_candidates_as_text(frame: pl.DataFrame) -> pl.DataFrame:
    """Nested columns as text (:func:`_as_text`); the other columns as they are."""
    nested = {n: _as_text(pl.col(n), t) for n, t in frame.schema.items()}
    return frame.with_columns(text.alias(n) for n, text in nested.items() if text is not None)


def _text_frame(pool: Pool) -> pl.DataFrame:
    """Every column as text in the pool format's conventions (NULL, T/F, candidate lists)."""
    frame = pool.table.drop(ROW_COLUMN, strict=False)
    exprs = []
    for name, dtype in frame.schema.items():
        column = pl.col(name)
        if dtype == pl.Boolean:
            text = pl.when(column).then(pl.lit("T")).when(~column).then(pl.lit("F"))
        else:
            text = _as_text(column, dtype)
            text = column.cast(pl.Utf8) if text is None else text
        exprs.append(text.alias(name))
    return frame.select(exprs)


def write_pool(
    pool: Pool, path: str | os.PathLike[str], fmt: str | None = None, *, names: str = "canonical"
) -> Path:
    """Write ``pool`` to ``path``; the format follows the suffix unless ``fmt`` is given.

    ``names="legacy"`` writes the upper-case column names of JWST/romancal pools
    (FILENAME, OPT_ELEM, ...), which ``read_pool`` maps back.
    """
    from roman_asn.pool.formats import format_for_path

    target = Path(path)
    kind = format_for_path(target, fmt)
    if names not in NAMES:
        raise PoolError(f"unknown column naming {names!r} (choose from {', '.join(NAMES)})")
    if names == "legacy":
        renamed = {c: LEGACY_NAMES.get(c, c.upper()) for c in pool.columns}
        pool = dataclasses.replace(pool, table=pool.table.rename(renamed))
    kind.write(pool, target)
    return target


# polars's own row group: pyarrow's default (1M rows) made a 1M-row pool read back
# 1.5x slower, in fewer parallel pieces
ROW_GROUP_ROWS = 512 * 512


def write_parquet(pool: Pool, target: Path) -> None:
    with atomic_path(target) as tmp:
        write_parquet_file(pool.table.drop(ROW_COLUMN, strict=False), tmp, compression="zstd")


def write_parquet_file(
    frame: pl.DataFrame, path: Path, *, compression: str, statistics: bool = True
) -> None:
    """``frame`` as Parquet at ``path`` through pyarrow, whose I/O failures (a full disk)
    are OSError: polars's ``write_parquet`` reports them as a ComputeError ("Invalid
    thrift: transport error"), which no caller takes for a failed write."""
    import pyarrow.parquet as pq

    pq.write_table(
        frame.to_arrow(),
        path,
        compression=compression,
        write_statistics=statistics,
        row_group_size=ROW_GROUP_ROWS,
    )


def write_ecsv_pool(pool: Pool, target: Path) -> None:
    write_ecsv(_with_candidates_as_text(pool.table.drop(ROW_COLUMN, strict=False)), target)


def write_legacy(pool: Pool, target: Path) -> None:
    frame = _text_frame(pool)
    for name in frame.columns:
        # one line a row, '|' between fields: a value holding either could not be read back
        bad = frame[name].str.contains(r"[|\n\r]")
        if bad.any():
            value = frame[name][int(bad.arg_true()[0])]
            what = "'|'" if "|" in value else "a line break"
            raise PoolError(
                f"a value contains {what} ({value[:60]!r}), which the legacy pool format "
                "cannot hold; write .parquet or .ecsv instead",
                path=str(target),
                column=name,
            )
    with atomic_open(target, "w", encoding="utf-8", newline="\n") as handle:
        handle.write("|".join(frame.columns) + "\n")
        body = frame.fill_null("NULL").write_csv(
            separator="|", include_header=False, quote_style="never"
        )
        handle.write(body)


def write_csv(pool: Pool, target: Path) -> None:
    with atomic_open(target, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(_text_frame(pool).write_csv(null_value=""))


def to_astropy(pool: Pool) -> Table:
    from astropy.table import MaskedColumn, Table

    frame = _with_candidates_as_text(pool.table.drop(ROW_COLUMN, strict=False))
    table = Table()
    for name in frame.columns:
        series = frame[name]
        mask = series.is_null().to_numpy()
        if series.dtype == pl.Utf8:
            values = series.fill_null("").to_numpy().astype(str)
        elif series.dtype == pl.Boolean:
            values = series.fill_null(False).to_numpy()
        elif series.dtype.is_numeric():
            values = series.fill_null(0).to_numpy()
        else:
            values = series.cast(pl.Utf8).fill_null("").to_numpy().astype(str)
        table[name] = MaskedColumn(values, mask=mask) if mask.any() else values
    return table
