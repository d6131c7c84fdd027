"""Which associations held a member, by stem, from which version to which.

A stem's intervals are kept as blocks of entries (``ENTRY``: the association, the first
version holding the member, the first without it or 0 while it is held), one block per
stem and write, keyed by the stem and its first entry. A day adds a block to each stem
it gives members to, where a row per (stem, association) pair was 390k rows a day at
1M rows (a new file is a member of ~28 associations); a first load writes a tenth of
the rows it wrote. An interval that closes is changed in its block, written again.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from roman_asn.catalog import schema as t
from roman_asn.catalog.store import batched, bulk_insert, cut_blocks, fetch_all, is_in

ENTRY = np.dtype([("asn_pk", "<i8"), ("added", "<i4"), ("removed", "<i4")])
HELD = 0  # ``removed`` of an interval still open

INTERVALS = {
    "stem": pl.Utf8,
    "first_asn": pl.Int64,
    "first_added": pl.Int64,
    "asn_pk": pl.Int64,
    "added": pl.Int64,
    "removed": pl.Int64,
}
BLOCKS = {"stem": pl.Utf8, "first_asn": pl.Int64, "first_added": pl.Int64, "entries": pl.Binary}


def blocks(intervals: pl.DataFrame, by: tuple[str, ...] = ("stem",)) -> pl.DataFrame:
    """(stem, asn_pk, added[, removed]) intervals as rows of ``member_stem_blocks``: a
    block per value of ``by`` (a stem, or a stored block's key to write it again),
    entries in (asn_pk, added) order, its key the first entry's."""
    if "removed" not in intervals.columns:
        intervals = intervals.with_columns(pl.lit(HELD, dtype=pl.Int64).alias("removed"))
    ordered = intervals.sort(*by, "asn_pk", "added")
    if ordered.height == 0:
        return pl.DataFrame(schema=BLOCKS)
    entries = np.empty(ordered.height, ENTRY)
    for name in ENTRY.names:
        entries[name] = ordered[name].fill_null(HELD).to_numpy()
    begins = pl.any_horizontal(pl.col(c).ne_missing(pl.col(c).shift(1)) for c in by)
    starts = np.flatnonzero(ordered.select(begins.fill_null(True)).to_series().to_numpy())
    return pl.DataFrame(
        {
            "stem": ordered["stem"].gather(starts),
            "first_asn": entries["asn_pk"][starts].astype(np.int64),
            "first_added": entries["added"][starts].astype(np.int64),
            "entries": cut_blocks(entries, starts),
        },
        schema=BLOCKS,
    )


def intervals_of(rows: list[tuple]) -> pl.DataFrame:
    """Blocks (stem, first_asn, first_added, entries) as one interval a row, each with
    its block's key."""
    if not rows:
        return pl.DataFrame(schema=INTERVALS)
    arrays = [np.frombuffer(block, ENTRY) for *_, block in rows]
    which = np.repeat(np.arange(len(rows)), [len(a) for a in arrays])
    keys = pl.DataFrame(
        [row[:3] for row in rows],
        schema={"stem": pl.Utf8, "first_asn": pl.Int64, "first_added": pl.Int64},
        orient="row",
    )[which]
    entries = np.concatenate(arrays)
    return keys.with_columns(
        pl.Series("asn_pk", entries["asn_pk"].astype(np.int64)),
        pl.Series("added", entries["added"].astype(np.int64)),
        pl.Series("removed", entries["removed"].astype(np.int64)),
    )


def read(connection: Connection, stems: Iterable[str]) -> pl.DataFrame:
    """Every interval of these stems (``INTERVALS``), by the table's key."""
    b = t.member_stem_blocks
    rows: list[tuple] = []
    for chunk in batched(sorted(set(stems))):
        rows += fetch_all(
            connection,
            sa.select(b.c.stem, b.c.first_asn, b.c.first_added, b.c.entries).where(
                is_in(connection, b.c.stem, chunk)
            ),
        )
    return intervals_of(rows)


def open_intervals(connection: Connection, intervals: pl.DataFrame) -> None:
    """Write new intervals (stem, asn_pk, added), held from ``added`` on."""
    bulk_insert(connection, t.member_stem_blocks, blocks(intervals))


def close_intervals(connection: Connection, closing: pl.DataFrame) -> None:
    """End the open intervals of (stem, asn_pk) pairs at version ``removed``: the blocks
    holding them are written again, under the same keys."""
    if closing.height == 0:
        return
    stored = read(connection, closing["stem"].unique().to_list())
    ends = closing.select("stem", "asn_pk", pl.col("removed").alias("ends"))
    closes = (pl.col("removed") == HELD) & pl.col("ends").is_not_null()
    marked = stored.join(ends, on=["stem", "asn_pk"], how="left").with_columns(
        pl.when(closes).then(pl.col("ends")).otherwise(pl.col("removed")).alias("removed"),
        closes.alias("closes"),
    )
    key = ("stem", "first_asn", "first_added")
    changed = marked.join(marked.filter("closes").select(key).unique(), on=key, how="semi")
    if changed.height == 0:
        return
    b = t.member_stem_blocks.c
    connection.execute(
        t.member_stem_blocks.update()
        .where(
            (b.stem == sa.bindparam("s"))
            & (b.first_asn == sa.bindparam("a"))
            & (b.first_added == sa.bindparam("d"))
        )
        .values(entries=sa.bindparam("e")),
        # a block's first entry stays first (only ends change): the same key
        [{"s": s, "a": a, "d": d, "e": e} for s, a, d, e in blocks(changed, key).iter_rows()],
    )
