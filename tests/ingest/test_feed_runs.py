"""Feed runs end to end on SQLite and PostgreSQL, against real sources on loopback: HTTP
servers (a good one, one that fails with 500, one too slow, one sending HTML, one whose columns
change), a drop folder, a SQL database, another statedata portal over SODA, a CKAN-shaped
portal, and an SMTP sink for the email notices."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from statedata.access.accounts import add_user
from statedata.access.policy import Actor, Role
from statedata.catalog import DatasetMetadata, service
from statedata.catalog.feeds import Feed, FeedRun
from statedata.catalog.models import AuditEvent, Dataset, Version
from statedata.catalog.sharing import Notice
from statedata.ingest import open_table
from statedata.ingest.feeds import NewFeed, create_feed, run_feed
from statedata.ingest.feeds.reach import Reach
from statedata.ingest.feeds.schedule import aware, next_run
from statedata.notify.email import send_pending
from statedata.storage import NewDataset, publish
from statedata.storage.versions import version_rows_sql

OPERATOR = Actor(name="operator", roles=frozenset({Role.CDO}))
pytestmark = pytest.mark.usefixtures("loopback_feeds")
FIRST = "town,cases\nAndover,1\nBethel,2\n"
SECOND = "town,cases\nAndover,1\nBethel,3\nCanton,4\n"


class Route:
    def __init__(
        self,
        body: bytes | str,
        status: int = 200,
        content_type: str = "text/csv",
        delay: float = 0.0,
    ) -> None:
        self.body = body.encode() if isinstance(body, str) else body
        self.status = status
        self.content_type = content_type
        self.delay = delay


class SourceServer:
    """A small HTTP server on loopback; `routes` maps a path (with its query, if any matters)
    to what it answers, and can be changed while it runs. `handler` overrides for a path."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.handlers: dict[str, object] = {}
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                parts = urlsplit(self.path)
                if parts.path in server.handlers:
                    status, content_type, body = server.handlers[parts.path](  # type: ignore[operator]
                        parse_qs(parts.query)
                    )
                    route = Route(body, status, content_type)
                else:
                    route = server.routes.get(self.path) or server.routes.get(parts.path)
                if route is None:
                    route = Route("not here", 404, "text/plain")
                if route.delay:
                    time.sleep(route.delay)
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(route.body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[SourceServer]:
    running = SourceServer()
    yield running
    running.stop()


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A loopback port that refuses connections: bound but never listening, and held for the
    test, so no other process (another test worker) can start listening there meanwhile."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        yield holder.getsockname()[1]


def start_smtp(handler: object, **options: object):  # type: ignore[no-untyped-def]
    """aiosmtpd's server in a thread on a loopback port the system picks when it binds (a port
    picked beforehand could be taken by another process in between); `.port` is that port."""
    from aiosmtpd.controller import Controller

    class LoopbackController(Controller):
        def _trigger_server(self) -> None:
            # aiosmtpd's start-up check connects to `self.port`: make it the port bound.
            self.port = self.server.sockets[0].getsockname()[1]
            super()._trigger_server()

    controller = LoopbackController(handler, hostname="127.0.0.1", port=0, **options)
    controller.start()
    return controller


class Sink:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_sink() -> Iterator[tuple[Sink, int]]:
    sink = Sink()
    controller = start_smtp(sink)
    yield sink, controller.port
    controller.stop()


def make_dataset(installation, write_file, text: str = FIRST, row_id: str | None = None) -> str:
    path = write_file("first.csv", text)
    metadata = DatasetMetadata(title="Cases by town", row_identifier=row_id)
    return publish(installation, open_table(path), new=NewDataset(metadata, "DPH")).dataset_id


def add_feed(installation, dataset_id: str, kind: str, source: dict, **fields: object) -> int:
    with installation.catalog.session() as session:
        new = NewFeed(
            kind=kind, source=source, schedule=fields.pop("schedule", "0 6 * * *"), **fields
        )
        return create_feed(
            session, OPERATOR, dataset_id, new, reach=Reach.of(installation.settings)
        ).id


def rows(installation, dataset_id: str) -> list[tuple]:
    with installation.catalog.session() as session:
        version = service.get_dataset(session, dataset_id).current_version
        sql = version_rows_sql(installation, version)
    import duckdb

    columns = [c for c, *_ in duckdb.sql(f"DESCRIBE {sql}").fetchall() if not c.startswith(":")]
    select_list = ", ".join(f'"{c}"' for c in columns)
    return duckdb.sql(f"SELECT {select_list} FROM ({sql}) ORDER BY 1").fetchall()


def versions(installation, dataset_id: str) -> list[Version]:
    with installation.catalog.session() as session:
        found = session.scalars(
            select(Version).where(Version.dataset_id == dataset_id).order_by(Version.number)
        ).all()
        session.expunge_all()
        return list(found)


def feed_row(installation, feed_id: int) -> Feed:
    with installation.catalog.session() as session:
        feed = session.get(Feed, feed_id)
        session.expunge(feed)
        return feed


# Publishing ---------------------------------------------------------------------------------


def test_http_feed_publishes_through_publish_with_its_source_named(
    installation, agency, write_file, server
):
    dataset_id = make_dataset(installation, write_file)
    server.routes["/cases.csv"] = Route(SECOND)
    feed_id = add_feed(installation, dataset_id, "http", {"url": f"{server.url}/cases.csv"})

    run = run_feed(installation, feed_id)

    assert run["status"] == "succeeded", run["error"]
    assert run["rows_in"] == 3 and run["version"] == 2 and run["attempt"] == 1
    # Bethel changed (counted in both versions) and Canton is new.
    assert run["rows_changed"] == 3
    assert rows(installation, dataset_id) == [("Andover", 1), ("Bethel", 3), ("Canton", 4)]
    latest = versions(installation, dataset_id)[-1]
    assert latest.source == f"feed:{feed_id}" and latest.mode == "replace"
    with installation.catalog.session() as session:
        actions = [
            (e.actor, e.action)
            for e in session.scalars(select(AuditEvent).where(AuditEvent.dataset_id == dataset_id))
        ]
    assert (f"feed:{feed_id}", "dataset.publish") in actions
    assert (f"feed:{feed_id}", "feed.publish") in actions
    assert ("operator", "feed.create") in actions
    feed = feed_row(installation, feed_id)
    assert feed.last_status == "succeeded" and feed.consecutive_failures == 0
    # Next run: the schedule's next 6 a.m. in the installation's time zone.
    assert aware(feed.next_run_at) > dt.datetime.now(dt.UTC)


def test_same_source_again_is_unchanged_and_publishes_nothing(
    installation, agency, write_file, server
):
    dataset_id = make_dataset(installation, write_file)
    server.routes["/cases.csv"] = Route(SECOND)
    feed_id = add_feed(installation, dataset_id, "http", {"url": f"{server.url}/cases.csv"})
    assert run_feed(installation, feed_id)["status"] == "succeeded"

    again = run_feed(installation, feed_id)

    assert again["status"] == "unchanged" and again["version"] is None
    assert len(versions(installation, dataset_id)) == 2
    server.routes["/cases.csv"] = Route(SECOND + "Darien,5\n")
    changed = run_feed(installation, feed_id)
    assert changed["status"] == "succeeded" and changed["rows_changed"] == 1
    assert len(versions(installation, dataset_id)) == 3


def test_json_and_geojson_sources_are_read(installation, agency, write_file, server):
    dataset_id = make_dataset(installation, write_file)
    server.routes["/cases.json"] = Route(
        json.dumps([{"town": "Andover", "cases": 7}, {"town": "Bethel", "cases": 8}]),
        content_type="application/json",
    )
    feed_id = add_feed(installation, dataset_id, "http", {"url": f"{server.url}/cases.json"})
    assert run_feed(installation, feed_id)["status"] == "succeeded"
    assert rows(installation, dataset_id) == [("Andover", 7), ("Bethel", 8)]

    features = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"town": "Andover", "cases": 9},
                "geometry": {"type": "Point", "coordinates": [-72.37, 41.73]},
            }
        ],
    }
    other = make_dataset(installation, write_file, "town,cases\nX,1\n")
    server.routes["/towns"] = Route(json.dumps(features), content_type="application/geo+json")
    geo_feed = add_feed(installation, other, "http", {"url": f"{server.url}/towns"})
    run = run_feed(installation, geo_feed)
    assert run["status"] == "succeeded", run["error"]
    with installation.catalog.session() as session:
        names = [c.field_name for c in service.get_dataset(session, other).columns]
    assert {"town", "cases"} <= set(names) and any("geom" in n for n in names)


