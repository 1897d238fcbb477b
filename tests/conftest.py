"""Shared fixtures: an installation in a temporary home on SQLite, the same on PostgreSQL (a
fresh schema per test in the database named by STATEDATA_TEST_DATABASE_URL), and small files.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from statedata.catalog import service
from statedata.installation import Installation

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_url() -> str:
    return os.environ.get("STATEDATA_TEST_DATABASE_URL", DEFAULT_PG_URL)


def _postgres_reason() -> str | None:
    try:
        engine = sa.create_engine(postgres_url().replace("postgresql://", "postgresql+psycopg://"))
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception as error:  # any failure to connect means: no server to test against
        return f"no PostgreSQL answers at {postgres_url()} ({type(error).__name__})"
    return None


POSTGRES_UNAVAILABLE = _postgres_reason()


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """A URL whose connections use a new, empty schema, dropped after the test."""
    if POSTGRES_UNAVAILABLE:
        pytest.skip(POSTGRES_UNAVAILABLE)
    base = postgres_url().replace("postgresql://", "postgresql+psycopg://")
    schema = f"t_{secrets.token_hex(6)}"
    admin = sa.create_engine(base)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    yield f"{base}{separator}options=-csearch_path%3D{schema}"
    with admin.begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def installation(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Installation]:
    """A fresh installation, once on SQLite and once on PostgreSQL."""
    overrides = {}
    if request.param == "postgres":
        overrides["database_url"] = request.getfixturevalue("pg_schema_url")
    inst = Installation.open(tmp_path / "home", **overrides)
    yield inst
    inst.close()


@pytest.fixture
def sqlite_installation(tmp_path: Path) -> Iterator[Installation]:
    """A fresh installation on SQLite only, for tests about storage rather than the catalog."""
    inst = Installation.open(tmp_path / "home")
    yield inst
    inst.close()


@pytest.fixture
def agency(installation: Installation) -> str:
    with installation.catalog.session() as session:
        service.add_agency(session, "DPH", "Department of Public Health")
    return "DPH"


@pytest.fixture
def write_file(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write bytes or text to a file in the test's folder and return its path."""

    def write(name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
        path = tmp_path / "files" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        data = content.encode(encoding) if isinstance(content, str) else content
        path.write_bytes(data)
        return path

    return write
