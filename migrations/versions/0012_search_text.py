"""0012_search_text (issue 12: Reach)

Normalised search text for organizations (casefolded, transliterated) and Unicode file names

The column is filled in Python (grants.core.search, through the organizations' own function),
never by the database: SQLite's lower() folds ASCII only. Existing rows are filled here with the
same function the app uses. No index: the search is a LIKE '%word%' (a part of a word), which
a B-tree index cannot serve; the directory lists a few thousand organizations at most.
File names need no schema change: the columns already hold 255 Unicode characters.

Revision ID: 0012_search_text
Revises: 0011_section_versions
"""
from alembic import op
import sqlalchemy as sa


revision = '0012_search_text'
down_revision = '0011_section_versions'
branch_labels = None
depends_on = None

BATCH = 500


def upgrade():
    from grants.organizations.models import organization_search_text  # built on grants.core.search

    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_text', sa.Text(), server_default='', nullable=False))

    organization = sa.table(
        'organization',
        sa.column('id', sa.Integer), sa.column('name', sa.String), sa.column('settlement_name', sa.String),
        sa.column('description', sa.Text), sa.column('region', sa.String), sa.column('search_text', sa.Text),
    )
    connection = op.get_bind()
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(organization.c.id, organization.c.name, organization.c.settlement_name,
                      organization.c.description, organization.c.region)
            .where(organization.c.id > last_id).order_by(organization.c.id).limit(BATCH)
        ).all()
        if not rows:
            break
        connection.execute(
            organization.update().where(organization.c.id == sa.bindparam('row_id'))
            .values(search_text=sa.bindparam('text')),
            [{'row_id': row.id, 'text': organization_search_text(
                name=row.name, settlement_name=row.settlement_name, description=row.description, region=row.region,
            )} for row in rows],
        )
        last_id = rows[-1].id


def downgrade():
    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.drop_column('search_text')
