"""An index on when associations were retired: ``catalog changes`` looks up the
retirements after a run, which without it reads the whole associations table.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    where = sa.text("retired_run IS NOT NULL")  # as in schema.py
    op.create_index(
        "ix_associations_retired",
        "associations",
        ["retired_run"],
        sqlite_where=where,
        postgresql_where=where,
    )


def downgrade() -> None:
    op.drop_index("ix_associations_retired", table_name="associations")
