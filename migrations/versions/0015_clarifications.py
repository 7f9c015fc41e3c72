"""0015_clarifications (issue 13: Communication)

Clarification requests on submitted applications and their answers (addenda with their own SHA-256)

Revision ID: 0015_clarifications
Revises: 0014_channel_fixes
"""
import sqlalchemy as sa
from alembic import op

revision = '0015_clarifications'
down_revision = '0014_channel_fixes'
branch_labels = None
depends_on = None


def _fk(table, column, target, ondelete):
    return sa.ForeignKeyConstraint([column], [f'{target}.id'], name=op.f(f'fk_{table}_{column}_{target}'),
                                   ondelete=ondelete)


def upgrade():
    op.create_table('clarification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('reply_by', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=10), server_default='open', nullable=False),
    sa.Column('asked_by_id', sa.Integer(), nullable=True),
    sa.Column('asked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('open', 'answered', 'closed')", name=op.f('ck_clarification_status')),
    _fk('clarification', 'application_id', 'application', 'CASCADE'),
    _fk('clarification', 'asked_by_id', 'user_account', 'SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clarification'))
    )
    with op.batch_alter_table('clarification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_clarification_application_id'), ['application_id'], unique=False)

    op.create_table('clarification_reply',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('clarification_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('by_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    _fk('clarification_reply', 'clarification_id', 'clarification', 'CASCADE'),
    _fk('clarification_reply', 'by_id', 'user_account', 'SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clarification_reply'))
    )
    with op.batch_alter_table('clarification_reply', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_clarification_reply_clarification_id'), ['clarification_id'], unique=False)

    op.create_table('clarification_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reply_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('path', sa.String(length=300), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    _fk('clarification_file', 'reply_id', 'clarification_reply', 'CASCADE'),
    _fk('clarification_file', 'uploaded_by_id', 'user_account', 'SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clarification_file'))
    )
    with op.batch_alter_table('clarification_file', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_clarification_file_reply_id'), ['reply_id'], unique=False)


def downgrade():
    op.drop_table('clarification_file')
    op.drop_table('clarification_reply')
    op.drop_table('clarification')
