"""What a feed may reach: internal addresses (loopback, private, link-local, cloud metadata),
databases the operator did not name and folders outside the drop root are refused when a feed
is set and again when it runs, at every redirect and after every DNS answer; what the
operator allows in `feed_allowed_hosts`, `feed_databases` and `feed_folder_root` is reached.
Real HTTP servers on loopback; the only stand-in is a resolver that answers as a DNS server
that changes its mind would."""

from __future__ import annotations

import ipaddress
import socket
import sqlite3
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import update

from statedata.access.policy import Actor, Role
from statedata.catalog import DatasetMetadata
from statedata.catalog.feeds import Feed
from statedata.errors import FeedSourceError, FeedSourceNotAllowed, InvalidInput
from statedata.ingest import open_table
from statedata.ingest.feeds import NewFeed, create_feed, run_feed, update_feed
from statedata.ingest.feeds.reach import Reach, is_public, parse_allowed
from statedata.ingest.feeds.service import FeedChange
from statedata.ingest.feeds.sources import HttpSource
from statedata.storage import NewDataset, publish

OPERATOR = Actor(name="operator", roles=frozenset({Role.CDO}))
CSV = "town,cases\nAndover,5\nBethel,6\n"


class Served:
    """A server on a loopback address answering CSV at /cases.csv and a redirect at /moved."""

    def __init__(self, host: str = "127.0.0.1", redirect_to: str | None = None) -> None:
        self.requests: list[tuple[str, str]] = []
        served = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                served.requests.append((self.path, self.headers.get("Host", "")))
                if self.path == "/moved" and served.redirect_to:
                    self.send_response(302)
                    self.send_header("Location", served.redirect_to)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = CSV.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/csv")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.redirect_to = redirect_to
        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://{host}:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def served() -> Iterator[Served]:
    running = Served()
    yield running
    running.stop()


@pytest.fixture
def other_loopback() -> Iterator[Served]:
    """A server on 127.0.0.2: the server's own network, but not the address allowed."""
    running = Served("127.0.0.2")
    yield running
    running.stop()


def answers(*addresses: str):  # type: ignore[no-untyped-def]
    """A resolver giving each address in turn (the last one for ever after)."""
    given_out: list[str] = []

    def resolve(host: str, port: int, *_: object) -> list[tuple]:
        address = addresses[min(len(given_out), len(addresses) - 1)]
        given_out.append(address)
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]

    return resolve


# Which addresses are public ------------------------------------------------------------------

INTERNAL = [
    "127.0.0.1",
    "127.8.9.10",
    "10.1.2.3",
    "172.16.5.4",
    "192.168.0.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.1",
    "240.0.0.1",
    "::1",
    "::",
    "fe80::1",
    "fd00::1",
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
]


@pytest.mark.parametrize("address", INTERNAL)
def test_internal_addresses_are_not_public(address):
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_are_public(address):
    assert is_public(ipaddress.ip_address(address))


