"""0018_broadcasts (issue 13: Communication)

Broadcasts: a manager's message to a segment of people, sent once per form (unique client_token)

Revision ID: 0018_broadcasts
Revises: 0017_message_log
"""
import sqlalchemy as sa
from alembic import op

revision = '0018_broadcasts'
down_revision = '0017_message_log'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('broadcast',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_token', sa.String(length=64), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=True),
    sa.Column('segment', sa.String(length=20), nullable=False),
    sa.Column('subject', sa.JSON(), nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_count', sa.Integer(), server_default='0', nullable=False),
    sa.CheckConstraint("segment IN ('applicants', 'drafts', 'grantees', 'reviewers')", name=op.f('ck_broadcast_segment')),
    sa.ForeignKeyConstraint(['call_id'], ['call.id'], name=op.f('fk_broadcast_call_id_call'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_broadcast_created_by_id_user_account'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_broadcast')),
    sa.UniqueConstraint('client_token', name=op.f('uq_broadcast_client_token'))
    )
    with op.batch_alter_table('broadcast', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_broadcast_call_id'), ['call_id'], unique=False)


def downgrade():
    with op.batch_alter_table('broadcast', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_broadcast_call_id'))
    op.drop_table('broadcast')
