"""0016_call_questions (issue 13: Communication)

Public questions and answers per call

Revision ID: 0016_call_questions
Revises: 0015_clarifications
"""
from alembic import op
import sqlalchemy as sa


revision = '0016_call_questions'
down_revision = '0015_clarifications'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('call_question',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('asked_by_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('public_text', sa.Text(), server_default='', nullable=False),
    sa.Column('answer', sa.JSON(), nullable=False),
    sa.Column('reason', sa.Text(), server_default='', nullable=False),
    sa.Column('status', sa.String(length=10), server_default='asked', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("status IN ('asked', 'answered', 'rejected')", name=op.f('ck_call_question_status')),
    sa.ForeignKeyConstraint(['call_id'], ['call.id'], name=op.f('fk_call_question_call_id_call'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['asked_by_id'], ['user_account.id'], name=op.f('fk_call_question_asked_by_id_user_account'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['answered_by_id'], ['user_account.id'],
                            name=op.f('fk_call_question_answered_by_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_call_question'))
    )
    with op.batch_alter_table('call_question', schema=None) as batch_op:
        batch_op.create_index('ix_call_question_call_status', ['call_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_call_question_asked_by_id'), ['asked_by_id'], unique=False)


def downgrade():
    with op.batch_alter_table('call_question', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_call_question_asked_by_id'))
        batch_op.drop_index('ix_call_question_call_status')
    op.drop_table('call_question')
