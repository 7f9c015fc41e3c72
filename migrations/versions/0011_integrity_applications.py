"""integrity_applications (issue 11: Integrity)

Revision ID: 0011_integrity_applications
Revises: 0010_integrity_reviews
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0011_integrity_applications'
down_revision = '0010_integrity_reviews'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
