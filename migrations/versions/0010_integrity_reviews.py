"""integrity_reviews (issue 11: Integrity)

Decisions are versioned (the current one in `decision`, every version in `decision_version`) and
have a status (decided | reopened by an upheld appeal); caps a justified award exceeds are kept.
Appeals have a status (filed → upheld | dismissed) instead of a nullable outcome, and there is
one per application and decision version.

Revision ID: 0010_integrity_reviews
Revises: 0009_integrity_awards
"""
from alembic import op
import sqlalchemy as sa


revision = '0010_integrity_reviews'
down_revision = '0009_integrity_awards'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('decision', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=10), server_default='decided', nullable=False))
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('exceeds', sa.JSON(), server_default=sa.text("'[]'"), nullable=False))
        batch_op.add_column(sa.Column('reviews_missing_reason', sa.Text(), nullable=True))
        batch_op.alter_column('outcome', existing_type=sa.String(length=10), nullable=True)
        batch_op.create_check_constraint(op.f('ck_decision_status'), "status IN ('decided', 'reopened')")
        batch_op.create_check_constraint(op.f('ck_decision_outcome_when_decided'),
                                         "(status = 'decided') = (outcome IS NOT NULL)")

    op.create_table('decision_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('decision_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=10), nullable=False),
    sa.Column('against_selection', sa.Boolean(), server_default='0', nullable=False),
    sa.Column('justification', sa.Text(), server_default='', nullable=False),
    sa.Column('exceeds', sa.JSON(), server_default=sa.text("'[]'"), nullable=False),
    sa.Column('reviews_missing_reason', sa.Text(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'], name=op.f('fk_decision_version_decided_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['decision_id'], ['decision.id'], name=op.f('fk_decision_version_decision_id_decision'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_decision_version')),
    sa.UniqueConstraint('decision_id', 'version', name='uq_decision_version_decision_version')
    )
    # The history starts with what is stored today: version 1 of each decision.
    op.execute(
        "INSERT INTO decision_version (decision_id, version, outcome, against_selection, justification, "
        "decided_by_id, decided_at) SELECT id, 1, outcome, against_selection, justification, decided_by_id, "
        "decided_at FROM decision"
    )

    with op.batch_alter_table('appeal', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=10), server_default='filed', nullable=False))
        batch_op.add_column(sa.Column('decision_version', sa.Integer(), server_default='1', nullable=False))
    op.execute("UPDATE appeal SET status = outcome WHERE outcome IS NOT NULL")
    # Two concurrent appeals could both be stored before: keep the first of each application.
    op.execute("DELETE FROM appeal WHERE id NOT IN (SELECT MIN(id) FROM appeal GROUP BY application_id)")
    with op.batch_alter_table('appeal', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_appeal_outcome'), type_='check')
        batch_op.drop_column('outcome')
        batch_op.create_check_constraint(op.f('ck_appeal_status'), "status IN ('filed', 'upheld', 'dismissed')")
        batch_op.create_unique_constraint('uq_appeal_application_decision_version', ['application_id', 'decision_version'])


def downgrade():
    with op.batch_alter_table('appeal', schema=None) as batch_op:
        batch_op.drop_constraint('uq_appeal_application_decision_version', type_='unique')
        batch_op.drop_constraint(op.f('ck_appeal_status'), type_='check')
        batch_op.add_column(sa.Column('outcome', sa.String(length=10), nullable=True))
    op.execute("UPDATE appeal SET outcome = status WHERE status <> 'filed'")
    with op.batch_alter_table('appeal', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_appeal_outcome'), "outcome IS NULL OR outcome IN ('upheld', 'dismissed')")
        batch_op.drop_column('decision_version')
        batch_op.drop_column('status')

    op.drop_table('decision_version')
    op.execute("DELETE FROM decision WHERE outcome IS NULL")
    with op.batch_alter_table('decision', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_decision_outcome_when_decided'), type_='check')
        batch_op.drop_constraint(op.f('ck_decision_status'), type_='check')
        batch_op.alter_column('outcome', existing_type=sa.String(length=10), nullable=False)
        batch_op.drop_column('reviews_missing_reason')
        batch_op.drop_column('exceeds')
        batch_op.drop_column('version')
        batch_op.drop_column('status')
