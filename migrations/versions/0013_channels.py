"""0013_channels (issue 12: Reach)

Telegram and SMS channels: linked chats, verified phones, per-kind channel choices, notification channel

The notification keeps its one unique `key` (the exactly-once claim): email rows keep the keys they
always had, Telegram and SMS rows end in "|telegram" / "|sms", so existing claims still count.

Revision ID: 0013_channels
Revises: 0012_search_text
"""
from alembic import op
import sqlalchemy as sa


revision = '0013_channels'
down_revision = '0012_search_text'
branch_labels = None
depends_on = None


def _user_fk(table):
    return sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f(f'fk_{table}_user_id_user_account'),
                                   ondelete='CASCADE')


def upgrade():
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=10), server_default='email', nullable=False))
        batch_op.add_column(sa.Column('address', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('segments', sa.Integer(), nullable=True))
        batch_op.create_check_constraint('channel', "channel IN ('email', 'telegram', 'sms')")

    op.create_table('telegram_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=True),
    sa.Column('linked_at', sa.DateTime(timezone=True), nullable=False),
    _user_fk('telegram_link'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_telegram_link')),
    sa.UniqueConstraint('chat_id', name=op.f('uq_telegram_link_chat_id')),
    sa.UniqueConstraint('user_id', name=op.f('uq_telegram_link_user_id'))
    )
    op.create_table('telegram_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    _user_fk('telegram_code'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_telegram_code')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_telegram_code_code_hash'))
    )
    with op.batch_alter_table('telegram_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_telegram_code_user_id'), ['user_id'], unique=False)

    op.create_table('phone_number',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('phone', sa.String(length=16), nullable=False),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=False),
    _user_fk('phone_number'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_phone_number')),
    sa.UniqueConstraint('phone', name=op.f('uq_phone_number_phone')),
    sa.UniqueConstraint('user_id', name=op.f('uq_phone_number_user_id'))
    )
    op.create_table('phone_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('phone', sa.String(length=16), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    _user_fk('phone_code'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_phone_code'))
    )
    with op.batch_alter_table('phone_code', schema=None) as batch_op:
        batch_op.create_index('ix_phone_code_phone_created', ['phone', 'created_at'], unique=False)
        batch_op.create_index('ix_phone_code_user_created', ['user_id', 'created_at'], unique=False)

    op.create_table('channel_choice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('email', sa.Boolean(), server_default='1', nullable=False),
    sa.Column('telegram', sa.Boolean(), server_default='0', nullable=False),
    sa.Column('sms', sa.Boolean(), server_default='0', nullable=False),
    _user_fk('channel_choice'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_choice')),
    sa.UniqueConstraint('user_id', 'kind', name='uq_channel_choice_user_kind')
    )


def downgrade():
    op.drop_table('channel_choice')
    with op.batch_alter_table('phone_code', schema=None) as batch_op:
        batch_op.drop_index('ix_phone_code_user_created')
        batch_op.drop_index('ix_phone_code_phone_created')
    op.drop_table('phone_code')
    op.drop_table('phone_number')
    with op.batch_alter_table('telegram_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_telegram_code_user_id'))
    op.drop_table('telegram_code')
    op.drop_table('telegram_link')
    # Telegram and SMS rows go with their channel; the email rows (and their keys) stay.
    op.execute("DELETE FROM notification WHERE channel <> 'email'")
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_notification_channel'), type_='check')
        batch_op.drop_column('segments')
        batch_op.drop_column('address')
        batch_op.drop_column('channel')
