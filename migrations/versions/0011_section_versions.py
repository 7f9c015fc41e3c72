"""0011_section_versions (issue 12: Reach)

Per-section versions of an application (a save conflicts only when its own sections changed
since the version it started from), and the device key of a draft started offline (unique, so
a retried sending finds the same draft).

Revision ID: 0011_section_versions
Revises: 0010_integrity_reviews
"""
from alembic import op
import sqlalchemy as sa


revision = '0011_section_versions'
down_revision = '0010_integrity_reviews'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.add_column(sa.Column('section_versions', sa.JSON(), server_default=sa.text("'{}'"), nullable=False))
        batch_op.add_column(sa.Column('offline_key', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_application_offline_key'), ['offline_key'])
    # Drafts saved before: when their sections changed is not known, so every section counts as
    # changed at the current version (the strict check they had). New drafts start empty.
    application = sa.table('application', sa.column('id', sa.Integer), sa.column('version', sa.Integer),
                           sa.column('section_versions', sa.JSON))
    connection = op.get_bind()
    sections = ("summary", "problem", "workplan", "budget", "indicators", "partners", "declarations")
    for app_id, version in connection.execute(sa.select(application.c.id, application.c.version)).all():
        connection.execute(application.update().where(application.c.id == app_id)
                           .values(section_versions=dict.fromkeys(sections, version)))


def downgrade():
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_application_offline_key'), type_='unique')
        batch_op.drop_column('offline_key')
        batch_op.drop_column('section_versions')
