"""Member intervals as blocks: ``member_stem_blocks`` replaces ``member_stems``, one
row per (stem, association, interval). A new file is a member of ~28 associations, so
a day wrote 390k such rows at 1M rows (the most of any table); it now writes a block
per stem it gives members to. The intervals are carried over a key range at a time (a
1M-row catalog holds 28M of them).

Revision ID: 0009
Revises: 0008
"""

import numpy as np
import polars as pl
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# the block format of this revision (stem_blocks.ENTRY when it was made): removed 0 is held
ENTRY = np.dtype([("asn_pk", "<i8"), ("added", "<i4"), ("removed", "<i4")])
AT_A_TIME = 1_000_000  # intervals carried at a time


def _blocks(intervals: pl.DataFrame) -> pl.DataFrame:
    """Sorted (stem, asn_pk, added, removed) intervals as one block per stem."""
    entries = np.empty(intervals.height, ENTRY)
    for name in ENTRY.names:
        entries[name] = intervals[name].fill_null(0).to_numpy()
    stems = intervals["stem"]
    starts = np.flatnonzero((stems != stems.shift(1)).fill_null(True).to_numpy())
    ends = np.r_[starts[1:], intervals.height] * ENTRY.itemsize
    buffer = entries.tobytes()
    cuts = zip((starts * ENTRY.itemsize).tolist(), ends.tolist(), strict=True)
    return pl.DataFrame(
        {
            "stem": stems.gather(starts),
            "first_asn": entries["asn_pk"][starts].astype(np.int64),
            "first_added": entries["added"][starts].astype(np.int64),
            "entries": pl.Series([buffer[a:b] for a, b in cuts], dtype=pl.Binary),
        }
    )


def _carry(bind, target: sa.Table, at_a_time: int = AT_A_TIME) -> None:
    """Carry ``member_stems`` into ``target`` in key order, ``at_a_time`` intervals at a
    time (a stem cut between two of them gets two blocks, each keyed by its first)."""
    from roman_asn.catalog.store import bulk_insert, fetch_all

    after = None  # the key carried last
    while True:
        where = "" if after is None else "WHERE (stem, asn_pk, added) > (:s, :a, :d)"
        query = sa.text(
            f"SELECT stem, asn_pk, added, removed FROM member_stems {where}"
            " ORDER BY stem, asn_pk, added LIMIT :n"
        )
        values = {"n": at_a_time} | (
            {} if after is None else {"s": after[0], "a": after[1], "d": after[2]}
        )
        rows = fetch_all(bind, query.bindparams(**values))
        if not rows:
            return
        intervals = pl.DataFrame(
            rows,
            schema={"stem": pl.Utf8, "asn_pk": pl.Int64, "added": pl.Int64, "removed": pl.Int64},
            orient="row",
        )
        bulk_insert(bind, target, _blocks(intervals))
        after = rows[-1][:3]


def upgrade() -> None:
    target = op.create_table(
        "member_stem_blocks",
        sa.Column("stem", sa.Text, primary_key=True),
        sa.Column("first_asn", sa.BigInteger, primary_key=True),
        sa.Column("first_added", sa.Integer, primary_key=True),
        sa.Column("entries", sa.LargeBinary, nullable=False),
        sqlite_with_rowid=False,
    )
    _carry(op.get_bind(), target)
    op.drop_table("member_stems")


def downgrade() -> None:
    from roman_asn.catalog.store import bulk_insert, fetch_all

    target = op.create_table(
        "member_stems",
        sa.Column("stem", sa.Text, primary_key=True),
        sa.Column("asn_pk", sa.Integer, sa.ForeignKey("associations.asn_pk"), primary_key=True),
        sa.Column("added", sa.Integer, primary_key=True),
        sa.Column("removed", sa.Integer),
        sqlite_with_rowid=False,
    )
    bind = op.get_bind()
    rows = fetch_all(bind, sa.text("SELECT stem, entries FROM member_stem_blocks"))
    if rows:
        arrays = [np.frombuffer(block, ENTRY) for _, block in rows]
        entries = np.concatenate(arrays)
        intervals = pl.DataFrame(
            {
                "stem": pl.Series([s for s, _ in rows])[
                    np.repeat(np.arange(len(rows)), [len(a) for a in arrays])
                ],
                "asn_pk": entries["asn_pk"].astype(np.int64),
                "added": entries["added"].astype(np.int64),
                "removed": entries["removed"].astype(np.int64),
            }
        ).with_columns(pl.col("removed").replace(0, None))
        bulk_insert(bind, target, intervals)
    op.drop_table("member_stem_blocks")
