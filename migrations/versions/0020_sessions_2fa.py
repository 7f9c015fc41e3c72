"""0020_sessions_2fa (issue 14: Security)

Sessions with absolute and idle lifetimes, two-factor login (TOTP, recovery codes).

Revision ID: 0020_sessions_2fa
Revises: 0019_eligibility_time
"""
from alembic import op
import sqlalchemy as sa


revision = '0020_sessions_2fa'
down_revision = '0019_eligibility_time'
branch_labels = None
depends_on = None


def upgrade():
    # Sessions from before this change had no lifetime: they end now (everyone logs in again).
    op.execute("DELETE FROM user_session")
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False))
        batch_op.add_column(sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False))
        batch_op.add_column(sa.Column('user_agent', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('second_factor', sa.Boolean(), server_default='0', nullable=False))
        batch_op.create_index(batch_op.f('ix_user_session_expires_at'), ['expires_at'], unique=False)
    op.create_table(
        'two_factor',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('secret_sealed', sa.String(length=255), nullable=False),
        sa.Column('enabled_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_step', sa.BigInteger(), server_default='0', nullable=False),
        sa.Column('failures', sa.Integer(), server_default='0', nullable=False),
        sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_two_factor_user_id_user_account'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_two_factor')),
    )
    op.create_table(
        'recovery_code',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_recovery_code_user_id_user_account'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_code')),
        sa.UniqueConstraint('user_id', 'code_hash', name=op.f('uq_recovery_code_user_id')),
    )
    with op.batch_alter_table('recovery_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recovery_code_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('recovery_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recovery_code_user_id'))
    op.drop_table('recovery_code')
    op.drop_table('two_factor')
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_session_expires_at'))
        batch_op.drop_column('second_factor')
        batch_op.drop_column('user_agent')
        batch_op.drop_column('last_seen_at')
        batch_op.drop_column('expires_at')
