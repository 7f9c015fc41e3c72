"""The schema comes only from migrations, and the models agree with them."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from grants.extensions import db

# Both databases: `make run` upgrades SQLite, production PostgreSQL.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)


def test_models_and_migrations_agree(app):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"render_as_batch": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_migrations_created_every_table(app):
    from sqlalchemy import inspect

    tables = set(inspect(db.engine).get_table_names())
    assert set(db.metadata.tables) <= tables
    assert "alembic_version" in tables