def test_upsert_feed_counts_created_updated_and_deleted(installation, agency, write_file, server):
    dataset_id = make_dataset(installation, write_file, row_id="town")
    server.routes["/changes.csv"] = Route(
        "town,cases,:deleted\nBethel,20,false\nCanton,4,false\nAndover,,true\n"
    )
    feed_id = add_feed(
        installation, dataset_id, "http", {"url": f"{server.url}/changes.csv"}, mode="upsert"
    )
    run = run_feed(installation, feed_id)
    assert run["status"] == "succeeded", run["error"]
    assert run["rows_changed"] == 3  # Canton created, Bethel updated, Andover deleted
    assert rows(installation, dataset_id) == [("Bethel", 20), ("Canton", 4)]


def test_transforms_rename_cast_and_drop_before_publishing(
    installation, agency, write_file, server
):
    dataset_id = make_dataset(installation, write_file)
    server.routes["/raw.csv"] = Route("Town Name,Cases,internal note\nAndover,10,x\nBethel,11,y\n")
    feed_id = add_feed(
        installation,
        dataset_id,
        "http",
        {"url": f"{server.url}/raw.csv"},
        transforms=[
            {"rename": {"Town Name": "town", "Cases": "cases"}},
            {"cast": {"cases": "number"}},
            {"drop": ["internal note"]},
        ],
    )
    run = run_feed(installation, feed_id)
    assert run["status"] == "succeeded", run["error"]
    with installation.catalog.session() as session:
        columns = {
            c.field_name: c.storage_type for c in service.get_dataset(session, dataset_id).columns
        }
    # The dataset's own type (BIGINT) wins over the cast: a feed keeps the dataset's types.
    assert columns == {"town": "VARCHAR", "cases": "BIGINT"}
    assert rows(installation, dataset_id) == [("Andover", 10), ("Bethel", 11)]


