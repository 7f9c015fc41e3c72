"""integrity_reviews (issue 11: Integrity)

Revision ID: 0010_integrity_reviews
Revises: 0009_integrity_awards
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0010_integrity_reviews'
down_revision = '0009_integrity_awards'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
