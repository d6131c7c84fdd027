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

# Tables as first released. They are taken from schema.py, which is safe while no later
# revision alters them: a revision that does must first freeze these definitions here.
TABLES = (
    "runs",
    "exposures",
    "groups",
    "group_rows",
    "associations",
    "versions",
    "member_stems",
    "processing",
    "counters",
    "settings",
)


def upgrade() -> None:
    from sqlalchemy import MetaData

    from roman_asn.catalog.schema import metadata

    frozen = MetaData()
    for name in TABLES:
        metadata.tables[name].to_metadata(frozen)
    frozen.create_all(op.get_bind())


def downgrade() -> None:
    for name in reversed(TABLES):
        op.drop_table(name)
