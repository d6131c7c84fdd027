"""Group memberships as blocks of ids: ``group_files`` (a group's files) and
``file_groups`` (a file's groups) replace ``group_rows`` and its index, one row per
(group, file) pair. A day's ingest wrote 715k such pairs into two B-trees at 1M rows;
it now writes a block per group and per file it touches. The pairs are carried over
a range of ids at a time (a 1M-row catalog holds 50M of them).

Revision ID: 0006
Revises: 0005
"""

import numpy as np
import polars as pl
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

IDS = np.dtype("<i8")  # the block format of this revision: little-endian, ascending
# owner ids carried over at a time: a group holds ~10 files, a file is in ~50 groups
GROUPS_AT_A_TIME, FILES_AT_A_TIME = 500_000, 100_000


def _blocks(pairs: pl.DataFrame, owner: str, member: str) -> pl.DataFrame:
    ordered = pairs.sort(owner, member)
    owners = ordered[owner].to_numpy()
    members = ordered[member].to_numpy().astype(IDS)
    starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
    ends = np.r_[starts[1:], len(owners)]
    buffer, size = members.tobytes(), IDS.itemsize
    return pl.DataFrame(
        {
            "owner": owners[starts],
            "first": members[starts].astype(np.int64),
            "block": pl.Series(
                [buffer[a * size : b * size] for a, b in zip(starts, ends, strict=True)],
                dtype=pl.Binary,
            ),
        }
    )


def _carry(bind, owner: str, member: str, target: sa.Table, step: int) -> None:
    from roman_asn.catalog.store import bulk_insert, fetch_all

    top = bind.execute(sa.text(f"SELECT max({owner}) FROM group_rows")).scalar() or 0
    for low in range(0, top + 1, step):
        rows = fetch_all(
            bind,
            sa.text(
                f"SELECT {owner}, {member} FROM group_rows"
                f" WHERE {owner} >= :low AND {owner} < :high"
            ).bindparams(low=low, high=low + step),
        )
        if rows:
            pairs = pl.DataFrame(rows, schema=[owner, member], orient="row")
            blocks = _blocks(pairs, owner, member)
            bulk_insert(
                bind, target, blocks.rename(dict(zip(blocks.columns, target.c.keys(), strict=True)))
            )


def _create(name: str, owner: str, first: str, block: str) -> sa.Table:
    return op.create_table(
        name,
        sa.Column(owner, sa.BigInteger, primary_key=True),
        sa.Column(first, sa.BigInteger, primary_key=True),
        sa.Column(block, sa.LargeBinary, nullable=False),
        sqlite_with_rowid=False,
    )


def upgrade() -> None:
    group_files = _create("group_files", "group_id", "first_file", "files")
    file_groups = _create("file_groups", "file_id", "first_group", "groups")
    bind = op.get_bind()
    _carry(bind, "group_id", "file_id", group_files, GROUPS_AT_A_TIME)
    _carry(bind, "file_id", "group_id", file_groups, FILES_AT_A_TIME)
    op.drop_index("ix_group_rows_file", table_name="group_rows")
    op.drop_table("group_rows")


def downgrade() -> None:
    op.create_table(
        "group_rows",
        sa.Column("group_id", sa.BigInteger, primary_key=True),
        sa.Column("file_id", sa.BigInteger, primary_key=True),
        sqlite_with_rowid=False,
    )
    bind = op.get_bind()
    for group_id, _, block in bind.execute(sa.text("SELECT * FROM group_files")).all():
        files = np.frombuffer(block, dtype=IDS).tolist()
        bind.execute(
            sa.text("INSERT INTO group_rows (group_id, file_id) VALUES (:g, :f)"),
            [{"g": group_id, "f": f} for f in files],
        )
    op.create_index("ix_group_rows_file", "group_rows", ["file_id"])
    op.drop_table("file_groups")
    op.drop_table("group_files")
