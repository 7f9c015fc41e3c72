"""0023_security_findings (issue 14: Security)

API tokens remember whether a TOTP code was given for them: a role that requires two-factor
login is served only by such a token (earlier tokens of managers and admins stop working).

Revision ID: 0023_security_findings
Revises: 0022_personal_data
"""
from alembic import op
import sqlalchemy as sa


revision = '0023_security_findings'
down_revision = '0022_personal_data'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('second_factor', sa.Boolean(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_column('second_factor')
