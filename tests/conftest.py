"""Shared fixtures: an installation in a temporary home on SQLite, the same on PostgreSQL (a
fresh schema per test in the database named by STATEDATA_TEST_DATABASE_URL), and small files.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import settings

from statedata.catalog import service
from statedata.installation import Installation

# The servers' warm-up on start (`warm_on_start`) costs each test server and TestClient about
# half a second of CPU (the 68 tests of test_suggestions_api.py: 71 s with it off, 96 s on);
# tests that want it turn it on in their installation's settings.
os.environ.setdefault("STATEDATA_WARM_ON_START", "false")

# Hypothesis' per-example deadline is a timing assertion: on a busy 2-core machine a slow
# example is not a failure. Tests check behaviour; benchmarks measure time.
settings.register_profile("statedata", deadline=None)
settings.load_profile("statedata")

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep the tests that share an expensive fixture on one pytest-xdist worker (`--dist
    loadgroup`), so it is built once rather than once per worker: the browser tests share
    Chromium and the demo portal it browses; a module-scoped fixture (a demo build, an index)
    serves its whole file. Runs before xdist's own hook, which reads the groups."""
    if not config.pluginmanager.hasplugin("xdist"):
        return  # `-p no:xdist`: one process, nothing to group
    for item in items:
        fixtures = getattr(item, "_fixtureinfo", None)
        if fixtures is None:
            continue
        if "browser" in fixtures.names_closure:
            item.add_marker(pytest.mark.xdist_group("browser"))
            continue
        scopes = {d[-1].scope for d in fixtures.name2fixturedefs.values() if d}
        if scopes & {"module", "class", "package"}:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))


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


# A fresh catalog for every test would run every migration every time (about 0.5-1 s each, for
# about 1,300 tests). The migrations run once per session instead, and each test starts from
# their result: a copy of the migrated SQLite file, or on PostgreSQL the statements the
# migrations sent, replayed into the test's own schema. Tests of the migrations themselves open
# their own empty databases and still run them.


@pytest.fixture(scope="session")
def migrated_sqlite_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A catalog file at the newest migration, to copy into each test's home."""
    home = tmp_path_factory.mktemp("template") / "home"
    Installation.open(home).close()
    return home / "catalog.sqlite"


@pytest.fixture(scope="session")
def migration_statements() -> list[tuple[str, object, bool]]:
    """What the migrations send to an empty PostgreSQL schema: (statement, parameters,
    executemany), recorded once in a scratch schema."""
    from statedata.catalog.db import make_engine, upgrade

    if POSTGRES_UNAVAILABLE:
        pytest.skip(POSTGRES_UNAVAILABLE)
    schema = f"template_{secrets.token_hex(6)}"
    base = postgres_url().replace("postgresql://", "postgresql+psycopg://")
    admin = sa.create_engine(base)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}")
    sent: list[tuple[str, object, bool]] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        sent.append((statement, parameters, executemany))

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    return sent


def _replay(url: str, statements: list[tuple[str, object, bool]]) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        cursor = connection.connection.cursor()
        for statement, parameters, executemany in statements:
            if executemany:
                cursor.executemany(statement, parameters)
            else:
                cursor.execute(statement, parameters)
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def installation(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Installation]:
    """A fresh installation, once on SQLite and once on PostgreSQL."""
    overrides = {}
    home = tmp_path / "home"
    if request.param == "postgres":
        url = request.getfixturevalue("pg_schema_url")
        _replay(url, request.getfixturevalue("migration_statements"))
        overrides["database_url"] = url
    else:
        home.mkdir(parents=True)
        shutil.copyfile(request.getfixturevalue("migrated_sqlite_catalog"), home / "catalog.sqlite")
    inst = Installation.open(home, **overrides)
    yield inst
    inst.close()


@pytest.fixture
def sqlite_installation(tmp_path: Path, migrated_sqlite_catalog: Path) -> Iterator[Installation]:
    """A fresh installation on SQLite only, for tests about storage rather than the catalog."""
    home = tmp_path / "home"
    home.mkdir(parents=True)
    shutil.copyfile(migrated_sqlite_catalog, home / "catalog.sqlite")
    inst = Installation.open(home)
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