# Failures -----------------------------------------------------------------------------------


FAILURES = {
    "down": (Route("oops", 500, "text/plain"), "had an error on its side (HTTP 500)"),
    "slow": (Route(SECOND, delay=3.0), "did not answer within 1 seconds (too slow)"),
    "html": (
        Route("<!DOCTYPE html><html><body>Sign in</body></html>", content_type="text/html"),
        "sent a web page (HTML) instead of data",
    ),
    "column gone": (Route("town,count\nAndover,1\n"), "'cases' is missing"),
    "type changed": (
        Route("town,cases\nAndover,1\nBethel,many\n"),
        "Row 2, column 'cases': 'many' is not a number",
    ),
}


@pytest.mark.parametrize("failure", sorted(FAILURES))
def test_a_failing_source_fails_the_run_and_leaves_the_dataset_alone(
    installation, agency, write_file, server, failure
):
    installation.settings.feed_timeout_seconds = 1.0
    dataset_id = make_dataset(installation, write_file)
    route, message = FAILURES[failure]
    server.routes["/cases.csv"] = route
    feed_id = add_feed(installation, dataset_id, "http", {"url": f"{server.url}/cases.csv"})
    before = versions(installation, dataset_id)
    started = dt.datetime.now(dt.UTC)

    run = run_feed(installation, feed_id)

    assert run["status"] == "failed"
    assert message in run["error"]
    assert [v.number for v in versions(installation, dataset_id)] == [v.number for v in before]
    assert rows(installation, dataset_id) == [("Andover", 1), ("Bethel", 2)]
    with installation.catalog.session() as session:
        assert service.get_dataset(session, dataset_id).current_version.number == 1
    feed = feed_row(installation, feed_id)
    assert feed.consecutive_failures == 1 and feed.last_status == "failed"
    # The first retry comes five minutes later.
    wait = aware(feed.next_run_at) - started
    assert dt.timedelta(minutes=5) <= wait < dt.timedelta(minutes=5, seconds=30)
    staging = installation.settings.data_dir / "_staging"
    assert not any(staging.glob("feed-*")), "the run left its staging files behind"


