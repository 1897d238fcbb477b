"""Fixtures of the portal's tests: a small catalog made in the test (public rows, a protected
dataset, a deprecated one and a late one), clients as anonymous and as agency staff, and for
the browser tests Debian's Chromium driven by Playwright."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from browsing import AXE, CHROMIUM, DESKTOP  # type: ignore[import-not-found]
from fastapi.testclient import TestClient
from sqlalchemy import update

from auth_headers import basic_auth  # type: ignore[import-not-found]
from statedata.access.accounts import add_user, create_key
from statedata.api.app import create_app
from statedata.catalog import DatasetMetadata, service
from statedata.catalog.models import Dataset
from statedata.demo import build_demo
from statedata.ingest import open_table
from statedata.installation import Installation
from statedata.storage import NewDataset, publish

TOWNS = [
    ("Andover", "Tolland", 3, 1.5, "2024-01-02"),
    ("Ansonia", "New Haven", 12, None, "2024-01-03"),
    ("Avon", "Hartford", 7, 0.25, "2024-01-04"),
    ("Bethel", "Fairfield", 0, 2.0, "2024-01-05"),
    ("Canton", "Hartford", 5, 3.75, "2024-02-01"),
    ("O'Brien Corner", "Hartford", 9, 1.0, "2024-02-02"),
]
SECRET_TITLE = "Qwerty Protected Caseload"


@dataclass
class Portal:
    installation: Installation
    towns: str  # public, with rows, weekly and on time
    secret: str  # protected data of DPH
    old: str  # deprecated, replaced by `towns`
    late: str  # weekly, last updated 60 days ago
    staff_key: str  # a DPH publisher's "key_id:secret"


@pytest.fixture
def portal(installation: Installation, agency: str, write_file) -> Portal:  # type: ignore[no-untyped-def]
    lines = ["town,county,cases,rate,reported"]
    lines += [f'"{t}",{c},{n},{"" if r is None else r},{d}' for t, c, n, r, d in TOWNS]
    path = write_file("towns.csv", "\n".join(lines) + "\n")
    towns = publish(
        installation,
        open_table(path),
        new=NewDataset(
            DatasetMetadata(
                title="Cases by town",
                description="How many cases each town reported, by day.",
                category="Health and Human Services",
                tags=["cases", "towns"],
                update_frequency="weekly",
                high_value_criteria=["B", "F"],
            ),
            agency,
        ),
    ).dataset_id
    secret_path = write_file("secret.csv", "client,diagnosis\nqq-1,qq-private-value\n")
    secret = publish(
        installation,
        open_table(secret_path),
        new=NewDataset(
            DatasetMetadata(
                title=SECRET_TITLE,
                category="Health and Human Services",
                classification="protected",
            ),
            agency,
        ),
    ).dataset_id
    settings = installation.settings
    with installation.catalog.session() as session:
        old = service.create_dataset(
            session,
            DatasetMetadata(title="Cases by town (old)", category="Health and Human Services"),
            agency,
            settings.categories,
        ).id
        service.deprecate(session, old, "Counted in a way that was changed.", replaced_by=towns)
        late = service.create_dataset(
            session,
            DatasetMetadata(
                title="Clinic inspections",
                category="Health and Human Services",
                update_frequency="weekly",
            ),
            agency,
            settings.categories,
        ).id
        sixty_days_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=60)
        session.execute(
            update(Dataset)
            .where(Dataset.id == late)
            .values(data_updated_at=sixty_days_ago, created_at=sixty_days_ago)
        )
        add_user(session, "dph.publisher", "publisher", agency)
        key, secret_text = create_key(session, "dph.publisher")
        staff_key = f"{key.key_id}:{secret_text}"
    return Portal(installation, towns, secret, old, late, staff_key)


@pytest.fixture
def client(portal: Portal) -> Iterator[TestClient]:
    """A client of the portal's app, as an anonymous visitor."""
    with TestClient(create_app(portal.installation), follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def staff(portal: Portal) -> dict[str, str]:
    """Headers that sign requests as a publisher of the dataset's agency."""
    return basic_auth(portal.staff_key)


# Browser tests ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():  # type: ignore[no-untyped-def]
    """Debian's Chromium, headless, driven by Playwright (never a downloaded browser)."""
    if not CHROMIUM.exists():
        pytest.skip(
            "Debian's Chromium is not installed at /usr/bin/chromium: `make setup` installs it "
            "as root (apt-get install chromium)"
        )
    if not AXE.exists():
        pytest.fail("axe-core is missing from node_modules: run `make assets`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory, serve, browser) -> Iterator[dict]:  # type: ignore[no-untyped-def]
    """The demo portal (a small payroll), built and served once for all the browser tests."""
    installation = Installation.open(tmp_path_factory.mktemp("portal") / "home")
    build_demo(installation, payroll_rows=3_000)
    with installation.catalog.session() as session:
        datasets = service.list_datasets(session, classification="public")
        with_rows = [d for d in datasets if d.current_version is not None]
        towns = next(d for d in with_rows if "town" in {c.field_name for c in d.columns})
        deprecated = next(d for d in datasets if d.status == "deprecated")
        found = {
            "towns": (towns.id, towns.title),
            "deprecated": deprecated.id,
            "agency": towns.agency.code,
        }
    server = serve(installation)
    yield {"url": server.url, **found}
    server.stop()
    installation.close()


@pytest.fixture
def page(browser, demo):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    yield opened
    context.close()
