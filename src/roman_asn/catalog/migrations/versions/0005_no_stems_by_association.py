"""Member intervals are no longer looked up by association: an ingest takes the open ones
from the version before (the stems of its members), so their index on ``asn_pk`` (a
tenth of a catalog, and a secondary B-tree every member of every version went into) goes.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_member_stems_asn", table_name="member_stems")


def downgrade() -> None:
    op.create_index("ix_member_stems_asn", "member_stems", ["asn_pk"])