def test_retries_back_off_then_wait_for_the_next_scheduled_time(
    installation, agency, write_file, server
):
    installation.settings.feed_max_attempts = 4
    dataset_id = make_dataset(installation, write_file)
    server.routes["/cases.csv"] = Route("oops", 503, "text/plain")
    feed_id = add_feed(installation, dataset_id, "http", {"url": f"{server.url}/cases.csv"})
    waits = []
    attempts = []
    ends = []
    for _ in range(5):
        run = run_feed(installation, feed_id)
        attempts.append(run["attempt"])
        ends.append(aware(run["finished_at"]))
        waits.append(aware(feed_row(installation, feed_id).next_run_at) - ends[-1])
    assert attempts == [1, 2, 3, 4, 1]
    assert [round(w.total_seconds() / 60) for w in waits[:3]] == [5, 10, 20]
    # After the fourth try the feed waits for its schedule: the next 6 a.m. in New York.
    assert ends[3] + waits[3] == next_run("0 6 * * *", ends[3], "America/New_York")
    # The next run starts a new round of tries.
    assert round(waits[4].total_seconds() / 60) == 5


def test_failure_streak_tells_the_agency_once_in_app_and_by_email(
    installation, agency, write_file, server, smtp_sink
):
    sink, port = smtp_sink
    installation.settings.smtp_host = "127.0.0.1"
    installation.settings.smtp_port = port
    installation.settings.smtp_from = "portal@example.gov"
    with installation.catalog.session() as session:
        service.add_agency(session, "DOT", "Department of Transportation")
        add_user(session, "dph.officer", "data_officer", "DPH", email="officer@dph.example.gov")
        add_user(session, "dph.publisher", "publisher", "DPH", email="publisher@dph.example.gov")
        add_user(session, "dph.quiet", "publisher", "DPH")
        add_user(session, "dot.officer", "data_officer", "DOT", email="officer@dot.example.gov")
        add_user(session, "ana.lyst", "analyst", None, email="analyst@example.org")
    dataset_id = make_dataset(installation, write_file)
    server.routes["/cases.csv"] = Route("oops", 500, "text/plain")
    feed_id = add_feed(installation, dataset_id, "http", {"url": f"{server.url}/cases.csv"})

    run_feed(installation, feed_id)
    run_feed(installation, feed_id)  # a retry that fails again: no second notice

    with installation.catalog.session() as session:
        found = session.scalars(select(Notice).where(Notice.kind == "feed.failed")).all()
        assert len(found) == 1
        assert "HTTP 500" in found[0].body and "not changed" in found[0].body
        assert found[0].emailed_at is not None
    assert len(sink.messages) == 1
    sender, recipients, content = sink.messages[0]
    assert sender == "portal@example.gov"
    assert sorted(recipients) == ["officer@dph.example.gov", "publisher@dph.example.gov"]
    assert b"HTTP 500" in content and b"Cases by town" in content

    server.routes["/cases.csv"] = Route(SECOND)
    assert run_feed(installation, feed_id)["status"] == "succeeded"
    server.routes["/cases.csv"] = Route("oops", 500, "text/plain")
    run_feed(installation, feed_id)  # a new streak: a new notice and a new email
    with installation.catalog.session() as session:
        assert session.query(Notice).filter(Notice.kind == "feed.failed").count() == 2
    assert len(sink.messages) == 2


def test_email_waits_while_the_smtp_server_is_down(
    installation, agency, write_file, server, smtp_sink, refused_port
):
    sink, port = smtp_sink
    installation.settings.smtp_host = "127.0.0.1"
    installation.settings.smtp_port = refused_port
    with installation.catalog.session() as session:
        add_user(session, "dph.officer", "data_officer", "DPH", email="officer@dph.example.gov")
    dataset_id = make_dataset(installation, write_file)
    server.routes["/cases.csv"] = Route("oops", 500, "text/plain")
    feed_id = add_feed(installation, dataset_id, "http", {"url": f"{server.url}/cases.csv"})
    assert run_feed(installation, feed_id)["status"] == "failed"
    with installation.catalog.session() as session:
        assert session.scalar(select(Notice.emailed_at)) is None

    installation.settings.smtp_port = port
    assert send_pending(installation) == 1
    assert send_pending(installation) == 0
    assert [m[1] for m in sink.messages] == [["officer@dph.example.gov"]]


