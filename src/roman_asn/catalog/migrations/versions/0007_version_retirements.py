"""A retirement is recorded on the version it ended (``versions.retired_run`` and
``retired_reason``), not only on the association, where a revival clears it: the
history of an association that left the current set and came back says when and why
it left. Carried over from the associations retired now.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("versions", sa.Column("retired_run", sa.Integer))
    op.add_column("versions", sa.Column("retired_reason", sa.Text))
    # the associations retired now, each on its current version
    op.execute(
        "UPDATE versions SET retired_run = a.retired_run, retired_reason = a.retired_reason "
        "FROM associations AS a WHERE a.asn_pk = versions.asn_pk "
        "AND a.current_version = versions.version AND a.retired_run IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("versions") as batch:
        batch.drop_column("retired_reason")
        batch.drop_column("retired_run")
