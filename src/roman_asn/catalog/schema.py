"""The catalog's tables (SQLAlchemy Core), the same on SQLite and PostgreSQL.

- ``runs``: every ingest, withdrawal or processing mark, with its inputs, code
  version, rules hash and counts (the provenance of every version).
- ``exposures``: one row per detector file ever ingested, its metadata as JSON
  (sorted keys, nulls left out) and a hash of it; withdrawn files are kept.
- ``groups``, ``group_files`` and ``file_groups``: which catalog files each rule group
  holds now (and which groups each file is in), so an ingest can read back exactly
  the rows of the groups its new rows fall in, as blocks of ids.
- ``associations``: one per group identity, with a permanent name, never deleted
  (``retired_run`` and ``retired_reason`` when it leaves the current set).
- ``versions``: each content change is a new version, holding its member list;
  ``member_stem_blocks`` says from which version to which an association held a member.
- ``processing``: which version of an association was processed, and how it went.
- ``counters`` and ``names``: numbers and names once issued are never issued again.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()
KEY_LENGTH = 80  # group keys (ingest.GroupKeys): at most 71 characters

runs = Table(
    "runs",
    metadata,
    Column("run_id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # ingest, withdraw, mark
    Column("started", String(32), nullable=False),  # ISO 8601 UTC
    Column("finished", String(32)),
    Column("code_version", String(32), nullable=False),
    Column("rules_hash", String(64)),
    Column("inputs", Text, nullable=False),  # JSON list of pool or file names
    Column("counts", Text, nullable=False),  # JSON object
)

exposures = Table(
    "exposures",
    metadata,
    Column("file_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("filename", Text, nullable=False, unique=True),
    Column("program", Integer),
    Column("start_time", String(40)),
    Column("data", Text, nullable=False),  # the pool row, JSON
    Column("row_hash", String(40), nullable=False),
    Column("withdrawn", Boolean, nullable=False, default=False),
    Column("first_run", Integer, ForeignKey("runs.run_id"), nullable=False),
    Column("last_run", Integer, ForeignKey("runs.run_id"), nullable=False),
)

groups = Table(
    "groups",
    metadata,
    # every group ever made (written or dropped), numbered: membership blocks hold integers
    Column("group_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("group_key", String(KEY_LENGTH), nullable=False, unique=True),
)


# A group's files, and a file's groups, as blocks of sorted ids (``ingest.ID_BLOCK``):
# a day adds one block to each group it touches and one to each of its files, where a
# row per (group, file) pair was 715k rows a day into two B-trees at 1M rows. A block's
# key is its smallest id (a pair is in one block only); a file that changes or leaves
# is taken out of its groups' blocks, which are written again as one.
def _id_blocks(name: str, owner: str, first: str, block: str) -> Table:
    return Table(
        name,
        metadata,
        Column(owner, BigInteger, primary_key=True),
        Column(first, BigInteger, primary_key=True),
        Column(block, LargeBinary, nullable=False),
        sqlite_with_rowid=False,  # the key is the table: one B-tree, not two
    )


group_files = _id_blocks("group_files", "group_id", "first_file", "files")
file_groups = _id_blocks("file_groups", "file_id", "first_group", "groups")

associations = Table(
    "associations",
    metadata,
    Column("asn_pk", Integer, primary_key=True, autoincrement=True),
    Column("group_key", String(KEY_LENGTH), nullable=False, unique=True),
    Column("group_text", Text, nullable=False),
    Column("name", Text, nullable=False, unique=True),  # file name without _asn.json
    Column("file_name", Text, nullable=False),  # name + "_asn.json"
    Column("product_name", Text, nullable=False),
    Column("rule", Text, nullable=False),
    Column("rule_order", Integer, nullable=False),
    Column("level", Integer, nullable=False),
    Column("asn_type", Text, nullable=False),
    Column("program", Integer, nullable=False),
    Column("asn_id", String(32), nullable=False),
    Column("discovered", Boolean, nullable=False),
    Column("skycell", String(16)),
    Column("current_version", Integer, nullable=False),
    Column("created_run", Integer, ForeignKey("runs.run_id"), nullable=False),
    Column("retired_run", Integer, ForeignKey("runs.run_id")),
    Column("retired_reason", Text),
    Index("ix_associations_skycell", "skycell"),
    Index("ix_associations_product", "product_name"),  # products of one name: -N
    # partial: only retirements are looked up by run, and a full index on a mostly-null
    # column would tempt the planner for "retired_run IS NULL"
    Index(
        "ix_associations_retired",
        "retired_run",
        sqlite_where=sa.text("retired_run IS NOT NULL"),
        postgresql_where=sa.text("retired_run IS NOT NULL"),
    ),
)

versions = Table(
    "versions",
    metadata,
    Column("asn_pk", Integer, ForeignKey("associations.asn_pk"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("run_id", Integer, ForeignKey("runs.run_id"), nullable=False),
    Column("content_hash", String(40), nullable=False),
    Index("ix_versions_run", "run_id"),
    Column("asn_pool", Text, nullable=False),
    Column("target", Text),
    Column("constraints", Text, nullable=False),
    Column("exptype", String(32), nullable=False),
    Column("degraded", Boolean, nullable=False),
    Column("n_members", Integer, nullable=False),
    Column("members", Text, nullable=False),  # JSON [[expname, exposerr], ...] in file order
    # the run that retired this version and why: a revival clears the association's
    # retirement, and the history keeps it here (0007)
    Column("retired_run", Integer),
    Column("retired_reason", Text),
)

member_stem_blocks = Table(
    "member_stem_blocks",
    metadata,
    # which associations held a member (by stem), from which version to which: find a
    # file in any version, and the consumers of a product, without reading member lists.
    # Blocks of (asn_pk, added, removed) entries (``stem_blocks``), one per stem and
    # write, keyed by the stem and the block's first entry (an entry is in one block)
    Column("stem", Text, primary_key=True),  # expname without _<suffix>.<ext>
    Column("first_asn", BigInteger, primary_key=True),
    Column("first_added", Integer, primary_key=True),
    Column("entries", LargeBinary, nullable=False),
    sqlite_with_rowid=False,
)

processing = Table(
    "processing",
    metadata,
    Column("asn_pk", Integer, ForeignKey("associations.asn_pk"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("run_id", Integer, ForeignKey("runs.run_id"), nullable=False),
    Column("status", String(16), nullable=False),  # processed, failed
    Column("product_path", Text),
    Index("ix_processing_asn", "asn_pk", "version"),
)

counters = Table(
    "counters",
    metadata,
    Column("counter", Text, primary_key=True),  # e.g. "discovered 1", "seq 1 o001 image"
    Column("value", Integer, nullable=False),
)

cells = Table(
    "cells",
    metadata,
    Column("name", String(16), primary_key=True),
    Column("ra", Float, nullable=False),
    Column("dec", Float, nullable=False),
)

settings = Table(
    "settings",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    UniqueConstraint("key"),
)


# Secondary indexes a first (bulk) ingest drops and builds again at the end: building
# an index by one sort is several times faster than inserting millions of rows into it.
BULK_INDEXES = (
    "ix_associations_skycell",
    "ix_associations_retired",
)