internal_networks = st.sampled_from(
    ["127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "fc00::/7"]
)


@given(st.data())
def test_every_address_of_an_internal_network_is_refused_unless_allowed(data):
    network = ipaddress.ip_network(data.draw(internal_networks))
    address = data.draw(st.ip_addresses(network=network))
    assert not Reach().allows_address("example.gov", address)
    assert Reach(allowed_networks=(network,)).allows_address("example.gov", address)
    # The same address written as IPv4 inside IPv6 is the same address.
    if address.version == 4:
        mapped = ipaddress.ip_address(f"::ffff:{address}")
        assert not Reach().allows_address("example.gov", mapped)


def test_the_allow_list_takes_names_addresses_and_networks():
    names, networks = parse_allowed(["Warehouse.Agency.CT.gov.", "127.0.0.1", "10.20.0.0/16", ""])
    assert names == {"warehouse.agency.ct.gov"}
    assert [str(n) for n in networks] == ["127.0.0.1/32", "10.20.0.0/16"]
    with pytest.raises(ValueError, match="'http://x/' is neither a host name"):
        parse_allowed(["http://x/"])


# Refused when a feed is set --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "source", "field"),
    [
        ("http", {"url": "http://127.0.0.1:5432/"}, "source.url"),
        ("http", {"url": "http://169.254.169.254/latest/meta-data/"}, "source.url"),
        ("http", {"url": "http://[::1]:8000/admin"}, "source.url"),
        ("http", {"url": "http://[::ffff:127.0.0.1]/"}, "source.url"),
        ("http", {"url": "https://10.0.0.7/export.csv"}, "source.url"),
        ("http", {"url": "http://localhost:8000/api/v1/datasets"}, "source.url"),
        ("soda", {"portal": "http://192.168.1.20", "dataset": "abcd-2345"}, "source.portal"),
        ("ckan", {"portal": "http://127.0.0.1:5000", "resource": "r"}, "source.portal"),
    ],
)
def test_internal_addresses_are_refused_when_set(kind, source, field):
    with pytest.raises(FeedSourceNotAllowed) as refused:
        Reach().check_source(kind, source)
    assert refused.value.message.startswith(f"{field}: ")
    assert "not a public internet address" in refused.value.message
    assert "feed_allowed_hosts" in refused.value.message


def test_allowed_hosts_and_public_addresses_may_be_set():
    Reach().check_source("http", {"url": "http://93.184.216.34/cases.csv"})
    # A name that cannot be resolved now is checked again when the feed runs.
    Reach(resolver=answers_nothing).check_source("http", {"url": "https://nowhere.invalid/a.csv"})
    names, networks = parse_allowed(["localhost", "10.0.0.0/8"])
    allowed = Reach(allowed_names=names, allowed_networks=networks)
    allowed.check_source("http", {"url": "http://localhost:8000/cases.csv"})
    allowed.check_source("soda", {"portal": "http://10.4.5.6", "dataset": "abcd-2345"})


def answers_nothing(*_: object) -> list[tuple]:
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


def test_a_name_resolving_to_an_internal_address_is_refused():
    with pytest.raises(FeedSourceNotAllowed, match=r"data.agency.example \(10.9.8.7\)"):
        Reach(resolver=answers("10.9.8.7")).check_source(
            "http", {"url": "https://data.agency.example/cases.csv"}
        )
    Reach(resolver=answers_nothing).check_source("http", {"url": "https://gone.example/a.csv"})


def test_sql_feeds_name_a_database_the_operator_configured():
    reach = Reach(databases={"warehouse": "postgresql://reader:pw@db.internal/dph"})
    reach.check_source("sql", {"database": "warehouse", "query": "SELECT 1"})
    with pytest.raises(FeedSourceNotAllowed, match="source.database: there is no database named"):
        reach.check_source("sql", {"database": "catalog", "query": "SELECT 1"})
    with pytest.raises(FeedSourceNotAllowed, match="source.database_url: a feed may not give"):
        reach.check_source("sql", {"database_url": "sqlite:////srv/catalog.sqlite", "query": "x"})
    with pytest.raises(FeedSourceNotAllowed, match="has configured none"):
        Reach().check_source("sql", {"database": "warehouse", "query": "SELECT 1"})


def test_folders_must_lie_under_the_drop_root(tmp_path: Path):
    root = tmp_path / "drop"
    (root / "dph").mkdir(parents=True)
    secret = tmp_path / "secret"
    secret.mkdir()
    (root / "escape").symlink_to(secret, target_is_directory=True)
    reach = Reach(folder_root=root)
    reach.check_source("folder", {"path": str(root / "dph")})
    for path in (secret, root / "dph" / ".." / ".." / "secret", root / "escape"):
        with pytest.raises(FeedSourceNotAllowed, match="source.path: the folder is outside"):
            reach.check_source("folder", {"path": str(path)})
    with pytest.raises(FeedSourceNotAllowed, match="folder feeds are not allowed here"):
        Reach().check_source("folder", {"path": str(root / "dph")})


