"""Walk every route in the app's route table, as every role, against a protected dataset and a
draft, and fail on any leak: a title, a column name, a value, a row count or a search snippet
in any answer (body or headers, errors included) to someone the policy keeps out.

A route whose path parameters this test cannot fill fails the test: a new route must be added
to PATH_VALUES (and so considered) before it can land.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re

import httpx
import pytest
from fastapi.routing import APIRoute
from starlette.routing import Route

from auth_headers import basic_auth  # type: ignore[import-not-found]
from statedata.access.accounts import add_user, create_key
from statedata.catalog import DatasetMetadata, service
from statedata.catalog.feeds import Feed
from statedata.catalog.models import Dataset
from statedata.ingest import open_table
from statedata.storage import NewDataset, publish

# Markers that only the protected dataset and the draft contain. Row counts are odd numbers
# that appear nowhere else.
SECRET_TITLE = "Zyxwv Protected Caseload"
SECRET_COLUMN = "qqsecret_diagnosis"
SECRET_VALUE = "QQVALUE-HIV-POSITIVE"
SECRET_ROWS = 4373
DRAFT_TITLE = "Unreleased Wqpz Payroll Draft"
DRAFT_COLUMN = "wqpz_unreleased_salary"
DRAFT_ROWS = 3187
DRAFT_STORY = "draft-story-1"  # its address holds no marker: a sign-in redirect may echo it
MARKERS = [
    SECRET_TITLE,
    SECRET_COLUMN,
    SECRET_VALUE,
    str(SECRET_ROWS),
    f"{SECRET_ROWS:,}",
    DRAFT_TITLE,
    DRAFT_COLUMN,
    str(DRAFT_ROWS),
    f"{DRAFT_ROWS:,}",
    "Zyxwv",
    "Wqpz",
    "zyxwv-contact@example.org",
]

# Query parameters sent to every route, so a search, filter or error message has every chance
# to echo a protected name.
PROBES = {
    "q": "Zyxwv",
    "$q": "QQVALUE",
    "search": "Wqpz",
    "$where": f"{SECRET_COLUMN} IS NOT NULL",
    "$select": SECRET_COLUMN,
    "$order": SECRET_COLUMN,
    "ids": "",
    "limit": "1000",
}


@pytest.fixture
def world(installation, write_file):
    """Agency OWN holds a protected dataset and a draft; agency OTHER holds nothing of them."""
    with installation.catalog.session() as session:
        service.add_agency(session, "OWN", "Department of Owners")
        service.add_agency(session, "OTHER", "Department of Others")
    secret_csv = (
        "id,"
        + SECRET_COLUMN
        + ",town\n"
        + "".join(f"{i},{SECRET_VALUE},Avon\n" for i in range(1, SECRET_ROWS + 1))
    )
    protected = publish(
        installation,
        open_table(write_file("secret.csv", secret_csv)),
        new=NewDataset(
            DatasetMetadata(
                title=SECRET_TITLE,
                description=f"Rows about {SECRET_VALUE}",
                classification="protected",
                tags=["zyxwv"],
            ),
            "OWN",
        ),
    ).dataset_id
    draft_csv = (
        "id," + DRAFT_COLUMN + "\n" + "".join(f"{i},{i * 1000}\n" for i in range(1, DRAFT_ROWS + 1))
    )
    draft = publish(
        installation,
        open_table(write_file("draft.csv", draft_csv)),
        new=NewDataset(DatasetMetadata(title=DRAFT_TITLE, tags=["wqpz"]), "OWN"),
    ).dataset_id
    public = publish(
        installation,
        open_table(write_file("public.csv", "town,count\nAvon,3\n")),
        new=NewDataset(DatasetMetadata(title="Open Town Counts"), "OTHER"),
    ).dataset_id
    # A draft story of OWN, written in the portal, over the protected dataset: only OWN's
    # staff may see or edit it (web/story_editor.py).
    stories = installation.settings.home / "stories"
    stories.mkdir(exist_ok=True)
    (stories / f"{DRAFT_STORY}.md").write_text(
        f"---\ntitle: {DRAFT_TITLE} story\nsummary: About Wqpz\nagency: OWN\nstatus: draft\n"
        f"---\n\nWqpz words.\n\n```chart\ndataset: {protected}\ntype: bar\n"
        f"query: SELECT {SECRET_COLUMN}, count(*) AS n GROUP BY {SECRET_COLUMN}\n```\n",
        encoding="utf-8",
    )
    keys = {}
    with installation.catalog.session() as session:
        session.get(Dataset, draft).publication_state = "draft"
        for name, role, agency in [
            ("anyone.analyst", "analyst", None),
            ("other.publisher", "publisher", "OTHER"),
            ("other.officer", "data_officer", "OTHER"),
        ]:
            add_user(session, name, role, agency)
            key, secret = create_key(session, name)
            keys[name] = f"{key.key_id}:{secret}"
    return {"protected": protected, "draft": draft, "public": public, "keys": keys}


@pytest.fixture
def governance(installation, live_server, world):
    """An executed agreement, a data request and a suggestion that concern the protected
    dataset, made over the API by the CDO and the agency's data officer; and the notices
    they send to the agency."""
    with installation.catalog.session() as session:
        for name, role, agency in [
            ("chief", "cdo", None),
            ("own.officer", "data_officer", "OWN"),
            ("granted.analyst", "analyst", None),
        ]:
            add_user(session, name, role, agency)
            key, secret = create_key(session, name)
            world["keys"][name] = f"{key.key_id}:{secret}"
    protected = world["protected"]

    def as_(who: str) -> httpx.Client:
        return httpx.Client(
            base_url=live_server.url, headers=basic_auth(world["keys"][who]), timeout=30
        )

    today = dt.date.today()
    with as_("own.officer") as officer, as_("chief") as chief, as_("granted.analyst") as analyst:
        authority = chief.post(
            "/api/v1/authorities",
            json={
                "citation": "C.G.S. § 4-67p",
                "title": "State data plan",
                "kind": "state statute",
            },
        )
        assert authority.status_code == 201, authority.text
        made = officer.post(
            "/api/v1/agreements",
            json={
                "kind": "data_use_agreement",
                "title": "Zyxwv caseload study",
                "parties": [
                    {"agency": "OWN", "role": "provider"},
                    {"organisation": "Zyxwv University", "role": "recipient"},
                ],
                "datasets": [protected],
                "purposes": ["Study the Zyxwv caseload"],
                "users": ["granted.analyst"],
                "authorities": ["C.G.S. § 4-67p"],
                "effective_date": str(today - dt.timedelta(days=1)),
                "expiry_date": str(today + dt.timedelta(days=365)),
            },
        )
        assert made.status_code == 201, made.text
        agreement = made.json()
        assert officer.post(f"/api/v1/agreements/{agreement['id']}/send").status_code == 200
        for party in agreement["parties"]:
            signer = officer if party["agency"] == "OWN" else chief
            signed = signer.post(
                f"/api/v1/agreements/{agreement['id']}/sign",
                json={"party_id": party["id"], "signed_by": "Dana Signer"},
            )
            assert signed.status_code == 200, signed.text
        request = analyst.post(
            "/api/v1/data-requests",
            json={
                "organisation": "Zyxwv University",
                "title": "Zyxwv caseload by town",
                "purpose": "Zyxwv study",
                "planned_use": "A paper",
                "who_has_access": "Two researchers",
                "data_elements": [
                    {"dataset_id": protected, "elements": [SECRET_COLUMN], "level": "aggregate"}
                ],
                "retention_period": "Two years",
                "destruction_method": "Secure deletion",
                "agencies": ["OWN"],
                "legal_basis": "C.G.S. § 4-67p",
            },
        )
        assert request.status_code == 201, request.text
        submitted = analyst.post(
            f"/api/v1/data-requests/{request.json()['id']}/stage", json={"to": "submitted"}
        )
        assert submitted.status_code == 200, submitted.text
        suggestion = httpx.post(
            f"{live_server.url}/api/v1/suggestions",
            json={
                "title": "Town caseload counts",
                "description": "Counts of cases by town and month, for planning services.",
                "reason": "To plan where services go each year.",
                "contact_email": "zyxwv-contact@example.org",
                "agency": "OWN",
            },
        )
        assert suggestion.status_code == 201, suggestion.text
        notices = officer.get("/api/v1/notices").json()["results"]
    assert notices, "the agreement's steps should have told the agency"
    with installation.catalog.session() as session:
        feed = Feed(
            dataset_id=protected,
            kind="http",
            source={"url": "http://127.0.0.1:9/zyxwv-export.csv"},
            schedule="0 6 * * *",
            created_by="own.officer",
        )
        session.add(feed)
        session.flush()
        feed_id = str(feed.id)
    return {
        "feed_id": feed_id,
        "agreement_id": str(agreement["id"]),
        "request_id": str(request.json()["id"]),
        "suggestion_id": str(suggestion.json()["id"]),
        "notice_id": str(notices[0]["id"]),
    }


def _path_values(world: dict, dataset_id: str) -> dict[str, list[str]]:
    """A value for every path parameter name of every route."""
    made = world.get("governance", {})
    return {
        "dataset_id": [dataset_id],
        "fmt": ["json", "csv", "geojson", "parquet"],
        "row_id": ["1", "row-1"],
        "file_id": ["1"],
        "name": ["anyone.analyst"],
        "agency": ["OWN"],
        "code": ["OWN"],
        "role": ["publisher"],
        "key_id": ["sd_00000000000000000000"],
        "draft_id": ["1"],
        "suggestion_id": [made.get("suggestion_id", "1")],
        "request_id": [made.get("request_id", "1")],
        "key": [made.get("request_id", "1")],
        "token": ["not-a-token"],
        "agreement_id": [made.get("agreement_id", "1")],
        "authority_id": ["1"],
        "notice_id": [made.get("notice_id", "1")],
        "party_id": ["1"],
        "feed_id": [made.get("feed_id", "1")],
        "path": [f"{dataset_id}.json"],
        # The portal's pages (web/): a dataset's page by its id, under any address.
        "ident": [dataset_id],
        "category": ["Health-and-Human-Services", "dataset"],
        # ... and a story's address (web/stories.py, web/story_editor.py): a draft story.
        "slug": ["Zyxwv-Protected-Caseload", "anything", DRAFT_STORY],
        # The staff pages (web/staff.py): a metadata draft's decision; a story's.
        "decision": ["approve", "reject", "publish", "unpublish"],
    }


def _routes(app) -> list[tuple[str, set[str]]]:  # type: ignore[no-untyped-def]
    """(path, methods) of every route, those of included routers too."""
    found = []
    for route in app.routes:
        # FastAPI keeps an included router as one entry that expands to its routes.
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:
            for context in contexts():
                found.append((context.path, set(context.original_route.methods or ())))
        elif isinstance(route, APIRoute | Route):
            found.append((route.path, set(route.methods or ())))
    return found


def _requests(app, world: dict):  # type: ignore[no-untyped-def]
    """(method, path) for every route, once per hidden dataset, every parameter filled."""
    missing = set()
    routes = _routes(app)
    assert len(routes) > 30, "the walk found too few routes to be walking the app"
    for route_path, methods in routes:
        names = re.findall(r"{(\w+)(?::\w+)?}", route_path)
        for dataset_id in (world["protected"], world["draft"]):
            values = _path_values(world, dataset_id)
            unknown = [n for n in names if n not in values]
            if unknown:
                missing.add(f"{route_path} ({', '.join(unknown)})")
                continue
            for combo in itertools.product(*(values[n] for n in names)):
                path = route_path
                for name, value in zip(names, combo, strict=True):
                    path = re.sub(r"{" + name + r"(?::\w+)?}", value, path)
                for method in methods:
                    if method != "HEAD":
                        yield method, path
    assert not missing, (
        "The leak test cannot fill the path parameters of these routes; add them to "
        f"_path_values: {sorted(missing)}"
    )


# A page's search box showing back what the caller typed (the portal's /browse) says nothing
# the caller did not send; anything else with a marker in it still counts.
ECHOES = [f'value="{value}"' for value in PROBES.values() if value]


def _leaks(response: httpx.Response) -> list[str]:
    text = response.text + " " + " ".join(f"{k}: {v}" for k, v in response.headers.items())
    for echo in ECHOES:
        text = text.replace(echo, "")
    return [m for m in MARKERS if _marker_pattern(m).search(text)]


def _marker_pattern(marker: str) -> re.Pattern[str]:
    # A row count counts only as a whole number: a freshly made key or token is random letters
    # and digits, and one once held "4373" by chance (CI, 2026-11-26). Names count anywhere, so a
    # slug such as "zyxwv-protected-caseload" is still caught.
    if marker.replace(",", "").isdigit():
        return re.compile(rf"(?<![A-Za-z0-9_.,-]){re.escape(marker)}(?![A-Za-z0-9_,-])")
    return re.compile(re.escape(marker), re.IGNORECASE)


def test_a_marker_counts_as_a_whole_number_or_anywhere_as_a_name():
    def found(text: str) -> list[str]:
        return [m for m in MARKERS if _marker_pattern(m).search(text)]

    assert found('{"secret": "sd_9f:ab4373Xy_Q"}') == []
    assert found('{"row_count": 4373}') == ["4373"]
    assert found("4,373 rows.") == ["4,373"]
    assert found("/d/zyxwv-protected-caseload") == ["Zyxwv"]


@pytest.mark.parametrize("who", ["anonymous", "anyone.analyst", "other.publisher", "other.officer"])
def test_no_route_leaks_a_protected_dataset_or_a_draft(
    installation, live_server, world, governance, who
):
    from statedata.api.app import create_app

    world["governance"] = governance
    app = create_app(installation)
    key = None if who == "anonymous" else world["keys"][who]
    leaks = []
    with httpx.Client(base_url=live_server.url, timeout=60, headers=basic_auth(key)) as client:
        for method, path in _requests(app, world):
            body = {} if method in ("POST", "PUT", "PATCH") else None
            response = client.request(method, path, params=PROBES, json=body)
            assert response.status_code < 500, f"{method} {path}: {response.text[:300]}"
            found = _leaks(response)
            if found:
                leaks.append(f"{method} {path} -> {response.status_code}: {found}")
    assert leaks == []
    # Nothing any of them sent changed the hidden datasets.
    with installation.catalog.session() as session:
        protected = service.get_dataset(session, world["protected"])
        draft = service.get_dataset(session, world["draft"])
        assert protected.title == SECRET_TITLE and protected.current_version.number == 1
        assert draft.publication_state == "draft" and draft.current_version.number == 1
    story = (installation.settings.home / "stories" / f"{DRAFT_STORY}.md").read_text("utf-8")
    assert "status: draft" in story and "Wqpz words." in story
    assert sorted(p.name for p in (installation.settings.home / "stories").iterdir()) == [
        f"{DRAFT_STORY}.md"
    ]


@pytest.mark.parametrize("who", ["anonymous", "other.publisher"])
def test_counts_leave_out_what_the_caller_may_not_see(live_server, world, who):
    key = None if who == "anonymous" else world["keys"][who]
    with httpx.Client(base_url=live_server.url, headers=basic_auth(key), timeout=30) as client:
        agencies = {a["code"]: a for a in client.get("/api/v1/agencies").json()["results"]}
        assert agencies["OWN"]["dataset_count"] == 0
        assert client.get("/api/v1/datasets").json()["total"] == 1
        assert client.get("/api/catalog/v1").json()["resultSetSize"] == 1
        assert len(client.get("/data.json").json()["dataset"]) == 1


def test_the_walk_does_reach_the_rows_for_those_allowed(installation, live_server, world):
    """The walk above would pass vacuously if the markers could never show; they do show to
    the owning agency."""
    with installation.catalog.session() as session:
        add_user(session, "own.publisher", "publisher", "OWN")
        key, secret = create_key(session, "own.publisher")
    with httpx.Client(
        base_url=live_server.url, headers=basic_auth(f"{key.key_id}:{secret}"), timeout=30
    ) as client:
        rows = client.get(f"/resource/{world['protected']}.json", params={"$limit": 1})
        assert _leaks(rows)
        count = client.get(f"/resource/{world['protected']}.json?$select=count(*)")
        assert str(SECRET_ROWS) in count.text
        assert DRAFT_TITLE in client.get(f"/api/v1/datasets/{world['draft']}").text
        assert DRAFT_TITLE in client.get(f"/stories/{DRAFT_STORY}").text
        assert DRAFT_TITLE in client.get(f"/staff/stories/{DRAFT_STORY}/edit").text


def test_a_listed_non_public_dataset_shows_its_metadata_but_never_its_rows(
    installation, live_server, world, dcat_validator
):
    with installation.catalog.session() as session:
        session.get(Dataset, world["protected"]).metadata_public = True
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        catalog = client.get("/data.json").json()
        dcat_validator.validate(catalog)
        entry = next(d for d in catalog["dataset"] if d["title"] == SECRET_TITLE)
        assert entry["accessLevel"] == "non-public"
        assert "data sharing agreement" in entry["rights"]
        assert "distribution" not in entry
        assert client.get(f"/api/v1/datasets/{world['protected']}").status_code == 200
        for path in (
            f"/resource/{world['protected']}.json",
            f"/resource/{world['protected']}/1.json",
            f"/api/v1/datasets/{world['protected']}/rows.csv",
        ):
            answer = client.get(path)
            assert answer.status_code == 403, path
            assert SECRET_VALUE not in answer.text