# Other kinds of source ----------------------------------------------------------------------


def test_folder_feed_takes_each_dropped_file_once(installation, agency, write_file):
    dataset_id = make_dataset(installation, write_file)
    drop = installation.settings.drop_root / "dph"
    drop.mkdir(parents=True)
    feed_id = add_feed(installation, dataset_id, "folder", {"path": str(drop), "pattern": "*.csv"})
    (drop / "a.csv").write_text(SECOND)
    time.sleep(0.01)
    (drop / "b.csv").write_text("town,cases\nAndover,9\n")
    (drop / "notes.txt").write_text("not taken: the pattern is *.csv")

    first = run_feed(installation, feed_id)
    assert first["status"] == "succeeded" and first["rows_in"] == 3
    # Another file waits, so the feed is due again at once.
    assert aware(feed_row(installation, feed_id).next_run_at) <= dt.datetime.now(dt.UTC)
    second = run_feed(installation, feed_id)
    assert second["status"] == "succeeded" and rows(installation, dataset_id) == [("Andover", 9)]
    assert sorted(p.name for p in (drop / "done").iterdir()) == ["a.csv", "b.csv"]
    assert run_feed(installation, feed_id)["status"] == "unchanged"  # nothing new

    (drop / "c.csv").write_text("town,count\nAndover,1\n")
    failed = run_feed(installation, feed_id)
    assert failed["status"] == "failed" and "'cases' is missing" in failed["error"]
    assert (drop / "failed" / "c.csv").exists()
    assert "'cases' is missing" in (drop / "failed" / "c.csv.error.txt").read_text()
    assert rows(installation, dataset_id) == [("Andover", 9)]


def test_sql_feed_streams_a_query_to_a_new_version(installation, agency, write_file, tmp_path):
    source_db = tmp_path / "agency.sqlite"
    with sqlite3.connect(source_db) as connection:
        connection.execute("CREATE TABLE cases (town TEXT, cases INTEGER)")
        connection.executemany(
            "INSERT INTO cases VALUES (?, ?)", [(f"Town {i:05d}", i) for i in range(12_345)]
        )
    dataset_id = make_dataset(installation, write_file)
    installation.settings.feed_databases = {"agency": f"sqlite:///{source_db}"}
    feed_id = add_feed(
        installation,
        dataset_id,
        "sql",
        {"database": "agency", "query": "SELECT town, cases FROM cases"},
    )
    run = run_feed(installation, feed_id)
    assert run["status"] == "succeeded", run["error"]
    assert run["rows_in"] == 12_345
    assert rows(installation, dataset_id)[-1] == ("Town 12344", 12344)


def test_sql_feed_errors_never_show_the_password(installation, agency, write_file, refused_port):
    dataset_id = make_dataset(installation, write_file)
    installation.settings.feed_databases = {
        "agency": f"postgresql://reader:S3cretPw@127.0.0.1:{refused_port}/agency"
    }
    feed_id = add_feed(
        installation, dataset_id, "sql", {"database": "agency", "query": "SELECT * FROM cases"}
    )
    run = run_feed(installation, feed_id)
    assert run["status"] == "failed" and "query failed" in run["error"]
    assert "S3cretPw" not in json.dumps(run, default=str)
    with installation.catalog.session() as session:
        audit_text = json.dumps(
            [e.detail for e in session.scalars(select(AuditEvent))], default=str
        )
        notice_text = json.dumps([n.body for n in session.scalars(select(Notice))])
    assert "S3cretPw" not in audit_text and "S3cretPw" not in notice_text


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_soda_feed_pages_through_another_portal(installation, agency, write_file, serve, fmt):
    lines = "".join(f"Town {i:02d},{i}\n" for i in range(25))
    original = make_dataset(installation, write_file, "town,cases\n" + lines)
    copy = make_dataset(installation, write_file, "town,cases\nX,1\n")
    portal = serve(installation)
    try:
        feed_id = add_feed(
            installation,
            copy,
            "soda",
            {"portal": portal.url, "dataset": original, "page_size": 10, "format": fmt},
        )
        run = run_feed(installation, feed_id)
    finally:
        portal.stop()
    assert run["status"] == "succeeded", run["error"]
    assert run["rows_in"] == 25
    assert rows(installation, copy) == rows(installation, original)


