"""0022_personal_data (issue 14: Security)

Personal data: anonymised accounts, retention.

Revision ID: 0022_personal_data
Revises: 0021_user_admin
"""
from alembic import op
import sqlalchemy as sa


revision = '0022_personal_data'
down_revision = '0021_user_admin'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('anonymised_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('anonymised_at')