# Checked again when a feed runs ----------------------------------------------------------------


def test_a_host_whose_dns_answer_changes_is_not_reached(served, tmp_path):
    """The address checked is the address connected to: a name that resolved to a public
    address when checked and to loopback a moment later reaches nothing."""
    rebinding = Reach(resolver=answers("93.184.216.34", "127.0.0.1"))
    source = HttpSource(url=f"http://data.agency.example:{served.port}/cases.csv")
    with pytest.raises(FeedSourceNotAllowed, match=r"data.agency.example \(127.0.0.1\)"):
        source.fetch(tmp_path, 5.0, rebinding)
    assert served.requests == []


def test_an_allowed_name_is_reached_at_the_address_checked(served, tmp_path):
    names, _ = parse_allowed(["data.agency.example"])
    reach = Reach(allowed_names=names, resolver=answers("127.0.0.1"))
    source = HttpSource(url=f"http://data.agency.example:{served.port}/cases.csv")
    fetched = source.fetch(tmp_path, 5.0, reach)
    assert fetched.path.read_text() == CSV
    # The request still names its host, as a virtual host or TLS needs.
    assert served.requests == [("/cases.csv", f"data.agency.example:{served.port}")]


def test_a_redirect_to_an_address_not_allowed_is_not_followed(served, other_loopback, tmp_path):
    served.redirect_to = f"{other_loopback.url}/cases.csv"
    _, networks = parse_allowed(["127.0.0.1"])
    source = HttpSource(url=f"{served.url}/moved")
    with pytest.raises(FeedSourceNotAllowed, match="127.0.0.2 is not a public internet address"):
        source.fetch(tmp_path, 5.0, Reach(allowed_networks=networks))
    assert served.requests and other_loopback.requests == []
    # Allowed too, the redirect is followed.
    _, both = parse_allowed(["127.0.0.1", "127.0.0.2"])
    assert source.fetch(tmp_path, 5.0, Reach(allowed_networks=both)).path.read_text() == CSV


def make_dataset(installation, write_file) -> str:  # type: ignore[no-untyped-def]
    path = write_file("first.csv", "town,cases\nAndover,1\nBethel,2\n")
    metadata = DatasetMetadata(title="Cases by town")
    return publish(installation, open_table(path), new=NewDataset(metadata, "DPH")).dataset_id


def test_a_feed_set_while_allowed_fails_once_the_operator_takes_it_back(
    installation, agency, write_file, served
):
    installation.settings.feed_allowed_hosts = ["127.0.0.1"]
    dataset_id = make_dataset(installation, write_file)
    new = NewFeed(kind="http", source={"url": f"{served.url}/cases.csv"}, schedule="0 6 * * *")
    with installation.catalog.session() as session:
        feed_id = create_feed(
            session, OPERATOR, dataset_id, new, reach=Reach.of(installation.settings)
        ).id
    installation.settings.feed_allowed_hosts = []
    run = run_feed(installation, feed_id)
    assert run["status"] == "failed"
    assert "127.0.0.1 is not a public internet address" in run["error"]
    assert served.requests == []
    with installation.catalog.session() as session, pytest.raises(FeedSourceNotAllowed):
        update_feed(
            session,
            OPERATOR,
            feed_id,
            FeedChange(source={"url": f"{served.url}/other.csv"}),
            reach=Reach.of(installation.settings),
        )


def test_a_symlinked_file_in_a_drop_folder_is_not_taken(installation, agency, write_file, tmp_path):
    dataset_id = make_dataset(installation, write_file)
    drop = installation.settings.drop_root / "dph"
    drop.mkdir(parents=True)
    secret = tmp_path / "secret.csv"
    secret.write_text("town,cases\nAndover,99\n")
    (drop / "cases.csv").symlink_to(secret)
    new = NewFeed(kind="folder", source={"path": str(drop)}, schedule="0 6 * * *")
    with installation.catalog.session() as session:
        feed_id = create_feed(
            session, OPERATOR, dataset_id, new, reach=Reach.of(installation.settings)
        ).id
    assert run_feed(installation, feed_id)["status"] == "unchanged"
    assert secret.read_text() == "town,cases\nAndover,99\n"
    assert (drop / "cases.csv").is_symlink()


