"""0019_eligibility_time (issue 13: Communication)

When an application's eligibility was last decided (the programme's clock): the window for
appealing an ineligibility runs from it. Filled for screened applications from the audit log.

Revision ID: 0019_eligibility_time
Revises: 0018_broadcasts
"""
from alembic import op
import sqlalchemy as sa


revision = '0019_eligibility_time'
down_revision = '0018_broadcasts'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.add_column(sa.Column('eligibility_decided_at', sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE application SET eligibility_decided_at = (SELECT max(created_at) FROM audit_event "
        "WHERE audit_event.object_type = 'application' AND audit_event.object_id = application.id "
        "AND audit_event.action IN ('application.eligible', 'application.ineligible'))"
    )


def downgrade():
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.drop_column('eligibility_decided_at')
