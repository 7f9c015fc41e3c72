"""integrity_awards (issue 11: Integrity)

Revision ID: 0009_integrity_awards
Revises: 0008_report_files
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0009_integrity_awards'
down_revision = '0008_report_files'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
