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


def test_head_revision_constant_is_alembics_head(installation):
    from alembic.script import ScriptDirectory

    from statedata.catalog.db import HEAD_REVISION, alembic_config, current_revision

    script = ScriptDirectory.from_config(alembic_config(installation.catalog.engine))
    assert script.get_current_head() == HEAD_REVISION
    assert current_revision(installation.catalog.engine) == HEAD_REVISION
