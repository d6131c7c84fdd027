"""The first catalog schema: runs, exposures, groups, associations, versions, member_stems,
processing, counters, settings.

Revision ID: 0001
Revises:
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Tables as first released. They are taken from schema.py, less what later revisions
# added (LATER_INDEXES); a revision that alters a table must first freeze it here.
TABLES = (
    "runs",
    "exposures",
    "groups",
    "associations",
    "processing",
    "counters",
    "settings",
)
FROZEN_TABLES = ("member_stems", "versions")  # 0009 replaced, 0007 altered: frozen below
LATER_INDEXES = {"ix_associations_retired", "ix_associations_product"}  # 0003, 0008
KEY_COLUMNS = ("groups", "associations")  # group_key was String(40) until 0004
DROPPED_INDEXES = {"ix_member_stems_asn": ("member_stems", "asn_pk")}  # 0005
DROPPED_TABLES = ("group_rows",)  # 0006: frozen below


def upgrade() -> None:
    from sqlalchemy import (
        BigInteger,
        Boolean,
        Column,
        ForeignKey,
        Index,
        Integer,
        MetaData,
        String,
        Table,
        Text,
    )

    from roman_asn.catalog.schema import metadata

    frozen = MetaData()
    Table(
        "group_rows",
        frozen,
        Column("group_id", BigInteger, primary_key=True),
        Column("file_id", BigInteger, primary_key=True),
        Index("ix_group_rows_file", "file_id"),
        sqlite_with_rowid=False,
    )
    Table(  # as first released: schema.py's, less the columns of 0007, written out
        "versions",  # so that this revision never follows later changes of the model
        frozen,
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
        Column("members", Text, nullable=False),
    )
    Table(  # as first released; 0009 made it blocks (member_stem_blocks)
        "member_stems",
        frozen,
        Column("stem", Text, primary_key=True),
        Column("asn_pk", Integer, ForeignKey("associations.asn_pk"), primary_key=True),
        Column("added", Integer, primary_key=True),
        Column("removed", Integer),
        sqlite_with_rowid=False,
    )
    for name in TABLES:
        table = metadata.tables[name].to_metadata(frozen)
        table.indexes = {i for i in table.indexes if i.name not in LATER_INDEXES}
        if name in KEY_COLUMNS:
            table.c.group_key.type = String(40)
    for index, (name, column) in DROPPED_INDEXES.items():
        Index(index, frozen.tables[name].c[column])
    frozen.create_all(op.get_bind())


def downgrade() -> None:
    for name in (*FROZEN_TABLES, *reversed(TABLES), *DROPPED_TABLES):
        op.drop_table(name)