def test_sql_feeds_run_against_the_configured_database_only(
    installation, agency, write_file, tmp_path
):
    agency_db = tmp_path / "agency.sqlite"
    with sqlite3.connect(agency_db) as connection:
        connection.execute("CREATE TABLE cases (town TEXT, cases INTEGER)")
        connection.execute("INSERT INTO cases VALUES ('Andover', 3)")
    installation.settings.feed_databases = {"agency": f"sqlite:///{agency_db}"}
    dataset_id = make_dataset(installation, write_file)
    reach = Reach.of(installation.settings)
    with installation.catalog.session() as session:
        refused = NewFeed(
            kind="sql",
            source={"database_url": installation.settings.catalog_url, "query": "SELECT 1"},
            schedule="0 6 * * *",
        )
        with pytest.raises(FeedSourceNotAllowed, match="source.database_url"):
            create_feed(session, OPERATOR, dataset_id, refused, reach=reach)
        good = NewFeed(
            kind="sql",
            source={"database": "agency", "query": "SELECT town, cases FROM cases"},
            schedule="0 6 * * *",
        )
        feed_id = create_feed(session, OPERATOR, dataset_id, good, reach=reach).id
    assert run_feed(installation, feed_id)["status"] == "succeeded"

    # A feed kept from before names its own address: it runs only while that address is one
    # the operator configured, and otherwise fails saying how to set it again.
    with installation.catalog.session() as session:
        session.execute(
            update(Feed)
            .where(Feed.id == feed_id)
            .values(
                source={
                    "database_url": installation.settings.catalog_url,
                    "query": "SELECT name AS town, 1 AS cases FROM sqlite_master",
                }
            )
        )
    run = run_feed(installation, feed_id)
    assert run["status"] == "failed" and "source.database naming one" in run["error"]
    installation.settings.feed_databases = {}
    with installation.catalog.session() as session:
        session.execute(
            update(Feed)
            .where(Feed.id == feed_id)
            .values(source={"database": "agency", "query": "SELECT 1"})
        )
    run = run_feed(installation, feed_id)
    assert run["status"] == "failed" and "there is no database named 'agency'" in run["error"]


def test_a_bad_allow_list_is_named(installation):
    installation.settings.feed_allowed_hosts = ["10.0.0.0/33"]
    with pytest.raises(InvalidInput, match="feed_allowed_hosts: '10.0.0.0/33'"):
        Reach.of(installation.settings)


def test_unresolvable_hosts_fail_the_run_plainly(tmp_path):
    source = HttpSource(url="https://gone.example/a.csv")
    with pytest.raises(FeedSourceError, match="could not be found"):
        source.fetch(tmp_path, 5.0, Reach(resolver=answers_nothing))


def test_the_operator_sets_both_in_the_environment_too(tmp_path, monkeypatch):
    from statedata.config import load_settings

    monkeypatch.setenv("STATEDATA_FEED_ALLOWED_HOSTS", "exports.dph.ct.gov; 10.20.0.0/16")
    monkeypatch.setenv("STATEDATA_FEED_DATABASES", '{"warehouse": "sqlite:///w.sqlite"}')
    reach = Reach.of(load_settings(tmp_path))
    assert reach.allowed_names == {"exports.dph.ct.gov"}
    assert reach.database_url("warehouse") == "sqlite:///w.sqlite"
    assert reach.allows_address("x", ipaddress.ip_address("10.20.3.4"))
    monkeypatch.setenv("STATEDATA_FEED_DATABASES", "warehouse=sqlite:///w.sqlite")
    with pytest.raises(ValueError, match="STATEDATA_FEED_DATABASES must be a JSON object"):
        load_settings(tmp_path)
