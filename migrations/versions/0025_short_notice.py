"""0025_short_notice (issue 16: Programme calls, lead time)

A call published with less than MIN_LEAD_DAYS before its deadline keeps the manager's reason,
shown on the public page, in the API and in the announcement.

Revision ID: 0025_short_notice
Revises: 0024_stored_scores
"""

import sqlalchemy as sa
from alembic import op

revision = "0025_short_notice"
down_revision = "0024_stored_scores"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("call", schema=None) as batch_op:
        batch_op.add_column(sa.Column("short_notice_reason", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("call", schema=None) as batch_op:
        batch_op.drop_column("short_notice_reason")
