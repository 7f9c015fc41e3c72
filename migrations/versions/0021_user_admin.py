"""0021_user_admin (issue 14: Security)

User administration: last login, email change.

`last_login_at` is set at each sign-in; `search_text` holds the name and email folded and in
Latin (grants.core.search, as organizations have), for the admin's user search; an email change
is a single-use account token (purpose `change_email`) carrying the new address, which applies
only when the link sent to that address is opened.

Revision ID: 0021_user_admin
Revises: 0020_sessions_2fa
"""
from alembic import op
import sqlalchemy as sa


revision = '0021_user_admin'
down_revision = '0020_sessions_2fa'
branch_labels = None
depends_on = None

BATCH = 500


def upgrade():
    from grants.core.search import search_key

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('search_text', sa.Text(), server_default='', nullable=False))
    with op.batch_alter_table('account_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('new_email', sa.String(length=254), nullable=True))

    # The last sign-in is not known from before; the person's last act in the audit log or last API
    # token stands for it, so the retention job never mistakes an active person for a gone one.
    op.execute(
        "UPDATE user_account SET last_login_at = (SELECT max(moment) FROM ("
        " SELECT max(created_at) AS moment FROM audit_event WHERE audit_event.actor_id = user_account.id"
        " UNION ALL SELECT max(created_at) FROM api_token WHERE api_token.user_id = user_account.id) AS acts)"
    )
    user = sa.table('user_account', sa.column('id', sa.Integer), sa.column('name', sa.String),
                    sa.column('email', sa.String), sa.column('search_text', sa.Text))
    connection = op.get_bind()
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(user.c.id, user.c.name, user.c.email).where(user.c.id > last_id).order_by(user.c.id).limit(BATCH)
        ).all()
        if not rows:
            break
        connection.execute(
            user.update().where(user.c.id == sa.bindparam('row_id')).values(search_text=sa.bindparam('text')),
            [{'row_id': row.id, 'text': search_key(row.name, row.email)} for row in rows],
        )
        last_id = rows[-1].id


def downgrade():
    with op.batch_alter_table('account_token', schema=None) as batch_op:
        batch_op.drop_column('new_email')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('search_text')
        batch_op.drop_column('last_login_at')