def ckan_server(server: SourceServer, records: list[dict]) -> None:
    resource = {
        "id": "res-1",
        "name": "cases.csv",
        "format": "CSV",
        "url": f"{server.url}/files/cases.csv",
    }

    def action(result: object) -> tuple[int, str, bytes]:
        return 200, "application/json", json.dumps({"success": True, "result": result}).encode()

    def package_show(query: dict) -> tuple[int, str, bytes]:
        if query.get("id") != ["town-cases"]:
            return 404, "application/json", b'{"success": false, "error": {"message": "Not found"}}'
        return action({"name": "town-cases", "resources": [resource]})

    def resource_show(query: dict) -> tuple[int, str, bytes]:
        if query.get("id") != ["res-1"]:
            return 404, "application/json", b'{"success": false, "error": {"message": "Not found"}}'
        return action(resource)

    def datastore_search(query: dict) -> tuple[int, str, bytes]:
        limit, offset = int(query["limit"][0]), int(query["offset"][0])
        page = [{"_id": i + 1, **r} for i, r in enumerate(records)][offset : offset + limit]
        return action({"records": page, "total": len(records)})

    server.handlers["/api/3/action/package_show"] = package_show
    server.handlers["/api/3/action/resource_show"] = resource_show
    server.handlers["/api/3/action/datastore_search"] = datastore_search
    server.routes["/files/cases.csv"] = Route(SECOND)


@pytest.mark.parametrize(
    "source",
    [
        {"resource": "res-1"},
        {"package": "town-cases", "resource": "cases.csv"},
        {"resource": "res-1", "method": "datastore", "page_size": 2},
    ],
    ids=["resource_show", "package_show", "datastore"],
)
def test_ckan_feed_reads_a_resource(installation, agency, write_file, server, source):
    ckan_server(
        server,
        [
            {"town": "Andover", "cases": 1},
            {"town": "Bethel", "cases": 3},
            {"town": "Canton", "cases": 4},
        ],
    )
    dataset_id = make_dataset(installation, write_file)
    feed_id = add_feed(installation, dataset_id, "ckan", {"portal": server.url, **source})
    run = run_feed(installation, feed_id)
    assert run["status"] == "succeeded", run["error"]
    assert rows(installation, dataset_id) == [("Andover", 1), ("Bethel", 3), ("Canton", 4)]


def test_ckan_feed_names_a_missing_package(installation, agency, write_file, server):
    ckan_server(server, [])
    dataset_id = make_dataset(installation, write_file)
    feed_id = add_feed(
        installation, dataset_id, "ckan", {"portal": server.url, "package": "gone", "resource": "x"}
    )
    run = run_feed(installation, feed_id)
    assert run["status"] == "failed" and "has no package 'gone'" in run["error"]


def test_dataset_without_rows_yet_gets_its_first_version_from_a_feed(installation, agency, server):
    with installation.catalog.session() as session:
        dataset_id = service.create_dataset(
            session, DatasetMetadata(title="Empty so far"), "DPH", installation.settings.categories
        ).id
    server.routes["/cases.csv"] = Route(SECOND)
    feed_id = add_feed(installation, dataset_id, "http", {"url": f"{server.url}/cases.csv"})
    run = run_feed(installation, feed_id)
    assert run["status"] == "succeeded" and run["version"] == 1 and run["rows_changed"] == 3
    with installation.catalog.session() as session:
        dataset = session.get(Dataset, dataset_id)
        assert dataset.current_version.source == f"feed:{feed_id}"
        runs = session.scalars(select(FeedRun).where(FeedRun.feed_id == feed_id)).all()
        assert [r.status for r in runs] == ["succeeded"]


def test_folder_source_must_exist(installation, agency, write_file, tmp_path):
    from statedata.errors import InvalidInput

    dataset_id = make_dataset(installation, write_file)
    with pytest.raises(InvalidInput, match="source.path"):
        add_feed(installation, dataset_id, "folder", {"path": str(tmp_path / "nowhere")})


