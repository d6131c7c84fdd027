"""The sky index: sky-cell centres, for cone searches.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cells",
        sa.Column("name", sa.String(16), primary_key=True),
        sa.Column("ra", sa.Float, nullable=False),
        sa.Column("dec", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("cells")
