"""An index on product names: a new association whose product is named like a current
one's takes a -N (two products of one name would be written over each other), which
without it reads the whole associations table for each day's new associations.

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_associations_product", "associations", ["product_name"])


def downgrade() -> None:
    op.drop_index("ix_associations_product", table_name="associations")
