"""The Alembic migrations build exactly the tables the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from statedata.catalog.db import upgrade
from statedata.catalog.models import Base


def test_migrations_match_the_models(installation):
    with installation.catalog.engine.connect() as connection:
        context = MigrationContext.configure(connection)
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_upgrade_twice_is_harmless(installation):
    upgrade(installation.catalog.engine)
    upgrade(installation.catalog.engine)
