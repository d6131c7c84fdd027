"""Group keys in the order of time (``ingest.GroupKeys``): longer keys, and new catalogs
say so in ``settings``. A catalog that already holds groups keeps its hashed keys (a
group's key cannot be made again without its identity text, which dropped groups do
not store), so it stays exactly as correct, only its key indexes take more writes.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":  # SQLite does not enforce lengths
        for table in ("groups", "associations"):
            op.alter_column(table, "group_key", type_=sa.String(80), existing_type=sa.String(40))
    settings = sa.table("settings", sa.column("key"), sa.column("value"))
    groups = sa.table("groups", sa.column("group_id"))
    if bind.execute(sa.select(groups.c.group_id).limit(1)).first() is None:
        op.bulk_insert(settings, [{"key": "group_keys", "value": "ordered"}])


def downgrade() -> None:
    settings = sa.table("settings", sa.column("key"), sa.column("value"))
    groups = sa.table("groups", sa.column("group_id"))
    bind = op.get_bind()
    if bind.execute(sa.select(groups.c.group_id).limit(1)).first() is not None and (
        bind.execute(sa.select(settings.c.value).where(settings.c.key == "group_keys")).first()
    ):
        raise RuntimeError("this catalog's group keys are ordered: it cannot go below 0004")
    op.execute(settings.delete().where(settings.c.key == "group_keys"))