def test_excel_source_is_read(installation, agency, write_file, server, tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in (("town", "cases"), ("Andover", 21), ("Bethel", 22)):
        sheet.append(row)
    book.save(tmp_path / "cases.xlsx")
    server.routes["/download?id=7"] = Route(
        (tmp_path / "cases.xlsx").read_bytes(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    dataset_id = make_dataset(installation, write_file)
    feed_id = add_feed(installation, dataset_id, "http", {"url": f"{server.url}/download?id=7"})
    run = run_feed(installation, feed_id)
    assert run["status"] == "succeeded", run["error"]
    assert rows(installation, dataset_id) == [("Andover", 21), ("Bethel", 22)]


def test_a_feed_runs_once_at_a_time(installation, agency, write_file, server):
    from statedata.errors import Conflict

    dataset_id = make_dataset(installation, write_file)
    server.routes["/cases.csv"] = Route(SECOND, delay=1.5)
    feed_id = add_feed(installation, dataset_id, "http", {"url": f"{server.url}/cases.csv"})
    first: list[dict] = []
    running = threading.Thread(target=lambda: first.append(run_feed(installation, feed_id)))
    running.start()
    deadline = time.monotonic() + 10
    while not server.requests and time.monotonic() < deadline:
        time.sleep(0.02)
    with pytest.raises(Conflict, match=f"Feed {feed_id} is running now"):
        run_feed(installation, feed_id)
    running.join()
    assert first[0]["status"] == "succeeded"
    with installation.catalog.session() as session:
        assert session.query(FeedRun).filter(FeedRun.feed_id == feed_id).count() == 1
        # A mark left by a run that died long ago does not block the feed for ever.
        feed = session.get(Feed, feed_id)
        feed.last_status = "running"
        feed.last_run_at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    server.routes["/cases.csv"] = Route(SECOND + "Darien,5\n")
    assert run_feed(installation, feed_id)["status"] == "succeeded"


def test_a_folder_outside_the_drop_root_is_not_read(installation, agency, write_file, tmp_path):
    from statedata.errors import InvalidInput

    dataset_id = make_dataset(installation, write_file)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "secret.csv").write_text("town,cases\nAndover,99\n")
    with installation.catalog.session() as session, pytest.raises(InvalidInput, match="outside"):
        create_feed(
            session,
            OPERATOR,
            dataset_id,
            NewFeed(kind="folder", source={"path": str(elsewhere)}, schedule="0 6 * * *"),
            reach=Reach.of(installation.settings),
        )
    # One stored before the root moved is refused when it runs, and its files stay put.
    installation.settings.feed_folder_root = tmp_path
    feed_id = add_feed(installation, dataset_id, "folder", {"path": str(elsewhere)})
    installation.settings.feed_folder_root = None
    run = run_feed(installation, feed_id)
    assert run["status"] == "failed" and "outside" in run["error"]
    assert (elsewhere / "secret.csv").exists()
    assert rows(installation, dataset_id) == [("Andover", 1), ("Bethel", 2)]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_email_signs_in_to_the_smtp_server_when_set(
    installation, agency, write_file, caplog, monkeypatch
):
    # The sink answers a refused sign-in only by hanging up after a while.
    monkeypatch.setattr("statedata.notify.email.TIMEOUT_SECONDS", 2.0)
    from aiosmtpd.smtp import AuthResult, LoginPassword

    from statedata.catalog import notices

    tried: list[tuple[bytes, bytes]] = []

    def authenticator(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        assert isinstance(auth_data, LoginPassword)
        tried.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"mail-Secret-1")

    sink = Sink()
    controller = start_smtp(
        sink, authenticator=authenticator, auth_required=True, auth_require_tls=False
    )
    try:
        settings = installation.settings
        settings.smtp_host, settings.smtp_port = "127.0.0.1", controller.port
        settings.smtp_username, settings.smtp_password = "portal", "wrong-password"
        with installation.catalog.session() as session:
            add_user(session, "dph.officer", "data_officer", "DPH", email="officer@dph.example.gov")
            notices.notify_agency(session, service.get_agency(session, "DPH"), "test", "Hello")
        # A refused sign-in sends nothing and keeps the notice for the next try.
        assert send_pending(installation) == 0
        assert "wrong-password" not in caplog.text
        settings.smtp_password = "mail-Secret-1"
        assert send_pending(installation) == 1
    finally:
        controller.stop()
    assert tried[-1] == (b"portal", b"mail-Secret-1")
    assert [m[1] for m in sink.messages] == [["officer@dph.example.gov"]]
