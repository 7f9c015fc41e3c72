"""0017_message_log (issue 13: Communication)

One outbound log for every message: a message rendered when its event happened (receipt,
decision, invitation, password reset, award letter…) is a notification row too, written in the
same transaction as its event and sent through the same exactly-once claim as alerts; the row
keeps what is sent (`payload`) and its subject.

Revision ID: 0017_message_log
Revises: 0016_call_questions
"""
from alembic import op
import sqlalchemy as sa


revision = '0017_message_log'
down_revision = '0016_call_questions'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payload', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('subject', sa.String(length=300), nullable=True))


def downgrade():
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_column('subject')
        batch_op.drop_column('payload')
