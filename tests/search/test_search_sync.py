"""The index follows the catalog by itself: a publish, a metadata change, an approval, a
retirement, a new dataset; a missing or outdated index is rebuilt; another process's changes
are seen; random query text never breaks a search."""

from __future__ import annotations

import json
import subprocess
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from statedata.access import ANONYMOUS
from statedata.catalog import DatasetMetadata, drafts, service
from statedata.freshness import retirement
from statedata.ingest import open_table
from statedata.search import reindex, search
from statedata.search.sync import META_FILE, index_path
from statedata.storage import NewDataset, publish

from .conftest import DRAFT_TITLE


def titles(installation, q: str, actor=ANONYMOUS) -> list[str]:  # type: ignore[no-untyped-def]
    return [h.title for h in search(installation, actor, q=q).hits]


def test_a_publish_is_found_at_once_with_its_columns(installation, catalog, write_file):
    assert search(installation, ANONYMOUS).total == 8
    new = publish(
        installation,
        open_table(write_file("ferries.csv", "ferry_route,sailings\nChester-Hadlyme,12\n")),
        new=NewDataset(DatasetMetadata(title="River Ferry Sailings"), "DOT"),
    ).dataset_id
    assert titles(installation, "ferry") == ["River Ferry Sailings"]
    # Column names are searched too.
    assert [h.id for h in search(installation, ANONYMOUS, q="sailings route").hits] == [new]
    hit = search(installation, ANONYMOUS, q="ferry").hits[0]
    assert hit.data_updated_at is not None and hit.url == f"/d/{new}"
    # A new version of existing rows moves its update time.
    before = hit.data_updated_at
    publish(
        installation,
        open_table(write_file("ferries2.csv", "ferry_route,sailings\nRocky Hill,3\n")),
        dataset_id=new,
    )
    assert search(installation, ANONYMOUS, q="ferry").hits[0].data_updated_at > before


def test_a_metadata_change_is_found_at_once(installation, catalog):
    assert titles(installation, "bridge inspection") == ["Bridge Inspection Reports"]
    # Counted (and kept for the next page) before the change, counted again after it.
    tags = {v for v, _, _ in search(installation, ANONYMOUS).facets["tag"]}
    assert "bridges" in tags and "culverts" not in tags
    with installation.catalog.session() as session:
        service.update_metadata(
            session,
            catalog["Bridge Inspection Reports"],
            DatasetMetadata(title="Culvert Condition Reports", tags=["culverts"]),
            installation.settings.categories,
        )
    assert titles(installation, "bridge inspection") == []
    assert titles(installation, "culvert") == ["Culvert Condition Reports"]
    tags = {v for v, _, _ in search(installation, ANONYMOUS).facets["tag"]}
    assert "culverts" in tags and "bridges" not in tags


def test_an_approval_opens_a_draft_to_everyone(installation, catalog):
    assert titles(installation, "wqpzt") == []
    with installation.catalog.session() as session:
        drafts.approve_dataset(session, catalog[DRAFT_TITLE], "dcp.officer")
    assert titles(installation, "wqpzt") == [DRAFT_TITLE]


def test_a_new_draft_and_a_class_change_close_it_again(installation, catalog):
    with installation.catalog.session() as session:
        dataset = service.create_dataset(
            session,
            DatasetMetadata(title="Ferry Tickets"),
            "DOT",
            installation.settings.categories,
        )
        ferry = dataset.id
    assert titles(installation, "ferry") == ["Ferry Tickets"]
    with installation.catalog.session() as session:
        service.update_metadata(
            session,
            ferry,
            DatasetMetadata(classification="personal"),
            installation.settings.categories,
        )
    assert titles(installation, "ferry") == []


def test_a_retirement_takes_a_dataset_out_of_search(installation, catalog):
    assert titles(installation, "liquor") == ["Liquor Permits"]
    with installation.catalog.session() as session:
        retirement.retire(
            session, catalog["Liquor Permits"], "published_by_mistake", "dcp.officer", 30
        )
    assert titles(installation, "liquor") == []
    assert search(installation, ANONYMOUS).total == 7


def test_a_missing_or_outdated_index_is_rebuilt(installation, catalog):
    assert search(installation, ANONYMOUS, q="crash").total == 1
    folder = index_path(installation)
    meta = json.loads((folder / META_FILE).read_text())
    meta["schema_version"] = 0
    (folder / META_FILE).write_text(json.dumps(meta))
    assert reindex(installation) == 10  # every dataset but the retired one
    assert json.loads((folder / META_FILE).read_text())["schema_version"] > 0
    assert reindex(installation, full=True) == 10
    assert search(installation, ANONYMOUS, q="crash").total == 1


CHILD = """
import sys
from statedata.catalog import DatasetMetadata, service
from statedata.installation import Installation
from statedata.search import search
from statedata.access import ANONYMOUS
inst = Installation.open(sys.argv[1], **({"database_url": sys.argv[2]} if sys.argv[2] else {}))
with inst.catalog.session() as session:
    service.create_dataset(session, DatasetMetadata(title="Lighthouse Keepers"), "DOT",
                           inst.settings.categories)
print(search(inst, ANONYMOUS, q="lighthouse").total)
"""


def test_another_process_changes_are_seen(installation, catalog):
    assert titles(installation, "lighthouse") == []
    url = installation.settings.database_url or ""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(installation.settings.home), url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"
    # The other process wrote the index; this one reloads it.
    assert titles(installation, "lighthouse") == ["Lighthouse Keepers"]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    q=st.text(max_size=120)
    | st.lists(
        st.sampled_from(
            [
                '"',
                "(",
                ")",
                "AND",
                "OR",
                "NOT",
                "title:",
                "*",
                "~2",
                "^3",
                "-",
                "+",
                "[",
                "]",
                "{",
                "}",
                "\\",
                "restaurant",
                "inspections",
                "é",
                "\x00",
                "TO",
                ":",
                "'",
            ]
        ),
        max_size=12,
    ).map(" ".join)
)
def test_random_query_text_never_breaks_a_search(installation, catalog, q):
    result = search(installation, ANONYMOUS, q=q)
    assert result.total >= 0 and len(result.hits) <= 20
    for hit in result.hits:
        # Markup in snippets is only the marks; everything else is escaped.
        assert "<" not in hit.snippet.replace("<mark>", "").replace("</mark>", "")


def test_searches_in_threads_while_the_catalog_changes(installation, catalog):
    import threading

    errors: list[BaseException] = []
    stop = threading.Event()

    def searching() -> None:
        while not stop.is_set():
            try:
                result = search(installation, ANONYMOUS, q="ferry boats")
                assert all(h.title.startswith("Ferry") for h in result.hits)
            except BaseException as error:  # collected, and failed on below
                errors.append(error)
                return

    threads = [threading.Thread(target=searching) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for n in range(8):
            with installation.catalog.session() as session:
                service.create_dataset(
                    session,
                    DatasetMetadata(title=f"Ferry Boats {n}"),
                    "DOT",
                    installation.settings.categories,
                )
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    assert errors == []
    assert search(installation, ANONYMOUS, q="ferry boats").total == 8
