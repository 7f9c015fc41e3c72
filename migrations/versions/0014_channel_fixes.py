"""0014_channel_fixes (issue 12: Reach, review of the channels)

The site's daily count of verification SMS (an index), Telegram update ids already handled (a replayed delivery does nothing), and the notice that the
chat was unlinked because the person blocked the bot.

Revision ID: 0014_channel_fixes
Revises: 0013_channels
"""
from alembic import op
import sqlalchemy as sa


revision = '0014_channel_fixes'
down_revision = '0013_channels'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('phone_code', schema=None) as batch_op:
        batch_op.create_index('ix_phone_code_created', ['created_at'], unique=False)

    op.create_table('telegram_update',
    sa.Column('update_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('update_id', name=op.f('pk_telegram_update'))
    )
    with op.batch_alter_table('telegram_update', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_telegram_update_received_at'), ['received_at'], unique=False)

    op.create_table('telegram_blocked',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('blocked_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_telegram_blocked_user_id_user_account'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_telegram_blocked')),
    sa.UniqueConstraint('user_id', name=op.f('uq_telegram_blocked_user_id'))
    )


def downgrade():
    op.drop_table('telegram_blocked')
    with op.batch_alter_table('telegram_update', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_telegram_update_received_at'))
    op.drop_table('telegram_update')
    with op.batch_alter_table('phone_code', schema=None) as batch_op:
        batch_op.drop_index('ix_phone_code_created')
