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
from hypothesis import settings

from statedata.catalog import service
from statedata.installation import Installation

# Hypothesis' per-example deadline is a timing assertion: on a busy 2-core machine a slow
# example is not a failure. Tests check behaviour; benchmarks measure time.
settings.register_profile("statedata", deadline=None)
settings.load_profile("statedata")

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


class LiveServer:
    """`statedata`'s app served by uvicorn on a free loopback port, in a thread."""

    def __init__(self, installation: Installation) -> None:
        import threading

        import uvicorn

        from statedata.api.app import create_app

        config = uvicorn.Config(
            create_app(installation), host="127.0.0.1", port=0, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        import time

        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def serve() -> type[LiveServer]:
    """Start a server for any installation: `server = serve(installation)`; `server.stop()`."""
    return LiveServer


@pytest.fixture
def live_server(installation: Installation) -> Iterator[LiveServer]:
    server = LiveServer(installation)
    yield server
    server.stop()


@pytest.fixture
def http(live_server: LiveServer):  # type: ignore[no-untyped-def]
    import httpx

    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        yield client


STANDARDS = Path(__file__).resolve().parents[2] / "shared" / "standards"


@pytest.fixture(scope="session")
def dcat_validator():  # type: ignore[no-untyped-def]
    """A validator for a whole data.json: DCAT-US 1.1, non-federal catalog schema."""
    import json

    from jsonschema import Draft4Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    folder = STANDARDS / "dcat-us-1.1"
    if not folder.exists():
        pytest.fail(f"the DCAT-US 1.1 schemas are missing at {folder}")
    resources = []
    for path in folder.glob("*.json"):
        document = json.loads(path.read_text())
        resources.append((document["id"].rstrip("#"), Resource.from_contents(document, DRAFT4)))
    schema = json.loads((folder / "catalog-nonfederal.json").read_text())
    return Draft4Validator(schema, registry=Registry().with_resources(resources))
