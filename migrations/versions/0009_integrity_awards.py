"""integrity_awards (issue 11: Integrity)

Tranche status (scheduled → payable → paid) and its append-only payment history, an optimistic
version on awards, and the frozen snapshot of what an issued letter states.

Revision ID: 0009_integrity_awards
Revises: 0008_report_files
"""
from alembic import op
import sqlalchemy as sa


revision = '0009_integrity_awards'
down_revision = '0008_report_files'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('award', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))

    with op.batch_alter_table('award_letter', schema=None) as batch_op:
        batch_op.add_column(sa.Column('snapshot', sa.JSON(), nullable=True))

    with op.batch_alter_table('tranche', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=10), server_default='scheduled', nullable=False))

    # Existing rows: a recorded date means paid; otherwise payable when the condition holds.
    op.execute("UPDATE tranche SET status = 'paid' WHERE paid_on IS NOT NULL")
    op.execute(
        "UPDATE tranche SET status = 'payable' WHERE paid_on IS NULL AND condition = 'signature' AND EXISTS "
        "(SELECT 1 FROM award_letter l WHERE l.award_id = tranche.award_id AND l.superseded_at IS NULL)"
    )
    for condition, kind in (('interim_report', 'interim'), ('final_report', 'final')):
        op.execute(
            f"UPDATE tranche SET status = 'payable' WHERE paid_on IS NULL AND condition = '{condition}' AND EXISTS "
            f"(SELECT 1 FROM award_report r WHERE r.award_id = tranche.award_id AND r.kind = '{kind}' "
            f"AND r.status = 'approved')"
        )

    with op.batch_alter_table('tranche', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_tranche_status'), "status IN ('scheduled', 'payable', 'paid')")
        batch_op.create_check_constraint(op.f('ck_tranche_paid_on'), "(status = 'paid') = (paid_on IS NOT NULL)")

    op.create_table('tranche_payment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tranche_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=True),
    sa.Column('reason', sa.Text(), server_default='', nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('payment', 'reversal')", name=op.f('ck_tranche_payment_kind')),
    sa.CheckConstraint("kind = 'reversal' OR paid_on IS NOT NULL", name=op.f('ck_tranche_payment_paid_on')),
    sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'], name=op.f('fk_tranche_payment_actor_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tranche_id'], ['tranche.id'], name=op.f('fk_tranche_payment_tranche_id_tranche'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tranche_payment'))
    )
    with op.batch_alter_table('tranche_payment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tranche_payment_tranche_id'), ['tranche_id'], unique=False)

    # The payments recorded so far start the history.
    op.execute(
        "INSERT INTO tranche_payment (tranche_id, kind, paid_on, reason, recorded_at) "
        "SELECT id, 'payment', paid_on, '', CURRENT_TIMESTAMP FROM tranche WHERE paid_on IS NOT NULL"
    )


def downgrade():
    with op.batch_alter_table('tranche_payment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tranche_payment_tranche_id'))
    op.drop_table('tranche_payment')

    with op.batch_alter_table('tranche', schema=None) as batch_op:
        batch_op.drop_constraint('ck_tranche_paid_on', type_='check')
        batch_op.drop_constraint('ck_tranche_status', type_='check')
        batch_op.drop_column('status')

    with op.batch_alter_table('award_letter', schema=None) as batch_op:
        batch_op.drop_column('snapshot')

    with op.batch_alter_table('award', schema=None) as batch_op:
        batch_op.drop_column('version')
